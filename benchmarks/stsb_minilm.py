"""Real-data parity: all-MiniLM-L6-v2 sentence embeddings on the STS-B dev set, plmjax vs transformers.

Both sides tokenise identically, mean-pool over real tokens and L2-normalise; the score is the Spearman
correlation of cosine similarity with the gold scores. The two must agree within 0.001.

    python benchmarks/stsb_minilm.py [--data ../shared/data/stsb/dev.tsv]
"""

import argparse
import csv
import os
import time

import numpy as np
import scipy.stats
import torch
import transformers

import plmjax
from plmjax.hf.bundled import minilm_path
from plmjax.models.sentence_encoder import encode_sentences

DEFAULT_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "stsb", "dev.tsv")


def read_stsb(path):
    """(sentence1, sentence2, score) rows of a GLUE STS-B TSV (quotes are text: QUOTE_NONE)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["sentence1"] for r in rows], [r["sentence2"] for r in rows], np.array([float(r["score"]) for r in rows])


def transformers_embeddings(sentences, batch_size=64, max_length=256):
    tokenizer = transformers.AutoTokenizer.from_pretrained(minilm_path())
    model = transformers.AutoModel.from_pretrained(minilm_path()).eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(sentences), batch_size):
            batch = tokenizer(
                sentences[start : start + batch_size],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"][..., None].float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            outputs.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(outputs)


def spearman(first, second, gold):
    cosine = (first * second).sum(-1)
    return scipy.stats.spearmanr(cosine, gold).statistic


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=DEFAULT_DATA)
    args = parser.parse_args()
    first, second, gold = read_stsb(args.data)
    sentences = first + second

    start = time.perf_counter()
    model, params = plmjax.from_pretrained(minilm_path())
    ours = encode_sentences(model, params, plmjax.load_tokenizer(minilm_path()), sentences)
    plmjax_seconds = time.perf_counter() - start
    start = time.perf_counter()
    theirs = transformers_embeddings(sentences)
    torch_seconds = time.perf_counter() - start

    n = len(first)
    ours_score, theirs_score = spearman(ours[:n], ours[n:], gold), spearman(theirs[:n], theirs[n:], gold)
    print(f"STS-B dev: {n} pairs from {args.data}")
    print(f"| | Spearman x 100 | seconds (load + encode {len(sentences)} sentences) |")
    print("|---|---|---|")
    print(f"| plmjax | {100 * ours_score:.4f} | {plmjax_seconds:.1f} |")
    print(f"| transformers | {100 * theirs_score:.4f} | {torch_seconds:.1f} |")
    print(f"|Spearman difference| = {abs(ours_score - theirs_score):.2e} (required <= 1e-3)")
    print(f"max |embedding difference| = {np.abs(ours - theirs).max():.2e}")
    if abs(ours_score - theirs_score) > 1e-3:
        raise SystemExit("plmjax and transformers disagree")


if __name__ == "__main__":
    main()
