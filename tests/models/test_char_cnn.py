"""ELMo's character encoder and scalar mix against a PyTorch transcription of bilm-tf's arithmetic (conv per
filter width, max over characters, activation, highway, projection) with the same weights."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from plmjax.models.char_cnn import CharCNNEncoder, ScalarMix

FILTERS = ((1, 4), (2, 5), (3, 6))


def torch_char_cnn(params, char_ids, activation="relu", highway_layers=2):
    import torch

    t = lambda a: torch.tensor(np.asarray(a))  # noqa: E731
    act = torch.relu if activation == "relu" else torch.tanh
    chars = t(params["char_embedding"]["embedding"])[torch.tensor(np.asarray(char_ids))]
    batch, tokens, max_chars, dim = chars.shape
    chars = chars.reshape(batch * tokens, max_chars, dim).transpose(1, 2)  # torch's [N, channels, length]
    pooled = []
    for index in range(len(FILTERS)):
        conv = params[f"conv_{index}"]
        weight = t(conv["kernel"]).permute(2, 1, 0)  # [width, in, out] -> torch's [out, in, width]
        out = torch.nn.functional.conv1d(chars, weight, t(conv["bias"]))
        pooled.append(act(out.max(dim=2).values))
    x = torch.cat(pooled, dim=-1)
    for index in range(highway_layers):
        h = params[f"highway_{index}"]
        g = torch.sigmoid(x @ t(h["carry"]["kernel"]) + t(h["carry"]["bias"]))
        x = g * torch.relu(x @ t(h["transform"]["kernel"]) + t(h["transform"]["bias"])) + (1 - g) * x
    x = x @ t(params["projection"]["kernel"]) + t(params["projection"]["bias"])
    return x.reshape(batch, tokens, -1).numpy()


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_char_cnn_equals_the_reference_arithmetic(activation):
    model = CharCNNEncoder(num_chars=30, char_dim=3, filters=FILTERS, projection_dim=7, activation=activation)
    char_ids = jax.random.randint(jax.random.key(0), (2, 5, 6), 0, 30)
    params = model.init(jax.random.key(1), char_ids)["params"]
    # Random biases too: zero-initialised ones would hide a bias wired to the wrong place.
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(2), len(leaves))
    params = jax.tree.unflatten(
        tree, [leaf + 0.3 * jax.random.normal(k, leaf.shape) for leaf, k in zip(leaves, keys, strict=True)]
    )
    ours = model.apply({"params": params}, char_ids)
    assert ours.shape == (2, 5, 7)
    np.testing.assert_allclose(np.asarray(ours), torch_char_cnn(params, char_ids, activation), atol=1e-5)


def test_char_cnn_rejects_a_filter_wider_than_the_token():
    model = CharCNNEncoder(num_chars=30, char_dim=3, filters=((4, 2),), projection_dim=7)
    with pytest.raises(ValueError, match="width 4"):
        model.init(jax.random.key(0), jnp.zeros((1, 2, 3), jnp.int32))


def test_scalar_mix_is_gamma_times_the_softmax_weighted_sum():
    layers = [jax.random.normal(jax.random.key(k), (2, 4, 3)) for k in range(3)]
    mask = jnp.array([[1, 1, 1, 0], [1, 1, 0, 0]])
    params = {"scalars": jnp.array([0.5, -1.0, 2.0]), "gamma": jnp.array(1.7)}
    w = np.exp(params["scalars"]) / np.exp(params["scalars"]).sum()
    plain = ScalarMix(3).apply({"params": params}, layers)
    np.testing.assert_allclose(plain, 1.7 * sum(wk * np.asarray(h) for wk, h in zip(w, layers, strict=True)), atol=1e-6)
    normed = ScalarMix(3, layer_norm=True).apply({"params": params}, layers, mask)
    expected = 0
    for wk, h in zip(w, layers, strict=True):
        real = np.asarray(h)[np.asarray(mask, bool)]  # the statistics of the unmasked positions only
        expected = expected + wk * (np.asarray(h) - real.mean()) / np.sqrt(real.var() + 1e-12)
    np.testing.assert_allclose(normed, 1.7 * expected, atol=1e-5)
    with pytest.raises(ValueError, match="got 2"):
        ScalarMix(3).apply({"params": params}, layers[:2])
