"""Transformer-XL's segment-level recurrence (Dai et al. 2019, section 3.2): each layer also attends to the inputs
it saw in the last `memory_length` positions of earlier segments, held fixed (no gradient flows into them).

The memory keeps a fixed shape, [batch, memory_length, hidden] per layer with a [batch, memory_length] mask of
the slots that hold a real token, so that a jitted train step can carry it from one step to the next in its
state: a run starts from `empty_memory` (every slot masked) and the memory fills as segments go by.
"""

import flax.struct
import jax
import jax.numpy as jnp

from plmjax.models.config import TransformerConfig


@flax.struct.dataclass
class SegmentMemory:
    """states: per layer, [batch, slots, hidden] inputs of that layer at the last `slots` positions before the
    segment; mask: [batch, slots] 1 where a slot holds a real token."""

    states: tuple[jax.Array, ...]
    mask: jax.Array

    @property
    def slots(self) -> int:
        return self.mask.shape[1]


def empty_memory(config: TransformerConfig, batch: int, slots: int | None = None) -> SegmentMemory:
    """Every slot masked: the first segment of a run (slots: config.memory_length unless given; evaluation may
    keep a longer memory than training did)."""
    slots = config.memory_length if slots is None else slots
    states = tuple(
        jnp.zeros((batch, slots, config.hidden_size), config.compute_dtype) for _ in range(config.num_layers)
    )
    return SegmentMemory(states=states, mask=jnp.zeros((batch, slots), jnp.int32))


def memory_for_segment(config: TransformerConfig, memory: SegmentMemory | None, batch: int) -> SegmentMemory | None:
    """The memory a segment attends to: None for a model without one, an empty one for a run's first segment."""
    if memory is not None and not config.memory_length:
        raise ValueError("a memory was given to a model with memory_length 0")
    if config.memory_length and memory is None:
        return empty_memory(config, batch)
    return memory


def segment_mask(attention_mask, batch: int, length: int):
    """[batch, length] 1 at the segment's real tokens (all of them without an attention_mask)."""
    return jnp.ones((batch, length), jnp.int32) if attention_mask is None else attention_mask


def next_memory(memory: SegmentMemory, layer_inputs, segment_mask) -> SegmentMemory:
    """The memory after a segment: each layer's last `slots` inputs over [memory; segment], without gradient.

    layer_inputs: the segment's input to each layer ([batch, length, hidden]); segment_mask [batch, length]."""
    slots = memory.slots
    states = tuple(
        jax.lax.stop_gradient(jnp.concatenate([old, new.astype(old.dtype)], axis=1)[:, -slots:])
        for old, new in zip(memory.states, layer_inputs, strict=True)
    )
    mask = jnp.concatenate([memory.mask, segment_mask.astype(memory.mask.dtype)], axis=1)[:, -slots:]
    return SegmentMemory(states=states, mask=mask)
