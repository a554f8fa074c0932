"""The parameter shapes of a model, without computing its parameters."""

import functools

import flax.linen as nn
import jax
from flax import traverse_util


@functools.lru_cache(maxsize=32)
def abstract_params(model: nn.Module) -> dict:
    """{path tuple: ShapeDtypeStruct} of every parameter of model (models are hashable; cached)."""
    variables = jax.eval_shape(model.init, jax.random.key(0), model.dummy_inputs())
    return traverse_util.flatten_dict(nn.meta.unbox(variables["params"]))
