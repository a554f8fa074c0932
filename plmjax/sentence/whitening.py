"""BERT-whitening (Su et al. 2021): embeddings moved to zero mean and identity covariance by the SVD of their
covariance, optionally keeping the first k directions, then L2-normalised (their code's
compute_kernel_bias / transform_and_normalize).

    mean, kernel = fit_whitening(corpus_embeddings, k=256)
    whitened = apply_whitening(embeddings, mean, kernel)
"""

import numpy as np


def fit_whitening(embeddings, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(mean [dim], kernel [dim, k]) from embeddings [n, dim]: W = U diag(1 / sqrt(s)) of cov = U S U^T."""
    x = np.asarray(embeddings, np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"whitening needs [n >= 2, dim] embeddings, not shape {x.shape}")
    if k is not None and not 0 < k <= x.shape[1]:
        raise ValueError(f"k={k} must be in [1, {x.shape[1]}]")
    kept = x.shape[1] if k is None else k
    if len(x) <= kept:
        # n embeddings span at most n - 1 directions around their mean: the rest have variance 0, and
        # whitening would divide by it.
        raise ValueError(
            f"whitening to {kept} dimensions needs more than {kept} embeddings (their covariance has rank at "
            f"most n - 1); got {len(x)}: fit on a larger corpus or lower k"
        )
    mean = x.mean(axis=0)
    u, s, _ = np.linalg.svd(np.cov(x.T))
    kernel = u @ np.diag(1.0 / np.sqrt(s))
    return mean, kernel[:, :k] if k is not None else kernel


def apply_whitening(embeddings, mean, kernel, normalize: bool = True) -> np.ndarray:
    whitened = (np.asarray(embeddings, np.float64) - mean) @ kernel
    if normalize:
        whitened = whitened / np.linalg.norm(whitened, axis=-1, keepdims=True)
    return whitened
