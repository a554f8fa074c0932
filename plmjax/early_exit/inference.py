"""Inference that stops: no layer after a row's exit runs for that row.

- One example (exit_one): a single jitted lax.while_loop over the layer applications; the loop ends after the
  exit layer, so the later layers never execute (each iteration's layer is a lax.switch branch: only the
  selected one runs).
- A batch (exit_batched): one jitted program per working batch size runs one layer and its exit; after each
  layer the rows that exited leave the working batch, which is compacted to the smallest bucket (a power of
  two, or the batch itself) that holds the rest. Compute then falls with the rows still running, at the price
  of one host sync per layer (the next shape depends on how many rows exited) and a few compiled programs
  (one per bucket size, every depth sharing it).

Both return what plmjax.early_exit.criteria.simulate computes with every layer run: the same exit layers and
predictions (tests/early_exit/test_inference.py).
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from plmjax.early_exit import criteria
from plmjax.early_exit.heads import split_params
from plmjax.early_exit.layerwise import Layerwise


@dataclasses.dataclass
class ExitResult:
    exit_layers: np.ndarray  # [rows], 1-based
    logits: np.ndarray  # [rows, classes]: the exit's
    layers_run: np.ndarray  # [rows]: layer applications that ran for each row (== exit_layers)
    row_layers: int = 0  # batched: sum over layers of the working batch's size (padding rows included)

    @property
    def predictions(self) -> np.ndarray:
        return np.asarray(criteria.prediction(jnp.asarray(self.logits)))


@functools.lru_cache(maxsize=32)
def _programs(model, reads: str):
    """The jitted programs of one model and what its exits read (cached: a model is a hashable frozen module)."""
    layerwise = Layerwise(model, reads)
    last = layerwise.num_exits - 1

    def one(params, batch, criterion):
        x, rows, extras = layerwise.embed(params, batch)

        def body(carry):
            k, x, state, _, logits = carry
            x = layerwise.layer(params, k, x, rows, extras)
            logits, confidence = layerwise.logits(params, k, x, rows)
            state, exits = criteria.update(criterion, state, k, logits, confidence)
            return k + 1, x, state, exits[0] | (k == last), logits

        classes = model.num_labels
        init = (jnp.int32(0), x, criteria.initial_state(1), jnp.bool_(False), jnp.zeros((1, classes), jnp.float32))
        k, _, _, _, logits = jax.lax.while_loop(lambda carry: ~carry[3], body, init)
        return k, logits

    def layer_step(params, x, rows, extras, state, criterion, k: int):
        x = layerwise.layer(params, k, x, rows, extras)
        logits, confidence = layerwise.logits(params, k, x, rows)
        state, exits = criteria.update(criterion, state, k, logits, confidence)
        return x, state, logits, exits | (k == last)

    def gather(x, rows, state, index):
        take = lambda a: jnp.take(a, index, axis=0)  # noqa: E731
        return take(x), jax.tree.map(take, rows), jax.tree.map(take, state)

    # layer_step's k is static: one program per depth, each a plain layer and exit (no switch or cond).
    step = jax.jit(layer_step, static_argnames="k")
    return layerwise, jax.jit(one), jax.jit(layerwise.embed), step, jax.jit(gather)


def exit_one(model, params, batch, criterion: criteria.Criterion, reads: str = "classifier") -> ExitResult:
    """One example (batch arrays [1, length]) through the while loop; reads: what the exits read (heads)."""
    split_params(params)  # a model without exit heads: the clear error, before tracing
    if batch["input_ids"].shape[0] != 1:
        raise ValueError(f"exit_one takes one example; this batch has {batch['input_ids'].shape[0]} (exit_batched)")
    _, one, *_ = _programs(model, reads)
    k, logits = jax.device_get(one(params, batch, criterion))
    return ExitResult(np.array([k]), np.asarray(logits), np.array([k]), int(k))


def buckets(rows: int) -> list[int]:
    """Working batch sizes: the powers of two below rows, and rows."""
    sizes = [1 << i for i in range(rows.bit_length()) if (1 << i) < rows]
    return [*sizes, rows]


def exit_batched(model, params, batch, criterion: criteria.Criterion, reads: str = "classifier") -> ExitResult:
    """A batch (arrays [rows, length]; its padding rows, if any, are examples like the others) with rows
    removed from the working batch as they exit."""
    split_params(params)
    layerwise, _, embed, layer_step, gather = _programs(model, reads)
    rows = batch["input_ids"].shape[0]
    sizes = buckets(rows)
    x, rows_in, extras = embed(params, batch)
    state = criteria.initial_state(rows)
    working = np.arange(rows)  # the original row of each working row; padding rows repeat the first
    live = rows  # the first `live` working rows are real
    exit_layers = np.zeros(rows, np.int32)
    logits_out = np.zeros((rows, model.num_labels), np.float32)
    layers_run, row_layers = np.zeros(rows, np.int32), 0
    for k in range(layerwise.num_exits):
        x, state, logits, exits = layer_step(params, x, rows_in, extras, state, criterion, k=k)
        layers_run[working[:live]] += 1
        row_layers += len(working)
        exits, logits = jax.device_get((exits, logits))
        done = np.flatnonzero(exits[:live])
        exit_layers[working[done]] = k + 1
        logits_out[working[done]] = logits[done]
        keep = np.flatnonzero(~exits[:live])
        if not len(keep):
            break
        size = next(s for s in sizes if s >= len(keep))
        index = np.concatenate([keep, np.full(size - len(keep), keep[0])])
        if size != len(working) or len(keep) != live:
            x, rows_in, state = gather(x, rows_in, state, jnp.asarray(index, jnp.int32))
        working, live = working[index], len(keep)
    return ExitResult(exit_layers, logits_out, layers_run, row_layers)
