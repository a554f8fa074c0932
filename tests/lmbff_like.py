"""A tiny LM-BFF-style setting for tests of prompting and the semi-supervised methods: a tiny random BERT masked
LM from transformers with a WordPiece tokenizer, and an MR-like task whose class is planted in its words."""

import os
import random

from tests.hf.tiny_models import make_hf_model
from tests.prompting.conftest import wordpiece_tokenizer

POSITIVE, NEGATIVE = ["great", "good", "fine", "best"], ["terrible", "bad", "slow", "hated"]


def sentence(rng: random.Random, label: int) -> str:
    word = rng.choice(POSITIVE if label else NEGATIVE)
    return f"the movie was {word} and the {rng.choice(['plot', 'acting'])} was {word} ."


def make(root, seeds=(13,), test_size: int = 40, seed: int = 0) -> tuple[str, str]:
    """(model dir, data root) under `root`: data/mr/16-<seed>/{train,dev}.csv (16 each) and data/mr/test.csv."""
    rng = random.Random(seed)
    model_dir = os.path.join(root, "bert")
    make_hf_model("bert", "mlm").save_pretrained(model_dir)
    wordpiece_tokenizer().save_pretrained(model_dir)
    rows = lambda n: "".join(f"{i % 2},{sentence(rng, i % 2)}\n" for i in range(n))  # noqa: E731
    for split_seed in seeds:
        folder = os.path.join(root, "data", "mr", f"16-{split_seed}")
        os.makedirs(folder)
        for split in ("train", "dev"):
            with open(os.path.join(folder, f"{split}.csv"), "w") as f:
                f.write(rows(16))
    with open(os.path.join(root, "data", "mr", "test.csv"), "w") as f:
        f.write(rows(test_size))
    return model_dir, os.path.join(root, "data")
