"""Logit processors, as transformers applies them and in its order: repetition penalty, no-repeat n-grams,
bad words, minimum new tokens, forced tokens, then (when sampling) temperature, top-k and top-p. Pure
functions of [rows, vocab] float32 scores and the sequences so far; nothing leaves the device."""

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


def token_mask(vocab: int, token_ids: jax.Array, hit: jax.Array) -> jax.Array:
    """[rows, vocab] bool, True at token_ids[r, i] wherever hit[r, i]: a scatter, the misses going to a spare
    column (as do ids past the vocabulary, which the model cannot produce)."""
    rows = token_ids.shape[0]
    index = jnp.where(hit, jnp.minimum(token_ids, vocab), vocab)
    return jnp.zeros((rows, vocab + 1), bool).at[jnp.arange(rows)[:, None], index].set(True)[:, :vocab]


def first_real_token(attention_mask: jax.Array, is_encoder_decoder: bool) -> jax.Array:
    """[rows] where each row's sequence starts for the repetition penalty: after the left padding of a
    decoder-only prompt; 0 (the decoder start token) for encoder-decoders, as transformers counts."""
    if is_encoder_decoder:
        return jnp.zeros((attention_mask.shape[0],), jnp.int32)
    return jnp.argmax(attention_mask != 0, axis=1).astype(jnp.int32)


def repetition_penalty(scores, tokens, length, first, penalty) -> jax.Array:
    """Every token that occurs in tokens[r, first[r]:length] gets its score divided by `penalty` if positive,
    multiplied if negative (once, however often it occurs): transformers' RepetitionPenaltyLogitsProcessor."""
    positions = jnp.arange(tokens.shape[1])
    seen = (positions >= first[:, None]) & (positions < length)
    penalized = jnp.where(scores < 0, scores * penalty, scores / penalty)
    return jnp.where(token_mask(scores.shape[-1], tokens, seen), penalized, scores)


def no_repeat_ngram(scores, tokens, length, n: int) -> jax.Array:
    """Ban every token that would complete an n-gram already in tokens[:, :length] (prompt and padding
    included, as transformers' NoRepeatNGramLogitsProcessor reads its input_ids)."""
    starts = tokens.shape[1] - n + 1
    if starts <= 0:
        return scores
    windows = jnp.stack([tokens[:, j : starts + j] for j in range(n)], axis=-1)  # [rows, starts, n]
    suffix = jax.lax.dynamic_slice_in_dim(tokens, jnp.maximum(length - (n - 1), 0), n - 1, axis=1)
    complete = jnp.arange(starts) <= length - n  # windows that lie inside the sequence so far
    hit = complete[None, :] & jnp.all(windows[:, :, :-1] == suffix[:, None, :], axis=-1)
    return jnp.where(token_mask(scores.shape[-1], windows[:, :, -1], hit), -jnp.inf, scores)


def bad_words(scores, tokens, length, words) -> jax.Array:
    """Ban each word's last token where the sequence ends with the rest of it (always, for one-token words):
    transformers' NoBadWordsLogitsProcessor. words [count, longest] left-padded with -1; a word longer than
    the sequence so far never matches."""
    context = words.shape[1] - 1
    positions = length - context + jnp.arange(context)
    recent = jnp.take(tokens, jnp.clip(positions, 0, tokens.shape[1] - 1), axis=1)
    recent = jnp.where(positions >= 0, recent, -2)  # before the sequence: matches no token, only padding
    prefix = words[None, :, :-1]
    hit = jnp.all((prefix == -1) | (prefix == recent[:, None, :]), axis=-1)  # [rows, count]
    last = jnp.broadcast_to(words[None, :, -1], hit.shape)
    return jnp.where(token_mask(scores.shape[-1], last, hit), -jnp.inf, scores)


def process(scores, tokens, length, first, prompt: int, max_length: int, o, data) -> jax.Array:
    """Every processor that applies, in transformers' order (its _get_logits_processor): repetition penalty,
    no-repeat n-grams, bad words, minimum new tokens, forced BOS and EOS. tokens [rows, max_length]: the
    sequences so far in their first `length` positions; scores [rows, vocab] float32."""
    if data.repetition_penalty is not None:
        scores = repetition_penalty(scores, tokens, length, first, data.repetition_penalty)
    if o.no_repeat_ngram_size:
        scores = no_repeat_ngram(scores, tokens, length, o.no_repeat_ngram_size)
    if data.bad_words is not None:
        scores = bad_words(scores, tokens, length, data.bad_words)
    if o.min_new_tokens and o.eos_token_id is not None:
        early = (length - prompt < o.min_new_tokens) & (jnp.arange(scores.shape[-1]) == o.eos_token_id)
        scores = jnp.where(early, -jnp.inf, scores)
    return force_special_tokens(scores, length, max_length, o.forced_bos_token_id, o.forced_eos_token_id)


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
