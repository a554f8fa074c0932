"""Transformer-XL's relative positions (Dai et al. 2019, section 3.3), which XLNet shares.

With M memory slots in front of a segment of T tokens, query i sits at position M + i and key j at position j
(j < M + T). A layer scores them as

    A_ij = (q_i + u)^T k_j + (q_i + v)^T W_r R_(M+i-j)

R_d are sinusoids of the distance d, u ("content_bias") and v ("position_bias") are learned per head, W_r
("relative_position") per layer. The stack computes R once for the distances K, K-1, ..., down to the last one
needed (K = M + T keys; 0 for causal attention, 1 - T when queries also see later keys); each layer scores
every query against every distance and `relative_shift` moves row i so that column j holds distance M + i - j:
a reshape, where gathering the scores by distance would copy them.
tests/models/transformer_xl_reference.py is the same arithmetic one query and one key at a time.
"""

import flax.linen as nn
import flax.struct
import jax
import jax.numpy as jnp

from plmjax.models.config import TransformerConfig


def sinusoids(distances: jax.Array, dim: int) -> jax.Array:
    """[n, dim] float32: [sin(d f_0), ..., sin(d f_(dim/2-1)), cos(d f_0), ...], f_k = 10000^(-2k/dim): all sines
    first, then all cosines, as Transformer-XL's and XLNet's positional embeddings concatenate them."""
    inverse = 1.0 / (10000.0 ** (jnp.arange(0, dim, 2.0, dtype=jnp.float32) / dim))
    angles = distances.astype(jnp.float32)[:, None] * inverse[None, :]
    return jnp.concatenate([jnp.sin(angles), jnp.cos(angles)], axis=-1)


def distance_sinusoids(num_keys: int, last_distance: int, dim: int, clamp: int | None = None) -> jax.Array:
    """Sinusoids of the distances num_keys, num_keys - 1, ..., last_distance ([num_keys - last_distance + 1,
    dim]), distances beyond +-clamp sharing the clamp's (Transformer-XL's clamp_len)."""
    distances = jnp.arange(num_keys, last_distance - 1, -1)
    if clamp is not None:
        distances = jnp.clip(distances, -clamp, clamp)
    return sinusoids(distances, dim)


def relative_shift(scores: jax.Array, num_keys: int) -> jax.Array:
    """[..., queries, rows] scores against distances num_keys, num_keys - 1, ... (row r: distance num_keys - r)
    -> [..., queries, num_keys] with column j of query i holding distance (num_keys - queries) + i - j.

    Reading the scores as [rows, queries] and dropping the first row shifts row i of the result left by
    queries - i places (XLNet's rel_shift_bnij): out[i, j] = scores[i, queries + j - i]. Where that column is
    past the last row (j - i > rows - 1 - queries: keys after the query that causal attention masks) the value
    is another row's score, finite and dropped by the mask."""
    *lead, queries, rows = scores.shape
    shifted = scores.reshape(*lead, rows, queries)[..., 1:, :].reshape(*lead, queries, rows - 1)
    return shifted[..., :num_keys]


@flax.struct.dataclass
class RelativeInputs:
    """What a stack's relative attention reads besides the hidden states.

    positions: distance sinusoids [rows, hidden] (distance_sinusoids, after dropout). different_segment:
    XLNet's relative segment encoding, [batch, queries, keys] true where query and key lie in different
    segments (token types; memory slots count as segment 0), or None."""

    positions: jax.Array
    different_segment: jax.Array | None = None


def relative_scores(module: nn.Module, config: TransformerConfig, query, key, relative: RelativeInputs, project):
    """[batch, heads, queries, keys] unscaled float32 scores (q + u)^T k + (q + v)^T W_r R, plus XLNet's segment
    term (q + b)^T s_(same or different) with relative.different_segment, in the attention module's scope (its
    "content_bias", "position_bias", "relative_position" projection, "segment_bias", "segment_embedding").

    query [batch, heads, queries, head_dim], key [batch, heads, keys, head_dim]; project(name, x): the module's
    projection into [batch, heads, length, head_dim]."""
    c = config
    init = nn.with_logical_partitioning(nn.initializers.normal(c.initializer_range), ("heads", "kv"))

    def with_bias(name):
        return query + module.param(name, init, (c.num_heads, c.head_dim), c.params_dtype)[:, None].astype(query.dtype)

    positions = project("relative_position", relative.positions[None].astype(query.dtype))[0]  # [heads, rows, dim]
    content = jnp.einsum("bhqd,bhkd->bhqk", with_bias("content_bias"), key)
    position = jnp.einsum("bhqd,hrd->bhqr", with_bias("position_bias"), positions)
    scores = content.astype(jnp.float32) + relative_shift(position, key.shape[2]).astype(jnp.float32)
    if c.relative_segment_encoding:
        segment_init = nn.with_logical_partitioning(
            nn.initializers.normal(c.initializer_range), ("token_types", "heads", "kv")
        )
        embedding = module.param("segment_embedding", segment_init, (2, c.num_heads, c.head_dim), c.params_dtype)
        query_with_bias = with_bias("segment_bias")
    if c.relative_segment_encoding and relative.different_segment is not None:
        # [batch, heads, queries, 2]: each query's score for "same segment" and for "different segment".
        both = jnp.einsum("bhqd,shd->bhqs", query_with_bias, embedding.astype(query.dtype))
        both = both.astype(jnp.float32)
        scores = scores + jnp.where(relative.different_segment[:, None], both[..., 1:], both[..., :1])
    return scores
