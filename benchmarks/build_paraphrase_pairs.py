"""Build CoVe's training pairs (configs/cove.py) from the real paraphrase and entailment text in the shared data.

    python benchmarks/build_paraphrase_pairs.py [--data-root ../shared/data] [--out /tmp/cove/pairs.jsonl]

No parallel corpus for translation can be installed here, so CoVe's MT-LSTM learns a monolingual task that
still needs an encoder of the whole source: producing a paraphrase or an entailed sentence. The pairs (JSON
lines with "source" and "target", plmjax.data.pretraining.text_pairs):
- SNLI (SentEval's dev and test files): premise -> each entailed hypothesis (plmjax.sentence.corpora's
  snli_triplets);
- MRPC (train and test): each pair judged a paraphrase, in both directions.
Both are tokenised PTB-style already (words and punctuation separated by spaces), as TREC, the downstream task,
is. Shuffled with a fixed seed.
"""

import argparse
import csv
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_mlm_corpus import DEFAULT_DATA_ROOT  # noqa: E402

from plmjax.sentence.corpora import snli_triplets  # noqa: E402


def mrpc_paraphrases(folder: str) -> list[tuple[str, str]]:
    pairs = []
    for name in ("msr_paraphrase_train.txt", "msr_paraphrase_test.txt"):
        with open(os.path.join(folder, name), encoding="utf-8-sig") as f:
            for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                if row["Quality"] == "1":
                    first, second = " ".join(row["#1 String"].split()), " ".join(row["#2 String"].split())
                    pairs.extend([(first, second), (second, first)])
    return pairs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=DEFAULT_DATA_ROOT)
    parser.add_argument("--out", default="/tmp/cove/pairs.jsonl")
    args = parser.parse_args()
    snli = [
        (premise, entailed) for premise, entailed, _ in snli_triplets(os.path.join(args.data_root, "senteval", "SNLI"))
    ]
    mrpc = mrpc_paraphrases(os.path.join(args.data_root, "senteval", "MRPC"))
    pairs = snli + mrpc
    order = np.random.default_rng(0).permutation(len(pairs))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        for index in order:
            source, target = pairs[index]
            f.write(json.dumps({"source": source, "target": target}) + "\n")
    print(
        f"{args.out}: {len(pairs):,} pairs ({len(snli):,} SNLI entailments, {len(mrpc):,} MRPC paraphrase directions)"
    )


if __name__ == "__main__":
    main()
