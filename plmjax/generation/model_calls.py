"""The two model calls incremental decoding needs, for decoder-only and encoder-decoder models alike.

`prefill` runs the prompt (decoder-only) or the encoder and the decoder start token (encoder-decoder) and
allocates the key/value cache; `step` feeds one new token per row at a given cache slot. Both return the
float32 next-token logits of each row. Rows are whatever the search runs: prompts, or prompts x beams.
"""

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class DecodeState:
    """What the step function needs besides the cache: fixed for the whole generation."""

    cache_mask: jax.Array  # [rows, cache_length] 1 for slots a query may read (causality does the rest)
    next_position: jax.Array  # [rows] position id of the first generated token (decoder-only)
    encoder_hidden: jax.Array | None = None
    encoder_mask: jax.Array | None = None


jax.tree_util.register_dataclass(
    DecodeState, data_fields=["cache_mask", "next_position", "encoder_hidden", "encoder_mask"], meta_fields=[]
)


def prompt_length(model: nn.Module, input_ids: jax.Array) -> int:
    """Tokens in front of the first generated one: the prompt, or the decoder start token."""
    return 1 if model.config.is_encoder_decoder else input_ids.shape[1]


def prompt_tokens(model: nn.Module, input_ids: jax.Array, options) -> jax.Array:
    """The first tokens of every output row: the prompt, or the decoder start token."""
    if model.config.is_encoder_decoder:
        return jnp.full((input_ids.shape[0], 1), options.decoder_start_token_id, jnp.int32)
    return input_ids.astype(jnp.int32)


def prefill(model: nn.Module, params, input_ids, attention_mask, max_new_tokens: int, decoder_start_token_id=None):
    """(last logits [rows, vocab] float32, cache, DecodeState) after reading the prompt."""
    rows = input_ids.shape[0]
    if model.config.is_encoder_decoder:
        encoder_hidden = model.apply({"params": params}, input_ids, attention_mask, method="encode")
        cache_mask = jnp.ones((rows, 1 + max_new_tokens), jnp.int32)
        start = jnp.full((rows, 1), decoder_start_token_id, jnp.int32)
        output, variables = model.apply(
            {"params": params},
            start,
            encoder_hidden,
            attention_mask,
            cache_mask,
            cache_offset=jnp.int32(0),
            method="decode",
            mutable=["cache"],
        )
        state = DecodeState(cache_mask, jnp.zeros((rows,), jnp.int32), encoder_hidden, attention_mask)
        return output.logits[:, -1].astype(jnp.float32), variables["cache"], state

    # Left-padded prompts: positions count real tokens only, as transformers' generate() does.
    positions = jnp.maximum(jnp.cumsum(attention_mask, axis=-1) - 1, 0)
    cache_mask = jnp.concatenate([attention_mask, jnp.ones((rows, max_new_tokens), attention_mask.dtype)], axis=1)
    output, variables = model.apply(
        {"params": params},
        input_ids,
        cache_mask,
        position_ids=positions,
        cache_offset=jnp.int32(0),
        logits_to_keep=1,
        mutable=["cache"],
    )
    state = DecodeState(cache_mask, attention_mask.sum(axis=-1).astype(jnp.int32))
    return output.logits[:, -1].astype(jnp.float32), variables["cache"], state


def step(model: nn.Module, params, cache, state: DecodeState, tokens, new_index, slot):
    """(logits [rows, vocab] float32, cache) after feeding `tokens` [rows], the new_index-th generated tokens
    (0-based), at cache slot `slot`."""
    variables = {"params": params, "cache": cache}
    if model.config.is_encoder_decoder:
        output, updated = model.apply(
            variables,
            tokens[:, None],
            state.encoder_hidden,
            state.encoder_mask,
            state.cache_mask,
            cache_offset=slot,
            method="decode",
            mutable=["cache"],
        )
    else:
        output, updated = model.apply(
            variables,
            tokens[:, None],
            state.cache_mask,
            position_ids=(state.next_position + new_index)[:, None],
            cache_offset=slot,
            mutable=["cache"],
        )
    return output.logits[:, -1].astype(jnp.float32), updated["cache"]


def select_rows(tree, rows: jax.Array):
    """Reorder the batch axis of every array in a cache or DecodeState (beam search follows its beams)."""
    return jax.tree.map(lambda x: x[rows], tree)
