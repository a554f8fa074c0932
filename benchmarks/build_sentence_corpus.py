"""Build SimCSE's training files (configs/sentence.py) from the real text in the shared data folder.

    python benchmarks/build_sentence_corpus.py [--data-root ../shared/data] [--out-dir /tmp/plmjax_sentence_corpus]

unsup.txt (SimCSE's wiki1m layout, a sentence a line): the sentences of WikiText-2's valid.txt,
tinyshakespeare's speeches and the SentEval corpora MR, CR, SUBJ and MPQA (split and cleaned as
build_mlm_corpus.py does), 4 to 64 words, deduplicated, shuffled, and without any sentence of the STS
evaluation sets (STS12-16, SICK-R, STS-B dev: compared by a key that ignores case, spacing and punctuation).
snli_triplets.csv (SimCSE's nli_for_simcse layout, sent0,sent1,hard_neg): the (premise, entailment,
contradiction) triplets of SentEval's SNLI dev and test files (plmjax.sentence.corpora.snli_triplets).
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_mlm_corpus import DEFAULT_DATA_ROOT, shared_sources  # noqa: E402

from plmjax.data.senteval import sentence_key  # noqa: E402
from plmjax.sentence import corpora  # noqa: E402
from plmjax.sentence.evaluate import load_tasks  # noqa: E402

MIN_WORDS, MAX_WORDS = 4, 64


def sts_keys(data_root: str) -> set[str]:
    tasks = load_tasks(data_root)
    return {sentence_key(s) for subsets in tasks.values() for a, b, _ in subsets.values() for s in a + b}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=DEFAULT_DATA_ROOT, help="the shared data folder (SOURCES.md)")
    parser.add_argument("--out-dir", default="/tmp/plmjax_sentence_corpus")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root, sources = shared_sources(args.data_root)
    excluded = sts_keys(root)
    seen, sentences = set(), []
    print(f"{'source':28s} {'sentences':>10s} {'kept':>8s}")
    for source, read in sources.items():
        found = [s.replace("[UNK]", "<unk>") for document in read() for s in document]
        kept = 0
        for sentence in found:
            key = sentence_key(sentence)
            if MIN_WORDS <= len(sentence.split()) <= MAX_WORDS and key and key not in seen and key not in excluded:
                seen.add(key)
                sentences.append(sentence)
                kept += 1
        print(f"{source:28s} {len(found):>10,} {kept:>8,}")
    order = np.random.default_rng(args.seed).permutation(len(sentences))
    os.makedirs(args.out_dir, exist_ok=True)
    path = os.path.join(args.out_dir, "unsup.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(sentences[i] for i in order) + "\n")
    print(f"wrote {path}: {len(sentences):,} sentences ({len(excluded):,} STS sentence keys excluded)")
    triplets = corpora.snli_triplets(os.path.join(root, "senteval", "SNLI"))
    path = os.path.join(args.out_dir, "snli_triplets.csv")
    corpora.write_triplets(triplets, path)
    print(f"wrote {path}: {len(triplets):,} (premise, entailment, contradiction) triplets")


if __name__ == "__main__":
    main()
