"""The decoder-only families: GPT-2 (a causal pre-norm stack with a language-model or a sequence classification
head) and Transformer-XL (post-norm, relative attention and a segment memory). Layers, attention and embeddings
are the encoder family's, set by config fields."""

import flax.linen as nn
import jax.numpy as jnp

from plmjax.models.adaptive_softmax import AdaptiveLogSoftmax
from plmjax.models.attention import causal_bias
from plmjax.models.config import TransformerConfig
from plmjax.models.heads import check_head, untied_lm_head
from plmjax.models.layers import Embeddings, dense
from plmjax.models.outputs import ModelOutput
from plmjax.models.segment_memory import SegmentMemory, memory_for_segment, next_memory, segment_mask
from plmjax.models.stack import TransformerStack

HEADS_BY_FAMILY = {"gpt2": (None, "lm", "classification"), "transfo_xl": (None, "lm")}


def summary_positions(config: TransformerConfig, input_ids):
    """[batch]: the position a decoder's classification head reads, each row's last non-pad token (after a soft
    prompt's tokens, which come first)."""
    return last_token_index(input_ids, config.pad_token_id) + config.peft.leading_tokens


def last_token_index(input_ids, pad_token_id: int | None):
    """Index of each row's last non-pad token (works for left and right padding); the last position
    when the model has no pad token."""
    positions = jnp.arange(input_ids.shape[1])
    if pad_token_id is None:
        return jnp.full(input_ids.shape[:1], input_ids.shape[1] - 1)
    return jnp.argmax(positions * (input_ids != pad_token_id), axis=-1)


class DecoderModel(nn.Module):
    """A causal Transformer decoder with an optional head.

    head: None (final hidden states), "lm" (next-token logits; tied to the word embeddings unless
    config.tie_word_embeddings is False) or "classification" (logits of the last non-pad token).

    Incremental decoding: pass cache_offset (int32 scalar, the cache slot of the first input token) and an
    attention_mask over every cache slot ([batch, cache_length]), and apply with mutable=["cache"]; the first
    such call allocates a key/value cache of cache_length slots. See plmjax.generation.
    """

    config: TransformerConfig
    head: str | None = None
    num_labels: int = 2

    def setup(self):
        c, head = self.config, self.head
        check_head(c, head, HEADS_BY_FAMILY, "a decoder")
        self.embeddings = Embeddings(c)
        self.decoder = TransformerStack(c, decoder=True)
        for name, module in c.peft.model_modules(c).items():  # a soft prompt, under its name
            setattr(self, name, module)
        if head == "lm" and c.adaptive_softmax_cutoffs:
            self.lm_head = AdaptiveLogSoftmax(c)  # log-probabilities as the logits (Transformer-XL's option)
        elif head == "lm" and not c.tie_word_embeddings:
            self.lm_head = untied_lm_head(c)
        if head == "classification":
            self.score = dense(c, self.num_labels, ("embed", "labels"), "score", use_bias=False)

    def __call__(
        self,
        input_ids,
        attention_mask=None,
        position_ids=None,
        deterministic: bool = True,
        output_hidden_states: bool = False,
        output_attentions: bool = False,
        cache_offset=None,
        logits_to_keep: int | None = None,
        memory: SegmentMemory | None = None,
    ) -> ModelOutput:
        """logits_to_keep: LM logits of the last n positions only (generation needs the last one; the vocabulary
        projection dominates a prompt's cost).

        memory: with config.memory_length > 0 (Transformer-XL), the earlier segments' memory (None: the first
        segment, an empty one); the output's `memory` is the next segment's."""
        c, head = self.config, self.head
        batch, length = input_ids.shape
        soft = c.peft.leading_tokens  # soft prompt tokens the model puts in front of the input
        if soft and (cache_offset is not None or c.memory_length):
            raise NotImplementedError("a soft prompt in front of the input decodes with no cache or memory yet")
        memory = memory_for_segment(c, memory, batch)
        if memory is None and cache_offset is None:
            x, bias = self.embed(input_ids, attention_mask, deterministic, position_ids)
        else:
            attention_mask = c.peft.input_mask(attention_mask)
            if memory is not None:
                if cache_offset is not None:
                    raise ValueError("a model with a segment memory decodes without a key/value cache")
                real = segment_mask(attention_mask, batch, length)
                keys_mask = jnp.concatenate([memory.mask, real.astype(memory.mask.dtype)], axis=1)
                query_positions = memory.slots + jnp.arange(length)
                bias = causal_bias(keys_mask, query_positions, keys_mask.shape[1], batch, c.compute_dtype)
            else:
                if attention_mask is None:
                    raise ValueError("decoding with a cache needs an attention_mask over every cache slot")
                query_positions = cache_offset + jnp.arange(length)
                bias = causal_bias(attention_mask, query_positions, attention_mask.shape[1], batch, c.compute_dtype)
                if position_ids is None:
                    position_ids = query_positions[None, :]
            extras = c.peft.model_extras(self)
            x = self.embeddings(input_ids, position_ids=position_ids, deterministic=deterministic, extras=extras)
        hidden, hidden_states, attentions = self.decoder(
            x, bias, deterministic, cache_offset=cache_offset, memories=None if memory is None else memory.states
        )
        if memory is not None:
            memory = next_memory(memory, hidden_states[:-1], real)

        logits = None
        if head == "lm":
            scored = hidden if logits_to_keep is None else hidden[:, -logits_to_keep:]
            logits = self.embeddings.attend(scored) if c.tie_word_embeddings else self.lm_head(scored)
        if head == "classification":
            logits = self.score(hidden[jnp.arange(batch), summary_positions(c, input_ids)])
        return ModelOutput(
            last_hidden_state=hidden,
            logits=logits,
            hidden_states=hidden_states if output_hidden_states else None,
            attentions=attentions if output_attentions else None,
            memory=memory,
        )

    def embed(self, input_ids, attention_mask=None, deterministic: bool = True, position_ids=None):
        """(the first layer's input [batch, length, hidden], the causal self-attention bias) without a cache or a
        segment memory (__call__ then starts from these; early exit runs the layers one at a time from them,
        plmjax.early_exit.layerwise). A soft prompt's tokens come first."""
        c = self.config
        batch, length = input_ids.shape
        length += c.peft.leading_tokens
        bias = causal_bias(c.peft.input_mask(attention_mask), jnp.arange(length), length, batch, c.compute_dtype)
        extras = c.peft.model_extras(self)
        x = self.embeddings(input_ids, position_ids=position_ids, deterministic=deterministic, extras=extras)
        return x, bias

    def classify(self, summary):
        """The classification head's logits of a layer's output at the summary positions [batch, hidden], before
        the final norm: what __call__ computes from the last layer's, for any layer's."""
        if self.config.pre_norm:
            summary = self.decoder.final_norm(summary)
        return self.score(summary)

    def dummy_inputs(self, batch: int = 1, length: int = 8):
        """Inputs for model.init."""
        return jnp.ones((batch, length), jnp.int32)
