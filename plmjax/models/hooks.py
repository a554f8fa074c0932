"""Hook points: the places where a parameter-efficient method changes what a model computes.

A model's config carries `peft: PeftConfig`, the tuple of the methods turned on (one frozen settings object
each, in the order they were applied). The models never name a method: at each hook point they ask every
method in turn, through the dispatchers of PeftConfig. A method's settings class (in plmjax/peft/methods/)
subclasses MethodHooks and overrides the hooks it needs; the defaults change nothing, so a model with no method
on computes exactly as it would without hooks.

| hook | called from | used by |
|---|---|---|
| `adapts_dense`, `dense_input`, `dense_weight_output`, `dense_output` | each `layers.dense` | IA3, LoRA, DoRA |
| `after_branch(layer, site, h)` | `TransformerLayer`, each residual branch | bottleneck adapters |
| `model_modules(config)`, `model_extras(model)` | the model's setup and call | soft prompts |
| `word_vectors(config, lookup, ids, x, extra)`, `leading_tokens` | `Embeddings`, attention masks | soft prompts |
| `stack_modules(config, num_layers)`, `layer_extras(stack)` | `TransformerStack` setup and call | prefix MLP |
| `self_attention_kv(attention, key, value, bias, extra)`, `position_offset` | self-attention | prefix |

Hooks that create parameters do it in the calling module's scope (`module.param(...)`, or a submodule built
inside the call), so a method's parameters sit next to the base parameters they adapt.
"""

import dataclasses
from collections.abc import Callable
from typing import ClassVar

import jax.numpy as jnp


class MethodHooks:
    """The hooks a method may override (see the module docstring); every default leaves the model as it is.

    Subclasses are frozen dataclasses (models hash their config) with a `name` class variable.
    """

    name: ClassVar[str] = ""

    # --- Dense layers: y = output(weight_output(input(x) W) + b), each stage over the methods in order ---

    def adapts_dense(self, kernel_path: str) -> bool:
        """Whether the Dense whose kernel is at kernel_path ("encoder/layers_0/attention/query/kernel") runs
        this method's dense hooks."""
        return False

    def dense_input(self, module, kernel_path: str, x):
        """The input of the kernel's matmul (the base matmul only; weight_output hooks see the layer input)."""
        return x

    def dense_weight_output(self, module, kernel_path: str, x, kernel, y):
        """y = input(x) W, before the bias; x is the layer's own input."""
        return y

    def dense_output(self, module, kernel_path: str, y):
        """The layer's output, bias included."""
        return y

    # --- the Transformer layer ---

    def after_branch(self, layer, site: str, h):
        """A residual branch's output (site "attention" or "mlp"), before it is added back."""
        return h

    # --- the model's inputs ---

    def model_modules(self, config) -> dict:
        """{attribute name: module} the model creates in its setup for this method."""
        return {}

    def model_extras(self, model):
        """A value computed once per call from the method's model modules, handed to word_vectors."""
        return None

    def word_vectors(self, config, lookup: Callable, input_ids, x, extra):
        """The input's word vectors [batch, length, embed]; may add tokens in front. x: what the methods before
        made of them, None when none did (then lookup(ids) embeds ids as the model does)."""
        return x

    @property
    def leading_tokens(self) -> int:
        """Tokens the method puts in front of the input (the attention mask, token types and positions count
        them)."""
        return 0

    # --- self-attention ---

    def stack_modules(self, config, num_layers: int) -> dict:
        """{attribute name: module} a TransformerStack creates in its setup (num_layers distinct layers)."""
        return {}

    def layer_extras(self, stack):
        """Per distinct layer of a stack, a value handed to that layer's self_attention_kv (or None)."""
        return None

    def self_attention_kv(self, attention, key, value, bias, extra):
        """(key, value, bias) of a self-attention layer: keys and values [batch, heads, keys, head_dim], bias
        [batch, 1, queries, keys] or None."""
        return key, value, bias

    @property
    def position_offset(self) -> int:
        """Absolute positions taken before the input's (prefix tuning's prefix occupies the first ones)."""
        return 0


@dataclasses.dataclass(frozen=True)
class PeftConfig:
    """The methods turned on in a model, in the order they were applied, and the dispatchers the models call."""

    methods: tuple[MethodHooks, ...] = ()

    def __post_init__(self):
        names = [method.name for method in self.methods]
        if len(set(names)) != len(names):
            raise ValueError(f"a method is on twice: {names}")

    @property
    def is_off(self) -> bool:
        return not self.methods

    def describe(self) -> list[dict]:
        """JSON: each method's name and settings, in order (plmjax.peft.io reads it back)."""
        return [{"method": method.name, **dataclasses.asdict(method)} for method in self.methods]

    def get(self, name: str) -> MethodHooks | None:
        """The settings of the method called name, or None when it is off."""
        return next((method for method in self.methods if method.name == name), None)

    def without(self, name: str) -> "PeftConfig":
        return PeftConfig(tuple(method for method in self.methods if method.name != name))

    def replacing(self, method: MethodHooks) -> "PeftConfig":
        """This config with the method of the same name replaced by `method`."""
        return PeftConfig(tuple(method if m.name == method.name else m for m in self.methods))

    # --- dispatch ---

    @property
    def adapts_dense_layers(self) -> bool:
        """Whether some method has dense hooks (the models then build hooked Dense layers)."""
        return any(type(method).adapts_dense is not MethodHooks.adapts_dense for method in self.methods)

    def dense_methods(self, kernel_path: str) -> list[MethodHooks]:
        return [method for method in self.methods if method.adapts_dense(kernel_path)]

    def after_branch(self, layer, site: str, h):
        for method in self.methods:
            h = method.after_branch(layer, site, h)
        return h

    def model_modules(self, config) -> dict:
        return {name: module for method in self.methods for name, module in method.model_modules(config).items()}

    def model_extras(self, model) -> tuple:
        return tuple(method.model_extras(model) for method in self.methods)

    def word_vectors(self, config, lookup: Callable, input_ids, extras: tuple | None = None):
        x = None
        for method, extra in zip(self.methods, extras or (None,) * len(self.methods), strict=True):
            x = method.word_vectors(config, lookup, input_ids, x, extra)
        return lookup(input_ids) if x is None else x

    @property
    def leading_tokens(self) -> int:
        return sum(method.leading_tokens for method in self.methods)

    def input_mask(self, attention_mask):
        """The attention mask over [leading tokens, input]: ones for the leading tokens (None stays None)."""
        length = self.leading_tokens
        if not length or attention_mask is None:
            return attention_mask
        attention_mask = jnp.asarray(attention_mask)
        ones = jnp.ones((attention_mask.shape[0], length), attention_mask.dtype)
        return jnp.concatenate([ones, attention_mask], axis=1)

    def stack_modules(self, config, num_layers: int) -> dict:
        return {
            name: module for method in self.methods for name, module in method.stack_modules(config, num_layers).items()
        }

    def layer_extras(self, stack, num_layers: int) -> list[tuple]:
        """Per distinct layer, the tuple of the methods' extras."""
        per_method = [method.layer_extras(stack) for method in self.methods]
        return [tuple(None if e is None else e[i] for e in per_method) for i in range(num_layers)]

    def self_attention_kv(self, attention, key, value, bias, extras: tuple | None = None):
        for method, extra in zip(self.methods, extras or (None,) * len(self.methods), strict=True):
            key, value, bias = method.self_attention_kv(attention, key, value, bias, extra)
        return key, value, bias

    @property
    def position_offset(self) -> int:
        return sum(method.position_offset for method in self.methods)
