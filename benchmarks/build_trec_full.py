"""The whole TREC question-classification training set in LM-BFF's layout, for runs that train on all of it
(early exit, docs/early_exit.md) rather than on a 16-shot split: <out>/full/{train,dev}.csv and <out>/test.csv.

    python benchmarks/build_trec_full.py [--data-root ../shared/data] [--out /tmp/plmjax_trec_full]
    python -m plmjax.main --config=configs/early_exit.py:task=lmbff/trec,data_dir=/tmp/plmjax_trec_full/full ...

The shared data's TREC files (harvardnlp's sent-conv-torch: "<label> <question>" lines, the six coarse classes
numbered as LM-BFF numbers them: 0 description, 1 entity, 2 abbreviation, 3 human, 4 location, 5 number) give
5,452 training questions and the 500 test questions (LM-BFF's test.csv, line for line). A seeded 10% of the
training questions is held out as the dev split that selects checkpoints; the test questions are never seen
before the final evaluation.
"""

import argparse
import csv
import os

import numpy as np

from plmjax.data.pretraining.default_corpora import DATA_ROOT
from plmjax.sentence.transfer import read_trec

DEV_SHARE, SEED = 0.1, 13


def write_csv(path: str, texts, labels) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        for text, label in zip(texts, labels, strict=True):
            writer.writerow([int(label), text])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default=DATA_ROOT)
    parser.add_argument("--out", default="/tmp/plmjax_trec_full")
    args = parser.parse_args(argv)
    texts, labels = read_trec(os.path.join(args.data_root, "trec", "TREC.train.all"))
    test_texts, test_labels = read_trec(os.path.join(args.data_root, "trec", "TREC.test.all"))
    order = np.random.default_rng(SEED).permutation(len(texts))
    dev = order[: int(round(DEV_SHARE * len(texts)))]
    train = order[len(dev) :]
    os.makedirs(os.path.join(args.out, "full"), exist_ok=True)
    write_csv(os.path.join(args.out, "full", "train.csv"), [texts[i] for i in train], labels[train])
    write_csv(os.path.join(args.out, "full", "dev.csv"), [texts[i] for i in dev], labels[dev])
    write_csv(os.path.join(args.out, "test.csv"), test_texts, test_labels)
    counts = np.bincount(labels[train], minlength=6).tolist()
    print(f"wrote {args.out}: {len(train):,} train {counts}, {len(dev):,} dev, {len(test_texts):,} test")


if __name__ == "__main__":
    main()
