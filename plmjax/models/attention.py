"""Multi-head attention for every family: self- or cross-attention, padding and causal masks, the bucketed
relative position bias of T5 and MPNet, and a preallocated key/value cache for incremental decoding.

The cache lives in the flax "cache" collection. A call with `cache_offset` (an int32 scalar, the slot where
this chunk of queries starts) writes the chunk's keys and values at that slot of buffers as long as the
bias's key axis, and attends over the whole buffer; the bias masks the slots not written yet. The first such
call (with mutable=["cache"]) allocates the buffers, so a prompt and every later token run through the same
module with no separate cache set-up.
"""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from plmjax.models.config import TransformerConfig
from plmjax.models.layers import dense
from plmjax.models.relative_positions import relative_scores


def bias_from_mask(keep: jax.Array, dtype) -> jax.Array:
    """Boolean keep-mask -> additive bias (0 to keep, dtype min to drop).

    Combine masks as booleans before calling this: two added minimums would overflow to -inf.
    """
    return jnp.where(keep, 0.0, jnp.finfo(dtype).min).astype(dtype)


def attention_bias(attention_mask: jax.Array | None, dtype) -> jax.Array | None:
    """[batch, keys] 0/1 mask -> additive [batch, 1, 1, keys] bias (0 to keep, dtype min to drop)."""
    if attention_mask is None:
        return None
    return bias_from_mask(attention_mask[:, None, None, :].astype(bool), dtype)


def causal_bias(
    attention_mask: jax.Array | None, query_positions: jax.Array, num_keys: int, batch: int, dtype
) -> jax.Array:
    """[batch, 1, queries, keys] bias letting query slot i see key slots <= i that the mask keeps.

    query_positions: [queries] cache slots of the queries (arange(queries) without a cache).
    """
    keep = jnp.arange(num_keys)[None, :] <= query_positions[:, None]
    keep = jnp.broadcast_to(keep[None, None], (batch, 1, *keep.shape))
    if attention_mask is not None:
        keep = keep & attention_mask[:, None, None, :].astype(bool)
    return bias_from_mask(keep, dtype)


def relative_position_buckets(relative_position, bidirectional: bool, num_buckets: int, max_distance: int):
    """T5's bucket of each (key position - query position); MPNet's relative_position_bucket is the same
    arithmetic (bidirectional, 32 buckets, max distance 128; tests/hf/test_encoder_parity.py checks it).

    Half the buckets count small distances exactly, the other half grow logarithmically up to max_distance;
    bidirectional attention splits them further between keys before and after the query. The float32
    arithmetic follows Mesh TensorFlow step by step so that bucket edges land where T5 was trained with.
    """
    buckets = jnp.zeros_like(relative_position)
    if bidirectional:
        num_buckets //= 2
        buckets = buckets + (relative_position > 0).astype(jnp.int32) * num_buckets
        distance = jnp.abs(relative_position)
    else:
        distance = -jnp.minimum(relative_position, 0)
    max_exact = num_buckets // 2
    is_small = distance < max_exact
    # log(0) is -inf at distance 0; that branch is never selected, and clipping keeps the cast defined.
    scaled = (
        jnp.log(jnp.maximum(distance, 1).astype(jnp.float32) / max_exact)
        / jnp.float32(math.log(max_distance / max_exact))
        * jnp.float32(num_buckets - max_exact)
    )
    large = jnp.minimum(max_exact + scaled.astype(jnp.int32), num_buckets - 1)
    return buckets + jnp.where(is_small, distance, large)


class RelativePositionBias(nn.Module):
    """T5's and MPNet's learned per-head bias over bucketed relative positions; one table per stack, shared by
    its layers."""

    config: TransformerConfig
    bidirectional: bool = True

    @nn.compact
    def __call__(self, query_positions: jax.Array, key_positions: jax.Array) -> jax.Array:
        """[1, heads, queries, keys] float32 bias."""
        c = self.config
        table = self.param(
            "embedding",
            nn.with_logical_partitioning(nn.initializers.normal(c.initializer_range), ("relpos_buckets", "heads")),
            (c.relative_attention_num_buckets, c.num_heads),
            c.params_dtype,
        )
        relative = key_positions[None, :] - query_positions[:, None]
        buckets = relative_position_buckets(
            relative, self.bidirectional, c.relative_attention_num_buckets, c.relative_attention_max_distance
        )
        return jnp.transpose(table[buckets].astype(jnp.float32), (2, 0, 1))[None]


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention with query/key/value/output projections.

    Self-attention by default; cross-attention when `key_value_states` (the encoder output) is given.
    `bias` is additive, broadcastable to [batch, heads, queries, keys]: padding, causal and relative position
    terms all arrive through it.
    """

    config: TransformerConfig

    @nn.compact
    def __call__(
        self,
        x,
        bias,
        deterministic=True,
        key_value_states=None,
        cache_offset=None,
        extras=None,
        memory=None,
        relative=None,
        content=None,
        query_mapping=None,
    ):
        """extras: the methods' per-layer values for their self_attention_kv hooks (config.peft.layer_extras;
        prefix tuning's MLP output). Self-attention runs those hooks on its keys, values and bias.

        memory: [batch, memory slots, hidden] states in front of x that self-attention also reads as keys and
        values (Transformer-XL's recurrence); relative: the stack's RelativeInputs, for relative attention
        (plmjax.models.relative_positions). XLNet's query stream: content [batch, length, hidden] gives the
        keys and values instead of x (the content stream); query_mapping [batch, queries, length] places
        x's queries at positions of the content (XLNet's target_mapping), and the outputs back."""
        c = self.config
        batch, length, _ = x.shape
        heads, head_dim = c.num_heads, c.head_dim

        def project(name, inputs):
            """[batch, heads, length, head_dim]: with the heads ahead of the positions the attention matmuls batch
            over (batch, heads) as the arrays lie, and the decoding cache is read as it is stored. In the
            [batch, length, heads, head_dim] order XLA copied the whole key/value cache into this order in
            every layer at every decoding step (17% of a GPT-2 small decoding step on CPU)."""
            y = dense(c, heads * head_dim, ("embed", "heads"), name, use_bias=c.attention_bias_terms)(inputs)
            return y.reshape(inputs.shape[0], inputs.shape[1], heads, head_dim).transpose(0, 2, 1, 3)

        query = project("query", x)
        if query_mapping is not None:
            query = jnp.einsum("bhmd,bml->bhld", query, query_mapping.astype(query.dtype))
        if key_value_states is None:
            if memory is not None and cache_offset is not None:
                raise ValueError("attention takes a segment memory or a decoding cache, not both")
            keys_in = x if content is None else content
            keys_in = keys_in if memory is None else jnp.concatenate([memory.astype(x.dtype), keys_in], axis=1)
            key, value = project("key", keys_in), project("value", keys_in)
            if cache_offset is not None:
                key, value = self._write_cache(key, value, cache_offset, bias.shape[-1])
            key, value, bias = c.peft.self_attention_kv(self, key, value, bias, extras)
        elif cache_offset is not None and self.has_variable("cache", "cross_key"):
            # The encoder output does not change while decoding: project it once, at the first step.
            key, value = self.get_variable("cache", "cross_key"), self.get_variable("cache", "cross_value")
        else:
            key, value = project("key", key_value_states), project("value", key_value_states)
            if cache_offset is not None:
                self.put_variable("cache", "cross_key", key)
                self.put_variable("cache", "cross_value", value)

        if relative is not None:
            scores = relative_scores(self, c, query, key, relative, project)
            if c.scale_attention:
                scores = scores * (1.0 / math.sqrt(head_dim))
        else:
            if c.scale_attention:
                # Scale the query rather than the scores: fewer multiplies, same result.
                query = query * jnp.asarray(1.0 / math.sqrt(head_dim), query.dtype)
            scores = jnp.einsum("bhqd,bhkd->bhqk", query, key).astype(jnp.float32)
        if bias is not None:
            scores = scores + bias.astype(jnp.float32)
        # Softmax in float32 even under bfloat16 compute: it is where low precision hurts.
        probs = jax.nn.softmax(scores, axis=-1)
        probs = nn.Dropout(c.attention_dropout)(probs, deterministic=deterministic).astype(value.dtype)
        context = jnp.einsum("bhqk,bhkd->bhqd", probs, value)
        if query_mapping is not None:
            context = jnp.einsum("bhld,bml->bhmd", context, query_mapping.astype(context.dtype))
        context = context.transpose(0, 2, 1, 3).reshape(batch, length, heads * head_dim)
        output = dense(c, c.hidden_size, ("heads", "embed"), "output", use_bias=c.attention_bias_terms)(context)
        return output, probs

    def _write_cache(self, key, value, offset, cache_length: int):
        """Store this chunk at slot `offset` of [batch, heads, cache_length, head_dim] buffers; return them."""
        shape = (key.shape[0], key.shape[1], cache_length, key.shape[3])
        cached_key = self.variable("cache", "cached_key", jnp.zeros, shape, key.dtype)
        cached_value = self.variable("cache", "cached_value", jnp.zeros, shape, value.dtype)
        start = (0, 0, offset, 0)
        cached_key.value = jax.lax.dynamic_update_slice(cached_key.value, key.astype(cached_key.value.dtype), start)
        cached_value.value = jax.lax.dynamic_update_slice(
            cached_value.value, value.astype(cached_value.value.dtype), start
        )
        return cached_key.value, cached_value.value
