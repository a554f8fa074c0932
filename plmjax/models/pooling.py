"""Sentence pooling over token states."""

import jax
import jax.numpy as jnp


def mean_pool(hidden: jax.Array, attention_mask: jax.Array) -> jax.Array:
    """Mean of the non-padding token states (sentence-transformers' mean pooling)."""
    mask = attention_mask[..., None].astype(hidden.dtype)
    return (hidden * mask).sum(axis=1) / jnp.clip(mask.sum(axis=1), 1e-9)


def l2_normalize(x: jax.Array, eps: float = 1e-12) -> jax.Array:
    return x / jnp.clip(jnp.linalg.norm(x, axis=-1, keepdims=True), eps)
