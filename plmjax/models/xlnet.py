"""XLNet (Yang et al. 2019): a permutation language model on Transformer-XL's relative attention.

Every token predicts itself from the tokens before it in a factorisation order: `perm_mask[b, i, j] = 1` says
that position i may not see position j. Two streams share every layer's weights:
- the content stream h (the usual hidden states) sees what the order allows and always itself;
- the query stream g starts from a learned mask embedding at the positions to predict (`target_mapping[b, m,
  l] = 1`: prediction m is position l), sees what the order allows but never its own token, and feeds the LM
  head. Without target_mapping there is no query stream and the head reads h (fine-tuning, generation).
Segments are relative too: a learned score for query and key having the same or a different token type
(`relative_segment_encoding`). The memory of earlier segments is Transformer-XL's (plmjax.models.segment_memory).

The layers, stack, attention and embeddings are the ones every family uses, set by config fields
(plmjax.models.presets.XLNET_ARCHITECTURE); this module only builds the masks and runs the two streams.
"""

import flax.linen as nn
import jax.numpy as jnp

from plmjax.models.attention import bias_from_mask
from plmjax.models.config import TransformerConfig
from plmjax.models.heads import check_head
from plmjax.models.layers import Embeddings
from plmjax.models.outputs import ModelOutput
from plmjax.models.segment_memory import SegmentMemory, memory_for_segment, next_memory, segment_mask
from plmjax.models.stack import TransformerStack

HEADS_BY_FAMILY = {"xlnet": (None, "lm")}
# The arrays of a permutation-LM batch that describe one segment's factorisation orders and predictions: the
# model's perm_mask and target_mapping, and the targets they predict (plmjax.data.pretraining.permutation,
# plmjax.objectives.PermutationLM).
PERMUTATION_KEYS = ("perm_mask", "target_mapping", "target_ids", "target_weights")


def stream_masks(attention_mask, perm_mask, batch: int, length: int, memory_keep):
    """(content-stream keep, query-stream keep), [batch, length, slots + length] booleans.

    A key is hidden where the order hides it (perm_mask) or it is padding (attention_mask 0); the content
    stream always sees its own position; memory slots are visible where memory_keep [batch, slots] says."""
    hidden = jnp.zeros((batch, length, length), bool)
    if attention_mask is not None:
        hidden = hidden | ~attention_mask.astype(bool)[:, None, :]
    if perm_mask is not None:
        hidden = hidden | perm_mask.astype(bool)
    memory = jnp.broadcast_to(memory_keep[:, None, :].astype(bool), (batch, length, memory_keep.shape[1]))
    query_keep = jnp.concatenate([memory, ~hidden], axis=-1)
    content_keep = jnp.concatenate([memory, ~hidden | jnp.eye(length, dtype=bool)[None]], axis=-1)
    return content_keep, query_keep


class XLNetModel(nn.Module):
    """XLNet with an optional LM head (head="lm": logits against the tied word embeddings plus a bias).

    memory: with config.memory_length > 0, the earlier segments' (None: none yet); the output's `memory` is the
    next segment's. Outputs: last_hidden_state and logits of the query stream when target_mapping is given
    ([batch, predictions, ...]), else of the content stream."""

    config: TransformerConfig
    head: str | None = None
    num_labels: int = 2

    def setup(self):
        c = self.config
        check_head(c, self.head, HEADS_BY_FAMILY, "an xlnet model")
        self.embeddings = Embeddings(c)
        self.encoder = TransformerStack(c)
        init = nn.with_logical_partitioning(nn.initializers.normal(c.initializer_range), (None, None, "embed"))
        self.mask_embedding = self.param("mask_embedding", init, (1, 1, c.hidden_size), c.params_dtype)
        self.query_dropout = nn.Dropout(c.embedding_dropout_rate)
        self.output_dropout = nn.Dropout(c.hidden_dropout)
        if self.head == "lm":
            bias_init = nn.with_logical_partitioning(nn.initializers.zeros_init(), ("vocab",))
            self.lm_bias = self.param("lm_bias", bias_init, (c.vocab_size,), c.params_dtype)

    def __call__(
        self,
        input_ids,
        attention_mask=None,
        token_type_ids=None,
        perm_mask=None,
        target_mapping=None,
        memory: SegmentMemory | None = None,
        deterministic: bool = True,
        output_hidden_states: bool = False,
    ) -> ModelOutput:
        c = self.config
        batch, length = input_ids.shape
        memory = memory_for_segment(c, memory, batch)
        slots = 0 if memory is None else memory.slots
        memory_keep = jnp.zeros((batch, 0), bool) if memory is None else memory.mask
        content_keep, query_keep = stream_masks(attention_mask, perm_mask, batch, length, memory_keep)
        content_bias = bias_from_mask(content_keep[:, None], c.compute_dtype)
        query_bias = bias_from_mask(query_keep[:, None], c.compute_dtype)
        different_segment = None
        if token_type_ids is not None:
            token_type_ids = jnp.asarray(token_type_ids, jnp.int32)
            # Memory slots count as segment 0, as in XLNet.
            key_types = jnp.concatenate([jnp.zeros((batch, slots), token_type_ids.dtype), token_type_ids], axis=1)
            different_segment = token_type_ids[:, :, None] != key_types[:, None, :]

        h = self.embeddings(input_ids, deterministic=deterministic)
        content_bias, extras = self.encoder.attention_inputs(h, content_bias)
        relative = self.encoder.relative_inputs(length, slots + length, deterministic, different_segment)
        g = None
        if target_mapping is not None:
            queries = jnp.broadcast_to(self.mask_embedding, (batch, target_mapping.shape[1], c.hidden_size))
            g = self.query_dropout(queries.astype(c.compute_dtype), deterministic=deterministic)
        hidden_states = [h]
        for application in range(self.encoder.num_applications):
            index = self.encoder.layer_index(application)
            layer = self.encoder.layers[index]
            layer_memory = None if memory is None else memory.states[application]
            content = h
            h, _ = layer(h, content_bias, deterministic, None, None, None, extras[index], layer_memory, relative)
            if g is not None:
                g, _ = layer(
                    g, query_bias, deterministic, None, None, None, extras[index], layer_memory, relative, content,
                    target_mapping,
                )  # fmt: skip
            hidden_states.append(h)
        if memory is not None:
            memory = next_memory(memory, hidden_states[:-1], segment_mask(attention_mask, batch, length))
        output = self.output_dropout(h if g is None else g, deterministic=deterministic)
        logits = None
        if self.head == "lm":
            logits = self.embeddings.attend(output) + self.lm_bias.astype(output.dtype)
        return ModelOutput(
            last_hidden_state=output,
            logits=logits,
            hidden_states=tuple(hidden_states) if output_hidden_states else None,
            memory=memory,
        )

    def dummy_inputs(self, batch: int = 1, length: int = 8):
        """Inputs for model.init."""
        return jnp.ones((batch, length), jnp.int32)
