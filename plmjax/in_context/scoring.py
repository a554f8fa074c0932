"""Scoring answer options after a prompt with a causal LM: log p(option | prompt) for every (prompt, option).

In-context classification reads each class's label words as an option after "instruction + demonstrations +
query". The prompt is the long part and is the same for every class, so the cached path reads each prompt
once, keeps its key/value cache, and continues that cache with every option (the options of one prompt share
its prefix, as a batched generate() shares it across samples). The uncached path runs every (prompt, option)
sequence in full: the reference the cached one is tested against, and what a model without a cache would do.

Prompts are left-padded [batch, length] (every prompt ends at the same slot, so the options start together);
options right-padded [classes, option_length], each at least one token. Both paths are jitted; their result is
[batch, classes] float32: the sum of the options' token log-likelihoods, and the option lengths for means.
"""

import functools

import jax
import jax.numpy as jnp

from plmjax.generation.model_calls import prefill
from plmjax.generation.scoring import token_log_likelihoods


def _check(model, option_mask):
    if getattr(model, "head", None) != "lm" or model.config.is_encoder_decoder:
        raise ValueError("in-context scoring needs a decoder-only model with head='lm' (GPT-2)")
    if option_mask.shape[1] < 1:
        raise ValueError("every option needs at least one token")


@functools.partial(jax.jit, static_argnames=("model",))
def cached_option_scores(model, params, prompt_ids, prompt_mask, option_ids, option_mask):
    """Sum of log p(option tokens | prompt) [batch, classes]: the prompt read once, its cache continued by
    each option."""
    _check(model, option_mask)
    batch, classes, length = prompt_ids.shape[0], option_ids.shape[0], option_ids.shape[1]
    last_logits, cache, state = prefill(model, params, prompt_ids, prompt_mask, max_new_tokens=length)
    first = jax.nn.log_softmax(last_logits, axis=-1)[:, option_ids[:, 0]]  # [batch, classes]
    if length == 1:
        return first
    # Every prompt's cache, once per option: rows b * classes + c.
    cache = jax.tree.map(lambda x: jnp.repeat(x, classes, axis=0), cache)
    cache_mask = jnp.repeat(state.cache_mask, classes, axis=0)
    tokens = jnp.tile(option_ids[:, :-1], (batch, 1))  # [batch * classes, length - 1]
    positions = jnp.repeat(state.next_position, classes)[:, None] + jnp.arange(length - 1)[None, :]
    output, _ = model.apply(
        {"params": params, "cache": cache},
        tokens,
        cache_mask,
        position_ids=positions,
        cache_offset=jnp.int32(prompt_ids.shape[1]),
        mutable=["cache"],
    )
    log_probs = jax.nn.log_softmax(output.logits.astype(jnp.float32), axis=-1)
    targets = jnp.tile(option_ids[:, 1:], (batch, 1))
    rest = jnp.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    rest = jnp.sum(rest * jnp.tile(option_mask[:, 1:], (batch, 1)), axis=-1).reshape(batch, classes)
    return first + rest


@functools.partial(jax.jit, static_argnames=("model",))
def full_option_scores(model, params, prompt_ids, prompt_mask, option_ids, option_mask):
    """The same scores from every (prompt, option) sequence run in full (no cache)."""
    _check(model, option_mask)
    batch, classes = prompt_ids.shape[0], option_ids.shape[0]
    ids = jnp.concatenate([jnp.repeat(prompt_ids, classes, 0), jnp.tile(option_ids, (batch, 1))], axis=1)
    mask = jnp.concatenate([jnp.repeat(prompt_mask, classes, 0), jnp.tile(option_mask, (batch, 1))], axis=1)
    scores = token_log_likelihoods(model, params, ids, mask)[:, prompt_ids.shape[1] :]
    return jnp.sum(scores, axis=-1).reshape(batch, classes)


def option_scores(model, params, prompt_ids, prompt_mask, option_ids, option_mask, *, cache: bool = True,
                  normalize: str = "sum"):  # fmt: skip
    """[batch, classes] float32: each option's log-likelihood after each prompt, summed over its tokens
    (normalize="sum") or their mean (normalize="mean", the length-normalised score)."""
    if normalize not in ("sum", "mean"):
        raise ValueError(f"normalize={normalize!r}; choose sum or mean")
    args = [jnp.asarray(a, jnp.int32) for a in (prompt_ids, prompt_mask, option_ids, option_mask)]
    scores = (cached_option_scores if cache else full_option_scores)(model, params, *args)
    if normalize == "mean":
        scores = scores / jnp.sum(args[3], axis=-1)[None, :]
    return scores
