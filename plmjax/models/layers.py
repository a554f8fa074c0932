"""Building blocks shared by every family: dense and norm layers with logical axes, embeddings,
multi-head attention, the feed-forward block and a Transformer layer."""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from plmjax.models.activations import activation
from plmjax.models.config import TransformerConfig


def dense(config: TransformerConfig, features: int, axes: tuple[str, str], name: str, use_bias: bool = True):
    """A Dense layer whose kernel and bias carry logical axis names (in_axis, out_axis)."""
    return nn.Dense(
        features,
        use_bias=use_bias,
        dtype=config.compute_dtype,
        param_dtype=config.params_dtype,
        kernel_init=nn.with_logical_partitioning(nn.initializers.normal(config.initializer_range), axes),
        bias_init=nn.with_logical_partitioning(nn.initializers.zeros_init(), axes[-1:]),
        name=name,
    )


def layer_norm(config: TransformerConfig, name: str, axis_name: str = "embed"):
    return nn.LayerNorm(
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


def padding_position_ids(input_ids: jax.Array, pad_token_id: int) -> jax.Array:
    """RoBERTa positions: count non-pad tokens from pad_token_id + 1; pad tokens get pad_token_id."""
    not_pad = (input_ids != pad_token_id).astype(jnp.int32)
    return jnp.cumsum(not_pad, axis=1) * not_pad + pad_token_id


class Embeddings(nn.Module):
    """Token + position (+ token type) embeddings, layer norm, dropout, optional projection to hidden_size."""

    config: TransformerConfig

    def setup(self):
        c = self.config
        self.word_embeddings = embed(c, c.vocab_size, c.embed_size, ("vocab", "embed_in"), "word_embeddings")
        self.position_embeddings = embed(
            c, c.max_position_embeddings, c.embed_size, ("positions", "embed_in"), "position_embeddings"
        )
        if c.type_vocab_size:
            self.token_type_embeddings = embed(
                c, c.type_vocab_size, c.embed_size, ("token_types", "embed_in"), "token_type_embeddings"
            )
        self.norm = layer_norm(c, "norm", "embed_in")
        self.dropout = nn.Dropout(c.hidden_dropout)
        if c.projects_embeddings:
            self.projection = dense(c, c.hidden_size, ("embed_in", "embed"), "projection")

    def __call__(self, input_ids, token_type_ids=None, position_ids=None, deterministic=True):
        c = self.config
        if position_ids is None:
            if c.positions_from_padding:
                position_ids = padding_position_ids(input_ids, c.pad_token_id)
            else:
                position_ids = jnp.arange(input_ids.shape[1])[None, :]
        x = self.word_embeddings(input_ids) + self.position_embeddings(position_ids)
        if c.type_vocab_size:
            if token_type_ids is None:
                token_type_ids = jnp.zeros_like(input_ids)
            x = x + self.token_type_embeddings(token_type_ids)
        x = self.dropout(self.norm(x), deterministic=deterministic)
        if c.projects_embeddings:
            x = self.projection(x)
        return x

    def attend(self, hidden):
        """Logits against the (tied) word embeddings: hidden @ word_embeddings.T."""
        return self.word_embeddings.attend(hidden)


def attention_bias(attention_mask: jax.Array | None, dtype) -> jax.Array | None:
    """[batch, keys] 0/1 mask -> additive [batch, 1, 1, keys] bias (0 to keep, dtype min to drop)."""
    if attention_mask is None:
        return None
    keep = attention_mask[:, None, None, :].astype(bool)
    return jnp.where(keep, 0.0, jnp.finfo(dtype).min).astype(dtype)


class SelfAttention(nn.Module):
    """Multi-head scaled dot-product self-attention with query/key/value/output projections."""

    config: TransformerConfig

    @nn.compact
    def __call__(self, x, bias, deterministic=True):
        c = self.config
        batch, length, _ = x.shape
        heads, head_dim = c.num_heads, c.head_dim

        def project(name):
            y = dense(c, heads * head_dim, ("embed", "heads"), name)(x)
            return y.reshape(batch, length, heads, head_dim)

        query, key, value = project("query"), project("key"), project("value")
        # Scale the query rather than the scores: fewer multiplies, same result.
        query = query * jnp.asarray(1.0 / math.sqrt(head_dim), query.dtype)
        scores = jnp.einsum("bqhd,bkhd->bhqk", query, key).astype(jnp.float32)
        if bias is not None:
            scores = scores + bias.astype(jnp.float32)
        # Softmax in float32 even under bfloat16 compute: it is where low precision hurts.
        probs = jax.nn.softmax(scores, axis=-1)
        probs = nn.Dropout(c.attention_dropout)(probs, deterministic=deterministic).astype(value.dtype)
        context = jnp.einsum("bhqk,bkhd->bqhd", probs, value).reshape(batch, length, heads * head_dim)
        return dense(c, c.hidden_size, ("heads", "embed"), "output")(context), probs


class FeedForward(nn.Module):
    config: TransformerConfig

    @nn.compact
    def __call__(self, x, deterministic=True):
        c = self.config
        h = dense(c, c.intermediate_size, ("embed", "mlp"), "intermediate")(x)
        h = activation(c.hidden_act)(h)
        h = dense(c, c.hidden_size, ("mlp", "embed"), "output")(h)
        return nn.Dropout(c.hidden_dropout)(h, deterministic=deterministic)


class TransformerLayer(nn.Module):
    """Post-norm encoder layer (BERT): x = norm(x + attn(x)); x = norm(x + ffn(x))."""

    config: TransformerConfig

    @nn.compact
    def __call__(self, x, bias, deterministic=True):
        c = self.config
        attended, probs = SelfAttention(c, name="attention")(x, bias, deterministic)
        attended = nn.Dropout(c.hidden_dropout)(attended, deterministic=deterministic)
        x = layer_norm(c, "attention_norm")(x + attended)
        x = layer_norm(c, "mlp_norm")(x + FeedForward(c, name="mlp")(x, deterministic))
        return x, probs
