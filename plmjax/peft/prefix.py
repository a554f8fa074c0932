"""Prefix tuning (Li & Liang, 2021): learned keys and values in front of every self-attention layer's own.

Each self-attention layer reads prefix_length extra key/value slots that every query may attend to. They are
either plain per-layer parameters (prefix_key, prefix_value [length, heads, head_dim] in each attention module)
or, with the MLP reparameterisation, the output of one PrefixEncoder per stack (embedding -> dense -> tanh ->
dense to every layer's keys and values), which `fold` turns into the plain form after training.

As with transformers' past_key_values (which HF peft uses), the prefix occupies positions 0..length-1: the
real tokens' absolute positions count from prefix_length. In incremental decoding the prefix is prepended to
the cached keys at every step rather than written into the cache, so the cache holds real tokens only.
"""

import flax.linen as nn
import jax.numpy as jnp

from plmjax.models.config import TransformerConfig
from plmjax.peft.method_spec import MethodSpec

PREFIX_INIT = nn.initializers.normal(1.0)  # HF peft's nn.Embedding default


def _dense(features: int, axes: tuple[str, str], name: str):
    return nn.Dense(
        features,
        param_dtype=jnp.float32,
        kernel_init=nn.with_logical_partitioning(nn.initializers.lecun_normal(), axes),
        bias_init=nn.with_logical_partitioning(nn.initializers.zeros_init(), axes[-1:]),
        name=name,
    )


class PrefixEncoder(nn.Module):
    """The MLP reparameterisation: [num_layers, 2 (key, value), length, heads, head_dim] prefixes.

    Its output is laid out as HF peft's prefix encoder's: per virtual token, layer 0's key, layer 0's value,
    layer 1's key, ...
    """

    config: TransformerConfig
    num_layers: int

    @nn.compact
    def __call__(self):
        c, p = self.config, self.config.peft
        length, heads, head_dim = p.prefix_length, c.num_heads, c.head_dim
        embedding = self.param(
            "embedding",
            nn.with_logical_partitioning(PREFIX_INIT, ("prefix", "embed")),
            (length, c.hidden_size),
            jnp.float32,
        )
        hidden = jnp.tanh(_dense(p.prefix_hidden_size, ("embed", "prefix_hidden"), "hidden")(embedding))
        out = _dense(self.num_layers * 2 * heads * head_dim, ("prefix_hidden", "prefix_out"), "output")(hidden)
        return out.reshape(length, self.num_layers, 2, heads, head_dim).transpose(1, 2, 0, 3, 4)


def prepend_prefix(module: nn.Module, config: TransformerConfig, key, value, bias, prefix=None):
    """(key, value, bias) with the prefix slots in front of the key axis.

    prefix: (key, value) [length, heads, head_dim] from the stack's PrefixEncoder; None reads the attention
    module's own prefix_key / prefix_value parameters. The bias gets zeros there: every query sees the prefix.
    """
    length = config.peft.prefix_length
    if prefix is None:
        shape = (length, config.num_heads, config.head_dim)
        axes = ("prefix", "heads", "kv")
        prefix = tuple(
            module.param(name, nn.with_logical_partitioning(PREFIX_INIT, axes), shape, jnp.float32)
            for name in ("prefix_key", "prefix_value")
        )
    # The attention's keys and values are [batch, heads, keys, head_dim]; the prefixes [length, heads, head_dim].
    batch, heads, _, head_dim = key.shape
    prefix_key, prefix_value = (
        jnp.broadcast_to(jnp.transpose(p.astype(key.dtype), (1, 0, 2))[None], (batch, heads, length, head_dim))
        for p in prefix
    )
    key = jnp.concatenate([prefix_key, key], axis=2)
    value = jnp.concatenate([prefix_value, value], axis=2)
    if bias is not None:
        bias = jnp.concatenate([jnp.zeros((*bias.shape[:-1], length), bias.dtype), bias], axis=-1)
    return key, value, bias


def config_changes(config, options) -> dict:
    length = int(options["length"])
    if length < 1:
        raise ValueError(f"prefix tuning needs length >= 1, got {length}")
    return dict(prefix_length=length, prefix_hidden_size=int(options["hidden_size"]))


def trainable(options) -> list[str]:
    return [r".*/prefix_encoder/.*"] if options["hidden_size"] else [r".*/attention/prefix_(key|value)"]


METHOD = MethodSpec(
    name="prefix",
    summary="`length` learned key/value slots in every self-attention; hidden_size > 0: MLP reparameterisation",
    defaults=dict(length=10, hidden_size=0),
    config_changes=config_changes,
    trainable=trainable,
)
