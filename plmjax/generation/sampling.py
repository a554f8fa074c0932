"""Greedy decoding and sampling: one token per row per step, in a jax.lax.while_loop over a preallocated
key/value cache, stopping when every row has produced EOS or max_new_tokens are done."""

import jax
import jax.numpy as jnp

from plmjax.generation.model_calls import prefill, prompt_length, prompt_tokens, step
from plmjax.generation.options import SearchOptions
from plmjax.generation.processors import force_special_tokens, sampling_warp


def choose_tokens(logits, sequence_length, max_length, rng, o: SearchOptions):
    """(next token per row, rng): processors, then argmax or a sample."""
    scores = force_special_tokens(logits, sequence_length, max_length, o.forced_bos_token_id, o.forced_eos_token_id)
    if not o.do_sample:
        return jnp.argmax(scores, axis=-1).astype(jnp.int32), rng
    rng, key = jax.random.split(rng)
    scores = sampling_warp(scores, o.temperature, o.top_k, o.top_p)
    return jax.random.categorical(key, scores, axis=-1).astype(jnp.int32), rng


def greedy_or_sample(model, params, input_ids, attention_mask, rng, o: SearchOptions):
    """[rows, prompt + max_new_tokens] token ids: the prompt (decoder start token for encoder-decoders), then the
    generated tokens, pad_token_id after a row's EOS."""
    prompt = prompt_length(model, input_ids)
    max_length = prompt + o.max_new_tokens
    rows = input_ids.shape[0]
    logits, cache, state = prefill(model, params, input_ids, attention_mask, o.max_new_tokens, o.decoder_start_token_id)
    tokens = jnp.concatenate(
        [prompt_tokens(model, input_ids, o), jnp.full((rows, o.max_new_tokens), o.pad_token_id, jnp.int32)], axis=1
    )

    def record(tokens, finished, token, index):
        # Rows that already ended get padding, as transformers does.
        token = jnp.where(finished, o.pad_token_id, token)
        tokens = jax.lax.dynamic_update_slice(tokens, token[:, None], (0, prompt + index))
        if o.eos_token_id is not None:
            finished = finished | (token == o.eos_token_id)
        return tokens, finished, token

    token, rng = choose_tokens(logits, prompt, max_length, rng, o)
    tokens, finished, token = record(tokens, jnp.zeros((rows,), bool), token, 0)

    def not_done(carry):
        _, finished, _, _, _, index = carry
        return (index + 1 < o.max_new_tokens) & ~jnp.all(finished)

    def next_token(carry):
        tokens, finished, token, cache, rng, index = carry
        logits, cache = step(model, params, cache, state, token, index, prompt + index)
        token, rng = choose_tokens(logits, prompt + index + 1, max_length, rng, o)
        tokens, finished, token = record(tokens, finished, token, index + 1)
        return tokens, finished, token, cache, rng, index + 1

    carry = (tokens, finished, token, cache, rng, jnp.int32(0))
    return jax.lax.while_loop(not_done, next_token, carry)[0]
