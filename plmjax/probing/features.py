"""Frozen features from every layer of an encoder: the [CLS] state, the mean over tokens, or given tokens' states.

Layer 0 is the embedding output, layer i the output of the i-th layer application (transformers'
`output_hidden_states` order). Sentences are tokenised, sorted by length and run in length-bucketed jitted batches
(plmjax.models.sentence_encoder's batching), so a model compiles a handful of shapes.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from plmjax.models.encoder import gather_positions
from plmjax.models.pooling import mean_pool
from plmjax.models.sentence_encoder import bucket_length, length_bucketed_batches, position_limit

# cls: the first token's state ([CLS] / <s>); mean: the mean over non-padding tokens (special tokens included, as
# sentence-transformers pools); token: the states at given token positions (word-level tasks).
FEATURE_KINDS = ("cls", "mean", "token")


def num_hidden_states(model, params) -> int:
    """How many hidden states the model returns (embeddings + one per layer application), from shapes alone."""
    ids = jnp.ones((1, 2), jnp.int32)
    out = jax.eval_shape(lambda p: model.apply({"params": p}, ids, output_hidden_states=True), params)
    return len(out.hidden_states)


def check_layers(layers, count: int) -> tuple[int, ...]:
    """layers (None: all) as non-negative indices into `count` hidden states; negative ones count from the end."""
    if layers is None:
        return tuple(range(count))
    checked = []
    for layer in layers:
        if not isinstance(layer, (int, np.integer)) or not -count <= layer < count:
            raise ValueError(
                f"layer {layer!r} is out of range: this model has hidden states 0 (embeddings) .. {count - 1}"
            )
        checked.append(int(layer) % count)
    return tuple(checked)


def check_kind(kind: str) -> None:
    if kind not in FEATURE_KINDS:
        raise ValueError(f"feature kind {kind!r} does not exist; choose one of {FEATURE_KINDS}")


@functools.partial(jax.jit, static_argnums=(0, 5, 6))
def _layer_states(model, params, input_ids, attention_mask, positions, layers, kind):
    """[layers, batch, width] (cls, mean) or [layers, batch, positions, width] (token)."""
    out = model.apply(
        {"params": params},
        input_ids,
        attention_mask=attention_mask,
        token_type_ids=jnp.zeros_like(input_ids),
        output_hidden_states=True,
    )
    states = jnp.stack([out.hidden_states[layer] for layer in layers])
    if kind == "cls":
        return states[:, :, 0]
    if kind == "mean":
        return jax.vmap(mean_pool, in_axes=(0, None))(states, attention_mask)
    return jax.vmap(gather_positions, in_axes=(0, None))(states, positions)


def layer_features_of_ids(
    model, params, ids, pad_id: int, kind: str = "mean", layers=None, positions=None, batch_size: int = 64
) -> np.ndarray:
    """[layers, rows, width] features of token id lists `ids`: one row per sequence (cls, mean), or for `token`
    one row per entry of positions[i] (token indices into ids[i]), sequence by sequence in order."""
    check_kind(kind)
    layers = check_layers(layers, num_hidden_states(model, params))
    ids = [list(row) for row in ids]
    if kind == "token":
        if positions is None or len(positions) != len(ids):
            raise ValueError("feature kind 'token' needs positions: a list of token indices for each sequence")
        positions = [[p] if isinstance(p, (int, np.integer)) else list(p) for p in positions]
        for index, (row, wanted) in enumerate(zip(ids, positions, strict=True)):
            if any(not 0 <= p < len(row) for p in wanted):
                raise ValueError(f"sequence {index} has {len(row)} tokens; positions {wanted} reach outside it")
    width = model.config.hidden_size
    if not ids:
        return np.zeros((len(layers), 0, width), np.float32)
    outputs, batches = [], []
    for rows, input_ids, attention_mask in length_bucketed_batches(ids, batch_size, pad_id):
        if kind == "token":
            # Positions padded to a bucketed count too (index 0, dropped below), so shapes stay few.
            count = bucket_length(max(len(positions[r]) for r in rows))
            gather = np.zeros((batch_size, count), np.int32)
            for row, index in enumerate(rows):
                gather[row, : len(positions[index])] = positions[index]
        else:
            gather = np.zeros((batch_size, 1), np.int32)
        # Dispatched without waiting: the host pads batch k + 1 while batch k runs.
        outputs.append(_layer_states(model, params, input_ids, attention_mask, gather, layers, kind))
        batches.append(rows)
    per_sequence = [None] * len(ids)
    for rows, states in zip(batches, jax.device_get(outputs), strict=True):
        for row, index in enumerate(rows):
            per_sequence[index] = states[:, row, : len(positions[index])] if kind == "token" else states[:, row, None]
    return np.concatenate(per_sequence, axis=1).astype(np.float32)


def layer_features(
    model,
    params,
    tokenizer,
    sentences,
    kind: str = "mean",
    layers=None,
    positions=None,
    batch_size: int = 64,
    max_length: int = 256,
) -> np.ndarray:
    """[layers, rows, width] frozen features of `sentences` at hidden states `layers` (None: all of them).

    kind: "cls", "mean" or "token" (FEATURE_KINDS); for "token", positions[i] is a token index (or a list of
    them) into sentence i's tokenisation, special tokens included. Sentences are cut at max_length tokens, or
    where the model's positions end."""
    check_kind(kind)
    max_length = position_limit(model.config, max_length)
    sentences = list(sentences)
    ids = tokenizer(sentences, truncation=True, max_length=max_length)["input_ids"] if sentences else []
    return layer_features_of_ids(model, params, ids, tokenizer.pad_token_id or 0, kind, layers, positions, batch_size)
