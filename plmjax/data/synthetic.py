"""A synthetic classification task for smoke runs and tests: random token sequences with a learnable label,
no tokenizer and no files. Its features have the layout plmjax.data.encode produces."""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class SyntheticTask:
    name: str = "synthetic"
    num_labels: int = 2
    metrics: tuple[str, ...] = ("accuracy",)
    # As a Task's (plmjax.data.tasks): the splits there are, by the names callers use; no test split.
    splits: tuple[str, ...] = ("train", "validation")


def synthetic_features(num_examples: int, max_length: int, vocab_size: int, num_labels: int, seed: int) -> dict:
    """Sequences of random length (max_length // 2 to max_length) over tokens 5..vocab_size-1.

    The label depends on the share of tokens from the lower half of the vocabulary, so a model learns it
    through every token's embedding: regression (num_labels == 1) predicts the share itself, classification
    which of num_labels equal ranges it falls in.
    """
    rng = np.random.default_rng(seed)
    lengths = rng.integers(max(2, max_length // 2), max_length + 1, size=num_examples)
    input_ids = [rng.integers(5, vocab_size, size=length).astype(np.int32) for length in lengths]
    shares = np.asarray([np.mean(ids < (5 + vocab_size) // 2) for ids in input_ids], np.float32)
    labels = shares if num_labels == 1 else np.minimum((shares * num_labels).astype(np.int32), num_labels - 1)
    return {
        "input_ids": input_ids,
        "token_type_ids": [np.zeros_like(ids) for ids in input_ids],
        "labels": labels,
        "pad_token_id": 0,
    }
