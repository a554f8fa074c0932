"""Semantic search and similarity matrices over sentence embeddings (sentence-transformers' util.semantic_search
and util.cos_sim), jitted.

    scores, indices = semantic_search(query_embeddings, corpus_embeddings, top_k=10)
    similarities = cosine_matrix(embeddings, embeddings)   # [n, n], for clustering

The corpus is scanned in chunks (corpus_chunk rows at a time, a fixed shape: one compiled program): each
chunk's top-k joins the running top-k, so memory stays [queries, corpus_chunk] however large the corpus is.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np


@jax.jit
def cosine_matrix(a, b) -> jax.Array:
    """[len(a), len(b)] cosine similarities."""
    a = a / jnp.clip(jnp.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / jnp.clip(jnp.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    return a @ b.T


@functools.partial(jax.jit, static_argnames=("top_k",))
def _merge_chunk(best_scores, best_indices, queries, chunk, offset, valid, top_k: int):
    scores = jnp.where(valid[None, :], cosine_matrix(queries, chunk), -jnp.inf)
    indices = jnp.broadcast_to(offset + jnp.arange(chunk.shape[0]), scores.shape)
    merged_scores = jnp.concatenate([best_scores, scores], axis=1)
    merged_indices = jnp.concatenate([best_indices, indices], axis=1)
    top_scores, positions = jax.lax.top_k(merged_scores, top_k)
    return top_scores, jnp.take_along_axis(merged_indices, positions, axis=1)


def semantic_search(queries, corpus, top_k: int = 10, corpus_chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """(scores [q, k], corpus indices [q, k]) of each query's k most cosine-similar corpus rows, best first
    (k = min(top_k, len(corpus)))."""
    queries, corpus = jnp.asarray(queries, jnp.float32), np.asarray(corpus, np.float32)
    if queries.ndim != 2 or corpus.ndim != 2 or queries.shape[1] != corpus.shape[1]:
        raise ValueError(f"queries {queries.shape} and corpus {corpus.shape} must be [n, dim] of the same dim")
    top_k = min(top_k, len(corpus))
    if top_k < 1:
        raise ValueError("semantic_search needs a non-empty corpus and top_k >= 1")
    chunk = min(corpus_chunk, len(corpus))
    scores = jnp.full((len(queries), top_k), -jnp.inf)
    indices = jnp.zeros((len(queries), top_k), jnp.int32)
    for start in range(0, len(corpus), chunk):
        rows = corpus[start : start + chunk]
        valid = np.arange(chunk) < len(rows)
        padded = np.concatenate([rows, np.zeros((chunk - len(rows), corpus.shape[1]), np.float32)])
        scores, indices = _merge_chunk(scores, indices, queries, padded, start, valid, top_k)
    return np.asarray(scores), np.asarray(indices)
