"""LM-BFF's SNLI few-shot task with a test file: LM-BFF's K=16 splits (lmbff_kshot/SNLI/16-<seed>) beside
SNLI's test set, which the shared data holds in SentEval's layout (senteval/SNLI: s1.test, s2.test,
labels.test, 9,824 pairs), written as LM-BFF's GLUE-style test.tsv.

    python benchmarks/lmbff_snli.py --out=/tmp/plmjax_lmbff_snli

Writes <out>/SNLI/test.tsv (sentence1, sentence2, gold_label) and copies the shared splits to
<out>/SNLI/16-<seed>, so configs/lmbff.py:task=snli,data=<out> reads it like the other tasks. SentEval's
sentences are tokenized (a space before punctuation); the k-shot splits are not, so the test text differs in
spacing only.
"""

import argparse
import glob
import os
import shutil

from plmjax.data.pretraining.default_corpora import DATA_ROOT


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", default=DATA_ROOT)
    p.add_argument("--out", default="/tmp/plmjax_lmbff_snli")
    args = p.parse_args(argv)
    source = os.path.join(args.data_root, "senteval", "SNLI")
    columns = []
    for name in ("s1.test", "s2.test", "labels.test"):
        with open(os.path.join(source, name), encoding="utf-8") as f:
            columns.append([line.rstrip("\n").strip() for line in f])
    if len({len(c) for c in columns}) != 1:
        raise SystemExit(f"{source}: s1, s2 and labels have different lengths {[len(c) for c in columns]}")
    target = os.path.join(args.out, "SNLI")
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(target, "test.tsv"), "w", encoding="utf-8") as f:
        f.write("sentence1\tsentence2\tgold_label\n")
        for s1, s2, label in zip(*columns, strict=True):
            if "\t" in s1 + s2:
                raise SystemExit(f"a tab inside a sentence: {s1!r} / {s2!r}")
            f.write(f"{s1}\t{s2}\t{label}\n")
    # Copies, not links: "../test.tsv" from a linked folder would resolve beside the shared splits.
    for split in sorted(glob.glob(os.path.join(args.data_root, "lmbff_kshot", "SNLI", "16-*"))):
        shutil.copytree(split, os.path.join(target, os.path.basename(split)), dirs_exist_ok=True)
    print(f"{len(columns[0])} test pairs and the k-shot splits in {target}")


if __name__ == "__main__":
    main()
