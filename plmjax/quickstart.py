"""Quickstart: real all-MiniLM-L6-v2 weights, loaded strictly into plmjax, as a sentence encoder.

python -m plmjax.quickstart
"""

import time

import jax
import numpy as np

import plmjax
from plmjax.hf.bundled import minilm_path
from plmjax.models.sentence_encoder import encode_sentences

SENTENCES = [
    "A man is playing a guitar.",
    "Someone is strumming an acoustic guitar.",
    "A chef is cooking pasta in a kitchen.",
    "Spaghetti is being prepared on the stove.",
    "The stock market fell sharply on Monday.",
    "Shares dropped at the start of the week.",
]


def main():
    start = time.perf_counter()
    model, params = plmjax.from_pretrained(minilm_path())
    tokenizer = plmjax.load_tokenizer(minilm_path())
    embeddings = encode_sentences(model, params, tokenizer, SENTENCES, batch_size=8)
    similarity = embeddings @ embeddings.T
    print(f"all-MiniLM-L6-v2 in plmjax: {sum(x.size for x in jax.tree.leaves(params)):,} parameters")
    print("cosine similarity:")
    for i, sentence in enumerate(SENTENCES):
        others = [j for j in range(len(SENTENCES)) if j != i]
        best = max(others, key=lambda j: similarity[i, j])
        row = " ".join(f"{similarity[i, j]:5.2f}" for j in range(len(SENTENCES)))
        print(f"  {row}  {sentence!r:46} ~ {SENTENCES[best]!r}")
    paired = all(int(np.argsort(-similarity[i])[1]) == i ^ 1 for i in range(len(SENTENCES)))
    print(f"each sentence's nearest neighbour is its paraphrase: {paired}")
    print(f"done in {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    main()
