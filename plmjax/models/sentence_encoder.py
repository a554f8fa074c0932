"""Sentence embeddings from any encoder: tokenise, run jitted in length buckets, mean-pool, normalise."""

import functools

import jax
import numpy as np

from plmjax.models.pooling import l2_normalize, mean_pool


def _geometric_lengths(limit: int = 512, per_octave: int = 8) -> tuple[int, ...]:
    """Every length up to 16, then `per_octave` evenly spaced lengths in each doubling (18, 20, .., 32, 36, ..).

    Batches are cut from sentences sorted by token count, so a batch's longest sentence sets its shape and a
    bucket pads it by at most 1/per_octave: about 3% more tokens than padding each batch to its own longest
    (STS-B dev, batch 64: 51.3k tokens against 50.6k exactly, where multiples of 16 gave 70.7k and
    sentence-transformers' sort by characters 69.0k). Each bucket compiles once (~0.6 s for MiniLM), at most
    56 programs up to 512 tokens."""
    lengths, octave = list(range(1, 17)), 16
    while octave < limit:
        lengths += range(octave + octave // per_octave, 2 * octave + 1, octave // per_octave)
        octave *= 2
    return tuple(lengths)


LENGTH_BUCKETS = _geometric_lengths()


def bucket_length(length: int, buckets=LENGTH_BUCKETS) -> int:
    """Pad to one of a few lengths so jit compiles a handful of shapes, not one per batch."""
    return next((b for b in buckets if b >= length), length)


# How a sentence's vector is read from the encoder: the mean of its token states (sentence-transformers),
# the pooler output (dense + tanh on [CLS]: a SimCSE model's MLP, exported as the pooler), or the [CLS] state.
POOLINGS = ("mean", "cls", "cls_before_pooler")


@functools.partial(jax.jit, static_argnums=(0, 5))
def _embed(model, params, input_ids, attention_mask, token_type_ids, pooling):
    out = model.apply({"params": params}, input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
    if pooling == "cls":
        return l2_normalize(out.pooler_output)
    if pooling == "cls_before_pooler":
        return l2_normalize(out.last_hidden_state[:, 0])
    return l2_normalize(mean_pool(out.last_hidden_state, attention_mask))


def encode_sentences(
    model, params, tokenizer, sentences, batch_size: int = 64, max_length: int = 256, pooling: str = "mean"
) -> np.ndarray:
    """[len(sentences), hidden] L2-normalised embeddings, mean-pooled by default (sentence-transformers' recipe;
    POOLINGS names the others); sentences are cut at max_length tokens, or where the model's positions end."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r}; choose one of {POOLINGS}")
    max_length = position_limit(model.config, max_length)
    sentences = list(sentences)
    if not sentences:
        return np.zeros((0, model.config.hidden_size), np.float32)
    ids = tokenizer(sentences, truncation=True, max_length=max_length)["input_ids"]
    outputs, order = [], []
    for rows, input_ids, attention_mask in length_bucketed_batches(ids, batch_size, tokenizer.pad_token_id or 0):
        # Dispatched without waiting: the host pads batch k + 1 while batch k runs.
        outputs.append(_embed(model, params, input_ids, attention_mask, np.zeros_like(input_ids), pooling))
        order.extend(rows)
    embeddings = np.concatenate([np.asarray(out) for out in jax.device_get(outputs)])[: len(order)]
    result = np.empty_like(embeddings)
    result[np.asarray(order)] = embeddings
    return result


def position_limit(config, max_length: int) -> int:
    """max_length, or less where the model's position table ends: past it a lookup reads NaN (jnp.take's
    fill), so sentences are cut there (as sentence-transformers' max_seq_length does)."""
    if config.has_absolute_positions:
        first = config.pad_token_id + 1 if config.positions_from_padding else 0
        max_length = min(max_length, config.max_position_embeddings - first)
    return max_length


def length_bucketed_batches(ids, batch_size: int, pad_id: int):
    """Yields (rows, input_ids, attention_mask) over token id lists `ids`: `rows` their indices, longest first,
    as sentence-transformers batches (similar lengths share a batch, so little is padding); the arrays are
    [batch_size, bucket_length(longest)], the batch dimension padded too so the last short batch reuses the
    compiled shape."""
    order = np.argsort([-len(row) for row in ids], kind="stable")
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        length = bucket_length(len(ids[rows[0]]))
        input_ids = np.full((batch_size, length), pad_id, np.int32)
        attention_mask = np.zeros((batch_size, length), np.int32)
        for row, index in enumerate(rows):
            input_ids[row, : len(ids[index])] = ids[index]
            attention_mask[row, : len(ids[index])] = 1
        yield rows, input_ids, attention_mask
