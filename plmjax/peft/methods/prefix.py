"""Prefix tuning (Li & Liang, 2021): learned keys and values in front of every self-attention layer's own.

Each self-attention layer reads `length` extra key/value slots that every query may attend to. They are
either plain per-layer parameters (prefix_key, prefix_value [length, heads, head_dim] in each attention module)
or, with the MLP reparameterisation (hidden_size > 0), the output of one PrefixEncoder per stack (embedding ->
dense -> tanh -> dense to every layer's keys and values), which `fold` turns into the plain form after training.

As with transformers' past_key_values (which HF peft uses), the prefix occupies positions 0..length-1: the
real tokens' absolute positions count from `length`. In incremental decoding the prefix is prepended to the
cached keys at every step rather than written into the cache, so the cache holds real tokens only.
HF-PEFT: peft's PrefixTuningConfig (the MLP exports folded, as peft saves it).
"""

import dataclasses
from typing import ClassVar

import flax.linen as nn
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from plmjax.models.config import TransformerConfig
from plmjax.models.hooks import MethodHooks
from plmjax.peft.method import HfPeftForm, MethodSpec

PREFIX_INIT = nn.initializers.normal(1.0)  # HF peft's nn.Embedding default
TRAINABLE_PLAIN = r".*/attention/prefix_(key|value)"


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
    length: int
    hidden_size: int

    @nn.compact
    def __call__(self):
        c = self.config
        heads, head_dim = c.num_heads, c.head_dim
        embedding = self.param(
            "embedding",
            nn.with_logical_partitioning(PREFIX_INIT, ("prefix", "embed")),
            (self.length, c.hidden_size),
            jnp.float32,
        )
        hidden = jnp.tanh(_dense(self.hidden_size, ("embed", "prefix_hidden"), "hidden")(embedding))
        out = _dense(self.num_layers * 2 * heads * head_dim, ("prefix_hidden", "prefix_out"), "output")(hidden)
        return out.reshape(self.length, self.num_layers, 2, heads, head_dim).transpose(1, 2, 0, 3, 4)


@dataclasses.dataclass(frozen=True)
class Prefix(MethodHooks):
    name: ClassVar[str] = "prefix"

    length: int = 10
    hidden_size: int = 0  # > 0: the MLP reparameterisation

    def __post_init__(self):
        if self.length < 1:
            raise ValueError(f"prefix tuning needs length >= 1, got {self.length}")

    @property
    def position_offset(self) -> int:
        return self.length

    def stack_modules(self, config, num_layers):
        if not self.hidden_size:
            return {}
        return {"prefix_encoder": PrefixEncoder(config, num_layers, self.length, self.hidden_size)}

    def layer_extras(self, stack):
        """Every distinct layer's (key, value) prefix from the stack's encoder, or None (own parameters)."""
        if not self.hidden_size:
            return None
        prefixes = stack.prefix_encoder()
        return [(prefixes[index, 0], prefixes[index, 1]) for index in range(prefixes.shape[0])]

    def self_attention_kv(self, attention, key, value, bias, extra):
        """(key, value, bias) with the prefix slots in front of the key axis; the bias gets zeros there, so every
        query sees the prefix. extra: the layer's (key, value) [length, heads, head_dim] from the stack's
        encoder; None reads the attention module's own prefix_key / prefix_value."""
        c = attention.config
        prefix = extra
        if prefix is None:
            shape = (self.length, c.num_heads, c.head_dim)
            axes = ("prefix", "heads", "kv")
            prefix = tuple(
                attention.param(name, nn.with_logical_partitioning(PREFIX_INIT, axes), shape, jnp.float32)
                for name in ("prefix_key", "prefix_value")
            )
        # The attention's keys and values are [batch, heads, keys, head_dim]; the prefixes [length, heads, head_dim].
        batch, heads, _, head_dim = key.shape
        prefix_key, prefix_value = (
            jnp.broadcast_to(jnp.transpose(p.astype(key.dtype), (1, 0, 2))[None], (batch, heads, self.length, head_dim))
            for p in prefix
        )
        key = jnp.concatenate([prefix_key, key], axis=2)
        value = jnp.concatenate([prefix_value, value], axis=2)
        if bias is not None:
            bias = jnp.concatenate([jnp.zeros((*bias.shape[:-1], self.length), bias.dtype), bias], axis=-1)
        return key, value, bias

    def fold(self, model, params):
        """(Prefix without the MLP, params with every layer's prefix_key / prefix_value from its output)."""
        if not self.hidden_size:
            return self, params
        flat = traverse_util.flatten_dict(params)
        bound = model.bind({"params": params})
        for stack in ("encoder", "decoder"):
            if stack not in params or "prefix_encoder" not in params[stack]:
                continue
            prefixes = getattr(bound, stack).prefix_encoder()
            for index in range(prefixes.shape[0]):
                attention = (stack, f"layers_{index}", "attention")
                flat[(*attention, "prefix_key")] = prefixes[index, 0]
                flat[(*attention, "prefix_value")] = prefixes[index, 1]
            flat = {p: v for p, v in flat.items() if p[:2] != (stack, "prefix_encoder")}
        return dataclasses.replace(self, hidden_size=0), traverse_util.unflatten_dict(flat)


def settings(config, options) -> Prefix:
    return Prefix(length=int(options["length"]), hidden_size=int(options["hidden_size"]))


def trainable(options) -> list[str]:
    return [r".*/prefix_encoder/.*"] if options["hidden_size"] else [TRAINABLE_PLAIN]


# --- HF-PEFT: peft's PrefixTuningConfig, one "prompt_embeddings" tensor ---


def hf_export(model, params) -> tuple[dict, dict, bool]:
    from plmjax.peft.merge import fold

    c = model.config
    model, params = fold(model, params)  # the MLP travels as its output, as peft saves it
    length = model.config.peft.get("prefix").length
    if c.is_encoder_decoder or c.hidden_groups != c.num_layers or c.inner_group_num != 1:
        raise ValueError("HF-PEFT prefix tuning exports for encoder and decoder-only models without layer sharing")
    stack = params["decoder" if "decoder" in params else "encoder"]
    attentions = [stack[f"layers_{i}"]["attention"] for i in range(c.num_layers)]
    keys_values = [np.stack([a["prefix_key"], a["prefix_value"]]).astype(np.float32) for a in attentions]
    # [layers, 2, n, heads, head_dim] -> per virtual token: layer 0 key, layer 0 value, layer 1 key, ...
    stacked = np.stack(keys_values).transpose(2, 0, 1, 3, 4)
    width = c.num_heads * c.head_dim
    config = dict(
        peft_type="PREFIX_TUNING",
        num_attention_heads=c.num_heads,
        num_layers=c.num_layers,
        num_virtual_tokens=length,
        token_dim=width,
        encoder_hidden_size=width,
        prefix_projection=False,
        num_transformer_submodules=1,
    )
    return config, {"prompt_embeddings": stacked.reshape(length, -1)}, True


def hf_import(model, config: dict, tensors: dict):
    c = model.config
    if c.is_encoder_decoder:
        raise ValueError("HF-PEFT prefix tuning imports for encoder and decoder-only models")
    length = int(config["num_virtual_tokens"])
    stack = "decoder" if c.family == "gpt2" else "encoder"
    embeddings = tensors["prompt_embeddings"]
    layers = embeddings.reshape(length, c.num_layers, 2, c.num_heads, c.head_dim).transpose(1, 2, 0, 3, 4)
    values = {}
    for i in range(c.num_layers):
        attention = (stack, f"layers_{i}", "attention")
        values[(*attention, "prefix_key")], values[(*attention, "prefix_value")] = layers[i, 0], layers[i, 1]
    return Prefix(length=length), values, [TRAINABLE_PLAIN], {"prompt_embeddings"}


METHODS = (
    MethodSpec(
        name="prefix",
        summary="`length` learned key/value slots in every self-attention; hidden_size > 0: MLP reparameterisation",
        defaults=dict(length=10, hidden_size=0),
        settings=settings,
        trainable=trainable,
        settings_class=Prefix,
        param_names=("prefix_key", "prefix_value", "prefix_encoder"),
        no_decay=(r".*/prefix_(key|value)", r".*/prefix_encoder/embedding"),
        logical_axes=("prefix", "prefix_hidden", "prefix_out"),
        hf_peft=HfPeftForm(
            claims=lambda config: config.get("peft_type") == "PREFIX_TUNING", export=hf_export, import_=hf_import
        ),
        recipe=(5e-3, dict(length=20)),
    ),
)
