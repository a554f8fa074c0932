"""Greedy decoding and sampling: one token per row per step, in a jax.lax.while_loop over a preallocated
key/value cache, stopping when every row has produced EOS (or a stop string) or max_new_tokens are done."""

import jax
import jax.numpy as jnp

from plmjax.generation.model_calls import prefill, prompt_length, prompt_tokens, step
from plmjax.generation.options import SearchData, SearchOptions
from plmjax.generation.processors import first_real_token, process, sampling_warp
from plmjax.generation.stop_strings import stop_string_hits


def choose_tokens(logits, tokens, length, first, prompt, max_length, rng, o: SearchOptions, data: SearchData):
    """(next token per row, rng): processors, then argmax or a sample. tokens[:, :length]: the rows so far."""
    scores = process(logits, tokens, length, first, prompt, max_length, o, data)
    if not o.do_sample:
        return jnp.argmax(scores, axis=-1).astype(jnp.int32), rng
    rng, key = jax.random.split(rng)
    scores = sampling_warp(scores, o.temperature, o.top_k, o.top_p)
    return jax.random.categorical(key, scores, axis=-1).astype(jnp.int32), rng


def greedy_or_sample(model, params, input_ids, attention_mask, rng, o: SearchOptions, data: SearchData):
    """[rows, prompt + max_new_tokens] token ids: the prompt (decoder start token for encoder-decoders), then the
    generated tokens, pad_token_id after a row's end."""
    prompt = prompt_length(model, input_ids)
    max_length = prompt + o.max_new_tokens
    rows = input_ids.shape[0]
    first = first_real_token(attention_mask, model.config.is_encoder_decoder)
    logits, cache, state = prefill(model, params, input_ids, attention_mask, o.max_new_tokens, o.decoder_start_token_id)
    tokens = jnp.concatenate(
        [prompt_tokens(model, input_ids, o), jnp.full((rows, o.max_new_tokens), o.pad_token_id, jnp.int32)], axis=1
    )

    def record(tokens, finished, token, index):
        # Rows that already ended get padding, as transformers does (it pads only when there is an EOS token:
        # without one, rows a stop string ended go on until every row has).
        if o.eos_token_id is not None:
            token = jnp.where(finished, o.pad_token_id, token)
        tokens = jax.lax.dynamic_update_slice(tokens, token[:, None], (0, prompt + index))
        if o.eos_token_id is not None:
            finished = finished | (token == o.eos_token_id)
        if data.stop_strings is not None:
            finished = finished | stop_string_hits(tokens, prompt + index + 1, data.stop_strings)
        return tokens, finished, token

    token, rng = choose_tokens(logits, tokens, prompt, first, prompt, max_length, rng, o, data)
    tokens, finished, token = record(tokens, jnp.zeros((rows,), bool), token, 0)

    def not_done(carry):
        _, finished, _, _, _, index = carry
        return (index + 1 < o.max_new_tokens) & ~jnp.all(finished)

    def next_token(carry):
        tokens, finished, token, cache, rng, index = carry
        logits, cache = step(model, params, cache, state, token, index, prompt + index)
        length = prompt + index + 1
        token, rng = choose_tokens(logits, tokens, length, first, prompt, max_length, rng, o, data)
        tokens, finished, token = record(tokens, finished, token, index + 1)
        return tokens, finished, token, cache, rng, index + 1

    carry = (tokens, finished, token, cache, rng, jnp.int32(0))
    return jax.lax.while_loop(not_done, next_token, carry)[0]
