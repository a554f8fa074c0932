"""The Transformer layer and the stack of layers every family is built from.

A layer is self-attention, cross-attention (decoders of encoder-decoders) and a feed-forward block, each a
residual branch, normalised after the addition (post-norm: BERT, BART) or before the branch (pre-norm: GPT-2,
T5, whose stacks end with a final norm).
"""

import flax.linen as nn
import jax.numpy as jnp

from plmjax.models.attention import MultiHeadAttention, RelativePositionBias
from plmjax.models.config import TransformerConfig
from plmjax.models.layers import FeedForward, layer_norm
from plmjax.models.relative_positions import RelativeInputs, distance_sinusoids


class TransformerLayer(nn.Module):
    config: TransformerConfig
    cross_attention: bool = False

    @nn.compact
    def __call__(
        self,
        x,
        bias,
        deterministic=True,
        encoder_hidden=None,
        cross_bias=None,
        cache_offset=None,
        extras=None,
        memory=None,
        relative=None,
        content=None,
        query_mapping=None,
    ):
        """memory: earlier segments' inputs to this layer, which self-attention also reads (Transformer-XL);
        relative: the stack's RelativeInputs for relative attention; content, query_mapping: XLNet's query
        stream (MultiHeadAttention)."""
        c = self.config
        dropout = nn.Dropout(c.hidden_dropout)

        def residual(x, norm, branch):
            if c.pre_norm:
                return x + branch(norm(x))
            return norm(x + branch(x))

        probs = None
        attention_norm = layer_norm(c, "attention_norm")
        if memory is not None and c.pre_norm:
            memory = attention_norm(memory)  # keys and values from the memory are normalised as the input's

        def self_attention(h):
            nonlocal probs
            h, probs = MultiHeadAttention(c, name="attention")(
                h,
                bias,
                deterministic,
                cache_offset=cache_offset,
                extras=extras,
                memory=memory,
                relative=relative,
                content=content,
                query_mapping=query_mapping,
            )
            return c.peft.after_branch(self, "attention", dropout(h, deterministic=deterministic))

        x = residual(x, attention_norm, self_attention)
        if self.cross_attention:

            def cross_attention(h):
                h, _ = MultiHeadAttention(c, name="cross_attention")(
                    h, cross_bias, deterministic, key_value_states=encoder_hidden, cache_offset=cache_offset
                )
                return dropout(h, deterministic=deterministic)

            x = residual(x, layer_norm(c, "cross_attention_norm"), cross_attention)

        def feed_forward(h):
            # FeedForward applies its own output dropout.
            return c.peft.after_branch(self, "mlp", FeedForward(c, name="mlp")(h, deterministic))

        x = residual(x, layer_norm(c, "mlp_norm"), feed_forward)
        return x, probs


# Built once (see layers.RecomputedLayerNorm: making remat classes per call races with the compile thread).
RecomputedTransformerLayer = nn.remat(TransformerLayer, static_argnums=(3,))


class TransformerStack(nn.Module):
    """A stack of layers, with the stack-level parts some families add.

    Encoder stacks (decoder=False) apply num_layers layers over hidden_groups * inner_group_num distinct ones:
    with one group per layer (the default) every layer has its own weights; ALBERT's single group reuses the
    same weights at every depth. Decoder stacks (decoder=True) have decoder_layers layers and cross-attention
    when the family is an encoder-decoder; their callers pass a causal bias. T5 and MPNet stacks own the
    relative position bias table (shared by their layers); pre-norm stacks end with "final_norm".
    """

    config: TransformerConfig
    decoder: bool = False

    def setup(self):
        c = self.config
        layer = RecomputedTransformerLayer if c.remat else TransformerLayer
        cross = self.decoder and c.is_encoder_decoder
        self.layers = [layer(c, cross_attention=cross) for _ in range(self.num_groups * self.inner_group_num)]
        if c.has_relative_bias:
            self.relative_position_bias = RelativePositionBias(c, bidirectional=not self.decoder)
        if c.pre_norm:
            self.final_norm = layer_norm(c, "final_norm")
        if c.has_relative_sinusoids:
            self.relative_dropout = nn.Dropout(c.hidden_dropout)
        # Modules the methods add to the stack (prefix tuning's MLP), as attributes under their names.
        for name, module in c.peft.stack_modules(c, len(self.layers)).items():
            setattr(self, name, module)

    @property
    def num_layers(self) -> int:
        return self.config.decoder_layers if self.decoder else self.config.num_layers

    @property
    def num_groups(self) -> int:
        return self.num_layers if self.decoder else self.config.hidden_groups

    @property
    def inner_group_num(self) -> int:
        return 1 if self.decoder else self.config.inner_group_num

    @property
    def num_applications(self) -> int:
        """Layer applications per call (ALBERT applies each group's inner layers at every depth)."""
        return self.num_layers * self.inner_group_num

    def layer_index(self, application: int) -> int:
        """The distinct layer (index into self.layers) that layer application number `application` runs."""
        depth, inner = divmod(application, self.inner_group_num)
        group = depth // (self.num_layers // self.num_groups)
        return group * self.inner_group_num + inner

    def attention_inputs(self, x, bias, cache_offset=None):
        """(self-attention bias with the stack's relative position bias added, the methods' values for each
        distinct layer): what every layer application reads besides the hidden states. Early exit runs the
        layers one at a time from these (plmjax.early_exit.layerwise)."""
        if self.config.has_relative_bias:
            queries = x.shape[1]
            keys = queries if bias is None else bias.shape[-1]
            start = 0 if cache_offset is None else cache_offset
            position_bias = self.relative_position_bias(start + jnp.arange(queries), jnp.arange(keys))
            bias = position_bias if bias is None else bias + position_bias
        # The methods' values for each distinct layer (prefix tuning's MLP: every layer's (key, value) prefix).
        return bias, self.config.peft.layer_extras(self, len(self.layers))

    def relative_inputs(self, queries: int, keys: int, deterministic: bool, different_segment=None):
        """RelativeInputs of every layer's relative attention: the distance sinusoids, with dropout (distances
        keys .. 0 for a decoder, keys .. 1 - queries for an encoder), and XLNet's segment relations."""
        c = self.config
        last = 0 if self.decoder else 1 - queries
        positions = distance_sinusoids(keys, last, c.hidden_size, c.clamp_length).astype(c.compute_dtype)
        positions = self.relative_dropout(positions, deterministic=deterministic)
        return RelativeInputs(positions, different_segment)

    def __call__(
        self, x, bias, deterministic=True, encoder_hidden=None, cross_bias=None, cache_offset=None, memories=None
    ):
        """bias: additive self-attention bias [batch, 1, queries, keys] or None; with cache_offset its key axis
        spans the whole cache. memories: one [batch, slots, hidden] array per layer application, the inputs
        that layer saw in earlier segments (Transformer-XL; the bias covers their slots first). Returns
        (output, hidden states per layer application, attention probabilities); hidden_states[i] is layer
        application i's input, so the next segment's memories come from them."""
        bias, extras = self.attention_inputs(x, bias, cache_offset)
        relative = None
        if self.config.has_relative_sinusoids:
            slots = 0 if memories is None else memories[0].shape[1]
            relative = self.relative_inputs(x.shape[1], slots + x.shape[1], deterministic)
        hidden_states, attentions = [x], []
        for application in range(self.num_applications):
            index = self.layer_index(application)
            memory = None if memories is None else memories[application]
            x, probs = self.layers[index](
                x, bias, deterministic, encoder_hidden, cross_bias, cache_offset, extras[index], memory, relative
            )
            # One entry per layer application (as transformers 5 reports ALBERT's inner layers).
            hidden_states.append(x)
            attentions.append(probs)
        if self.config.pre_norm:
            x = self.final_norm(x)
        return x, tuple(hidden_states), tuple(attentions)
