"""Logit processors, as transformers applies them: forced tokens first, then (when sampling) temperature,
top-k and top-p, in that order. Pure functions of [rows, vocab] float32 scores."""

import jax
import jax.numpy as jnp


def force_token(scores: jax.Array, token: int) -> jax.Array:
    """Every score -inf except `token`'s, which becomes 0 (transformers' ForcedBOS/ForcedEOS processors)."""
    forced = jnp.where(jnp.arange(scores.shape[-1]) == token, 0.0, -jnp.inf).astype(scores.dtype)
    return jnp.broadcast_to(forced, scores.shape)


def force_special_tokens(scores, sequence_length, max_length: int, forced_bos_token_id, forced_eos_token_id):
    """The forced BOS after the decoder start token and the forced EOS at the last position.

    sequence_length: tokens so far, prompt (or decoder start) included; max_length: the final length.
    """
    if forced_bos_token_id is not None:
        scores = jnp.where(sequence_length == 1, force_token(scores, forced_bos_token_id), scores)
    if forced_eos_token_id is not None:
        scores = jnp.where(sequence_length == max_length - 1, force_token(scores, forced_eos_token_id), scores)
    return scores


def temperature_scale(scores: jax.Array, temperature: float) -> jax.Array:
    return scores if temperature == 1.0 else scores / temperature


def top_k_filter(scores: jax.Array, top_k: int | None) -> jax.Array:
    """Keep the top_k highest scores (ties with the k-th included); the rest -inf."""
    if not top_k or top_k >= scores.shape[-1]:
        return scores
    kth = jax.lax.top_k(scores, top_k)[0][..., -1:]
    return jnp.where(scores < kth, -jnp.inf, scores)


def top_p_filter(scores: jax.Array, top_p: float | None) -> jax.Array:
    """Nucleus filtering: drop the least likely tokens whose total probability is at most 1 - top_p, always
    keeping the most likely one. Computed in ascending order, as transformers does, so that the tokens at
    the boundary fall on the same side."""
    if top_p is None or top_p >= 1.0:
        return scores
    order = jnp.argsort(scores, axis=-1)
    ascending = jnp.take_along_axis(scores, order, axis=-1)
    cumulative = jnp.cumsum(jax.nn.softmax(ascending, axis=-1), axis=-1)
    drop_sorted = (cumulative <= 1.0 - top_p).at[..., -1].set(False)
    drop = jnp.take_along_axis(drop_sorted, jnp.argsort(order, axis=-1), axis=-1)
    return jnp.where(drop, -jnp.inf, scores)


def sampling_warp(scores: jax.Array, temperature: float, top_k: int | None, top_p: float | None) -> jax.Array:
    return top_p_filter(top_k_filter(temperature_scale(scores, temperature), top_k), top_p)
