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


NLI_LABELS = ("entailment", "neutral", "contradiction")
NLI_HYPOTHESES = ("this is the film", "i read a book", "it was not a movie")  # one per label, planted


def make_nli(data_root: str, seed: int = 5, rows: int = 24) -> list[str]:
    """An SNLI-like task (LM-BFF's layout, lmbff/snli) under data_root/SNLI/16-13/{train,dev}.tsv: MR-like
    premises, the hypothesis planted by the label. Returns the premises written."""
    rng = random.Random(seed)
    folder = os.path.join(data_root, "SNLI", "16-13")
    os.makedirs(folder)
    premises = []
    for split in ("train", "dev"):
        lines = ["index\tsentence1\tsentence2\tgold_label"]
        for i in range(rows):
            premises.append(sentence(rng, i % 2))
            lines.append(f"{i}\t{premises[-1]}\t{NLI_HYPOTHESES[i % 3]}\t{NLI_LABELS[i % 3]}")
        with open(os.path.join(folder, f"{split}.tsv"), "w") as f:
            f.write("\n".join(lines) + "\n")
    return premises
