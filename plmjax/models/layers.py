"""Building blocks shared by every family: dense and norm layers with logical axes, embeddings and the
feed-forward block. Attention is in attention.py, the Transformer layer and stack in stack.py."""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from plmjax.models.activations import activation
from plmjax.models.config import TransformerConfig
from plmjax.models.hooks import PeftConfig


class HookedDense(nn.Dense):
    """nn.Dense (the same kernel and bias, created first and in nn.Dense's order, so their initial values are
    nn.Dense's for the same rng) with the dense hooks of the methods that adapt its kernel (plmjax.models.hooks):
    y = output(weight_output(input(x) W) + b), each stage over the methods in order.

    axes: the kernel's logical axes (in, out); method parameters reuse them.
    """

    peft: PeftConfig = PeftConfig()
    axes: tuple[str, str] = ("embed", "embed")

    @nn.compact
    def __call__(self, inputs):
        kernel_path = "/".join(self.scope.path) + "/kernel"
        kernel = self.param("kernel", self.kernel_init, (jnp.shape(inputs)[-1], self.features), self.param_dtype)
        bias = self.param("bias", self.bias_init, (self.features,), self.param_dtype) if self.use_bias else None
        x, kernel, bias = self.promote_dtype(inputs, kernel, bias, dtype=self.dtype)
        methods = self.peft.dense_methods(kernel_path)
        kernel_input = x
        for method in methods:
            kernel_input = method.dense_input(self, kernel_path, kernel_input)
        y = jax.lax.dot_general(kernel_input, kernel, (((x.ndim - 1,), (0,)), ((), ())), precision=self.precision)
        for method in methods:
            y = method.dense_weight_output(self, kernel_path, x, kernel, y)
        if bias is not None:
            y += jnp.reshape(bias, (1,) * (y.ndim - 1) + (-1,))
        for method in methods:
            y = method.dense_output(self, kernel_path, y)
        return y


def dense(config: TransformerConfig, features: int, axes: tuple[str, str], name: str, use_bias: bool = True):
    """A Dense layer whose kernel and bias carry logical axis names (in_axis, out_axis).

    With methods on (config.peft), a HookedDense: the same kernel and bias, plus what the methods that adapt
    this kernel add (LoRA, IA3, ...). Without, plain nn.Dense.
    """
    settings = dict(
        use_bias=use_bias,
        dtype=config.compute_dtype,
        param_dtype=config.params_dtype,
        kernel_init=nn.with_logical_partitioning(nn.initializers.normal(config.initializer_range), axes),
        bias_init=nn.with_logical_partitioning(nn.initializers.zeros_init(), axes[-1:]),
        name=name,
    )
    if config.peft.adapts_dense_layers:
        return HookedDense(features, peft=config.peft, axes=axes, **settings)
    return nn.Dense(features, **settings)


# Recomputed in the backward pass from its input: autodiff of flax's LayerNorm keeps three [tokens, hidden]
# tensors for it, this keeps one (-24 MiB per BERT-base layer at batch 16 x 128; same values, same time).
# Built once here, not per call: nn.remat makes a new dataclass, and flax's dataclass processing edits the base
# class's fields in place, which races when the trainer traces its step in a background compile thread.
RecomputedLayerNorm = nn.remat(nn.LayerNorm)


def layer_norm(config: TransformerConfig, name: str, axis_name: str = "embed"):
    """The config's norm: LayerNorm, or RMSNorm (T5: scale only, no mean subtraction, no bias)."""
    if config.norm_type == "rmsnorm":
        return nn.RMSNorm(
            epsilon=config.layer_norm_eps,
            dtype=config.compute_dtype,
            param_dtype=config.params_dtype,
            scale_init=nn.with_logical_partitioning(nn.initializers.ones_init(), (axis_name,)),
            name=name,
        )
    return RecomputedLayerNorm(
        epsilon=config.layer_norm_eps,
        dtype=config.compute_dtype,
        param_dtype=config.params_dtype,
        scale_init=nn.with_logical_partitioning(nn.initializers.ones_init(), (axis_name,)),
        bias_init=nn.with_logical_partitioning(nn.initializers.zeros_init(), (axis_name,)),
        name=name,
    )


def embed(config: TransformerConfig, num: int, features: int, axes: tuple[str, str], name: str):
    return nn.Embed(
        num,
        features,
        dtype=config.compute_dtype,
        param_dtype=config.params_dtype,
        embedding_init=nn.with_logical_partitioning(nn.initializers.normal(config.initializer_range), axes),
        name=name,
    )


def padding_position_ids(input_ids: jax.Array, pad_token_id: int, leading: int = 0, offset: int = 0) -> jax.Array:
    """RoBERTa positions: count non-pad tokens from pad_token_id + 1; pad tokens get pad_token_id.

    leading: soft prompt tokens in front of input_ids (they count as tokens); offset: positions the prefix of
    prefix tuning takes before everything (as transformers' past_key_values length).
    """
    not_pad = (input_ids != pad_token_id).astype(jnp.int32)
    if leading:
        not_pad = jnp.concatenate([jnp.ones((not_pad.shape[0], leading), jnp.int32), not_pad], axis=1)
    return (jnp.cumsum(not_pad, axis=1) + offset) * not_pad + pad_token_id


class Embeddings(nn.Module):
    """Token (+ position, + token type) embeddings, optional norm, dropout, optional projection to hidden_size.

    shared_word_embeddings: an nn.Embed owned elsewhere (an encoder-decoder's table, shared by both sides);
    None gives this module its own "word_embeddings".
    """

    config: TransformerConfig
    shared_word_embeddings: nn.Module | None = None

    def setup(self):
        c = self.config
        if self.shared_word_embeddings is None:
            self.word_embeddings = embed(c, c.vocab_size, c.embed_size, ("vocab", "embed_in"), "word_embeddings")
        if c.has_absolute_positions:
            self.position_embeddings = embed(
                c,
                c.max_position_embeddings + c.position_id_offset,
                c.embed_size,
                ("positions", "embed_in"),
                "position_embeddings",
            )
        if c.type_vocab_size:
            self.token_type_embeddings = embed(
                c, c.type_vocab_size, c.embed_size, ("token_types", "embed_in"), "token_type_embeddings"
            )
        if c.embedding_norm:
            self.norm = layer_norm(c, "norm", "embed_in")
        self.dropout = nn.Dropout(c.embedding_dropout_rate)
        if c.projects_embeddings:
            self.projection = dense(c, c.hidden_size, ("embed_in", "embed"), "projection")

    def words(self) -> nn.Embed:
        return self.word_embeddings if self.shared_word_embeddings is None else self.shared_word_embeddings

    def __call__(self, input_ids, token_type_ids=None, position_ids=None, deterministic=True, extras=None):
        """position_ids: [batch or 1, length]; None counts from 0 (from the padding index for RoBERTa).

        extras: the methods' model extras (config.peft.model_extras), for their word_vectors hooks: tokens they
        put in front of the input (soft prompts) take token type 0 and the first positions. Positions count
        from config.peft.position_offset (prefix tuning's prefix comes first).
        """
        c = self.config

        def lookup(ids):
            x = self.words()(ids)
            if c.scale_embedding:
                x = x * jnp.asarray(math.sqrt(c.embed_size), x.dtype)
            return x

        x = c.peft.word_vectors(c, lookup, input_ids, extras)
        soft = x.shape[1] - input_ids.shape[1]  # tokens the methods put in front of the input
        offset = c.peft.position_offset
        if c.has_absolute_positions:
            if position_ids is None:
                if c.positions_from_padding:
                    position_ids = padding_position_ids(input_ids, c.pad_token_id, soft, offset)
                else:
                    position_ids = jnp.arange(x.shape[1])[None, :] + offset
            else:
                if soft:
                    leading = jnp.broadcast_to(jnp.arange(soft), (position_ids.shape[0], soft))
                    position_ids = jnp.concatenate([leading, position_ids + soft], axis=1)
                position_ids = position_ids + offset
            x = x + self.position_embeddings(position_ids + c.position_id_offset)
        if c.type_vocab_size:
            if token_type_ids is None:
                token_type_ids = jnp.zeros(x.shape[:2], jnp.int32)
            elif soft:
                leading = jnp.zeros((token_type_ids.shape[0], soft), jnp.asarray(token_type_ids).dtype)
                token_type_ids = jnp.concatenate([leading, token_type_ids], axis=1)
            x = x + self.token_type_embeddings(token_type_ids)
        if c.embedding_norm:
            x = self.norm(x)
        x = self.dropout(x, deterministic=deterministic)
        if c.projects_embeddings:
            x = self.projection(x)
        return x

    def attend(self, hidden, vocab_ids=None):
        """Logits against the (tied) word embeddings: hidden @ word_embeddings.T; with vocab_ids [n], only
        those rows of the table (hidden @ word_embeddings[vocab_ids].T, a gather instead of the vocabulary)."""
        words = self.words()
        if vocab_ids is None:
            return words.attend(hidden)
        hidden, table = nn.dtypes.promote_dtype(hidden, jnp.take(words.embedding, vocab_ids, axis=0), dtype=words.dtype)
        return hidden @ table.T


class FeedForward(nn.Module):
    """dense -> activation -> dense, then dropout. Gated (T5 v1.1): act(x W_i) * (x W_linear) -> dense."""

    config: TransformerConfig

    @nn.compact
    def __call__(self, x, deterministic=True):
        c = self.config
        h = dense(c, c.intermediate_size, ("embed", "mlp"), "intermediate", use_bias=c.use_bias)(x)
        # Recomputed in the backward pass from its input: autodiff of the exact GELU keeps several [tokens, 3072]
        # intermediates, this keeps one. BERT-base at batch 16 x 128 (measured with jax.nn.gelu's erfc form):
        # the step's planned memory fell by 0.57 GiB (full) and 0.69 GiB (LoRA), its time did not change.
        h = jax.checkpoint(activation(c.hidden_act))(h)
        if c.gated_mlp:
            h = h * dense(c, c.intermediate_size, ("embed", "mlp"), "intermediate_linear", use_bias=c.use_bias)(x)
        if c.activation_dropout:
            h = nn.Dropout(c.activation_dropout)(h, deterministic=deterministic)
        h = dense(c, c.hidden_size, ("mlp", "embed"), "output", use_bias=c.use_bias)(h)
        return nn.Dropout(c.hidden_dropout)(h, deterministic=deterministic)
