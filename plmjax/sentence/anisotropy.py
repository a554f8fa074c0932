"""The anisotropy diagnostics of BERT-flow and whitening (Ethayarajh 2019; Li et al. 2020): the average cosine
between random pairs of embeddings (near 0 for an isotropic space, near 1 when every vector points one way),
and the normalised singular value spectrum of the centred embeddings (how few directions hold the variance)."""

import numpy as np


def average_random_cosine(embeddings, pairs: int = 10_000, seed: int = 0) -> float:
    """Mean cosine over `pairs` random pairs of distinct rows, drawn with default_rng(seed)."""
    x = np.asarray(embeddings, np.float64)
    if len(x) < 2:
        raise ValueError("random pairs need at least two embeddings")
    rng = np.random.default_rng(seed)
    first = rng.integers(0, len(x), pairs)
    second = (first + rng.integers(1, len(x), pairs)) % len(x)  # never the same row
    a, b = x[first], x[second]
    return float(np.mean(np.sum(a * b, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))))


def spectrum(embeddings) -> np.ndarray:
    """The centred embeddings' singular values, largest first, divided by their sum."""
    x = np.asarray(embeddings, np.float64)
    values = np.linalg.svd(x - x.mean(axis=0), compute_uv=False)
    return values / values.sum()
