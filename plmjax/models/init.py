"""Parameter initialisation for any plmjax model."""

import flax.linen as nn
import jax
import jax.numpy as jnp


def uniform_init(scale: float = 0.5):
    """U(-scale, scale): torch's LSTM init (scale 1/sqrt(hidden)) and Lester et al.'s soft prompts (0.5)."""

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -scale, scale)

    return init


def _dummy_args(model: nn.Module, *size) -> tuple:
    """model.dummy_inputs(...) as positional arguments (a model with several inputs gives a tuple)."""
    inputs = model.dummy_inputs(*size)
    return inputs if isinstance(inputs, tuple) else (inputs,)


def init_params(model: nn.Module, rng: jax.Array, batch: int = 1, length: int = 8):
    """Fresh parameters as plain arrays (logical-axis boxes removed)."""
    variables = jax.jit(model.init)(rng, *_dummy_args(model, batch, length))
    return nn.meta.unbox(variables["params"])


def abstract_params(model: nn.Module, boxed: bool = False):
    """Shapes and dtypes of the parameters without computing them; boxed keeps the logical axes."""
    variables = jax.eval_shape(model.init, jax.random.key(0), *_dummy_args(model))
    params = variables["params"]
    return params if boxed else nn.meta.unbox(params)
