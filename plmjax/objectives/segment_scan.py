"""Evaluation over consecutive segments with a carried segment memory (Transformer-XL, XLNet): one jitted walk
(`lax.scan`) over a batch of whole streams, from an empty memory that may have more slots than training's (the
papers evaluate with a longer memory)."""

import jax
import jax.numpy as jnp

from plmjax.models.segment_memory import empty_memory


def memory_model(model, slots: int):
    """The model with `slots` memory slots (0: its own memory_length)."""
    return model.clone(config=model.config.replace(memory_length=slots or model.config.memory_length))


def scan_segments(terms_fn, model, batch, segment: int, stacked_keys=()):
    """Summed (terms, metrics) of terms_fn(piece, memory) -> (terms, metrics, next memory) over the segments of
    `batch`: arrays [rows, segments * segment] are cut into segments; arrays named in stacked_keys already hold
    one entry per segment on axis 1 (an XLNet segment's permutation); the rest (row weights) go whole."""
    rows, length = batch["input_ids"].shape
    if length % segment:
        raise ValueError(f"an evaluation batch of {length} tokens is not whole {segment}-token segments")
    pieces = {}
    for key, value in batch.items():
        if key in stacked_keys:
            pieces[key] = jnp.moveaxis(value, 1, 0)
        elif value.ndim == 2 and value.shape[1] == length:
            pieces[key] = jnp.moveaxis(value.reshape(rows, length // segment, segment), 1, 0)
    rest = {k: v for k, v in batch.items() if k not in pieces}

    def one_segment(memory, piece):
        terms, metrics, memory = terms_fn({**rest, **piece}, memory)
        return memory, (terms, metrics)

    _, (terms, metrics) = jax.lax.scan(one_segment, empty_memory(model.config, rows), pieces)
    total = lambda pairs: {k: (jnp.sum(s), jnp.sum(c)) for k, (s, c) in pairs.items()}  # noqa: E731
    return total(terms), total(metrics)
