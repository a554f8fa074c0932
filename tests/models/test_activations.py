"""Activations against torch's, values and gradients, including the tails."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from plmjax.models.activations import activation

TORCH = {
    "gelu": torch.nn.functional.gelu,
    "gelu_new": lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
    "relu": torch.relu,
    "silu": torch.nn.functional.silu,
    "tanh": torch.tanh,
}


@pytest.mark.parametrize("name", sorted(TORCH))
def test_activation_and_its_gradient_match_torch(name):
    x = np.concatenate([np.linspace(-12, 12, 4001), np.random.default_rng(0).normal(0, 3, 4000)]).astype(np.float32)
    cotangent = np.random.default_rng(1).normal(size=x.shape).astype(np.float32)
    fn = activation(name)
    value, grad = jax.value_and_grad(lambda x: jnp.vdot(fn(x), cotangent))(jnp.asarray(x))
    y = np.asarray(jax.jit(fn)(x))

    xt = torch.from_numpy(x.copy()).requires_grad_()
    yt = TORCH[name](xt)
    (yt * torch.from_numpy(cotangent)).sum().backward()
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-6, atol=2e-6)
    # atol: in the saturated tail of gelu_new (x ~ -5) torch keeps gradients of ~3e-6 where JAX has 0.
    np.testing.assert_allclose(np.asarray(grad), xt.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_exact_gelu_is_not_the_tanh_approximation():
    x = jnp.asarray([-3.0, -1.0, 0.5, 2.0])
    assert np.abs(np.asarray(activation("gelu")(x) - activation("gelu_new")(x))).max() > 1e-4


def test_gelu_rounds_the_far_negative_tail_to_zero_as_torch_does():
    x = np.asarray([-6.0, -9.0, -20.0], np.float32)
    np.testing.assert_array_equal(np.asarray(activation("gelu")(x)), torch.nn.functional.gelu(torch.from_numpy(x)))
