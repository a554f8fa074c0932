"""plmjax.models.lstm against torch.nn.LSTM with the same random weights: outputs, final states and gradients,
padded rows run through pack_padded_sequence on the torch side."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import traverse_util

from plmjax.models.lstm import LSTM, lstm_params_from_torch, lstm_params_to_torch

INPUT, HIDDEN, LAYERS, BATCH, LENGTH = 7, 5, 2, 3, 6
LENGTHS = np.array([4, 6, 2])  # unsorted: torch packs them with enforce_sorted=False
FULL = np.full(BATCH, LENGTH)


def torch_lstm(bidirectional: bool, proj_size: int, seed: int = 0):
    import torch

    torch.manual_seed(seed)
    lstm = torch.nn.LSTM(
        INPUT, HIDDEN, num_layers=LAYERS, bidirectional=bidirectional, proj_size=proj_size, batch_first=True
    )
    with torch.no_grad():  # wider than torch's U(-1/sqrt(5), ...) init, so that saturating gates show up too
        for p in lstm.parameters():
            p.uniform_(-0.8, 0.8)
    return lstm


def run_torch(lstm, x: np.ndarray, lengths: np.ndarray, initial_state=None):
    """(outputs, h_n, c_n) as torch tensors; rows shorter than LENGTH go through pack_padded_sequence."""
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    inputs = x if isinstance(x, torch.Tensor) else torch.tensor(x)
    hx = None if initial_state is None else tuple(torch.tensor(s) for s in initial_state)
    if (lengths == LENGTH).all():
        outputs, (h, c) = lstm(inputs, hx)
        return outputs, h, c
    packed = pack_padded_sequence(inputs, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    outputs, (h, c) = lstm(packed, hx)
    outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=LENGTH)
    return outputs, h, c


def mask_of(lengths: np.ndarray) -> jnp.ndarray:
    return jnp.asarray(np.arange(LENGTH)[None, :] < lengths[:, None], jnp.int32)


def flax_lstm(bidirectional: bool, proj_size: int) -> LSTM:
    return LSTM(HIDDEN, num_layers=LAYERS, bidirectional=bidirectional, proj_size=proj_size)


def state_dict_of(lstm) -> dict:
    return {k: v.detach().numpy() for k, v in lstm.state_dict().items()}


def inputs(seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(BATCH, LENGTH, INPUT)).astype(np.float32)


def assert_close(actual, expected, atol=1e-5):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=0, atol=atol)


@pytest.mark.parametrize(
    "bidirectional, proj_size, lengths",
    [
        (False, 0, FULL),
        (False, 0, LENGTHS),
        (True, 0, FULL),
        (True, 0, LENGTHS),
        (False, 3, FULL),
        (True, 3, LENGTHS),
    ],
    ids=["uni", "uni-padded", "bi", "bi-padded", "proj", "bi-proj-padded"],
)
def test_outputs_and_final_states_equal_torch(bidirectional, proj_size, lengths):
    lstm = torch_lstm(bidirectional, proj_size)
    x = inputs()
    expected, h, c = run_torch(lstm, x, lengths)
    params = lstm_params_from_torch(state_dict_of(lstm))
    mask = None if (lengths == LENGTH).all() else mask_of(lengths)
    outputs, (h_n, c_n) = flax_lstm(bidirectional, proj_size).apply({"params": params}, jnp.asarray(x), mask)
    assert_close(outputs, expected.detach().numpy())
    assert_close(h_n, h.detach().numpy())
    assert_close(c_n, c.detach().numpy())
    if mask is not None:
        assert np.all(np.asarray(outputs)[np.asarray(mask) == 0] == 0)


def test_initial_state_goes_where_torch_puts_it():
    lstm = torch_lstm(True, 3)
    x = inputs()
    rng = np.random.default_rng(2)
    h0 = rng.normal(size=(LAYERS * 2, BATCH, 3)).astype(np.float32)
    c0 = rng.normal(size=(LAYERS * 2, BATCH, HIDDEN)).astype(np.float32)
    expected, h, c = run_torch(lstm, x, LENGTHS, (h0, c0))
    params = lstm_params_from_torch(state_dict_of(lstm))
    outputs, (h_n, c_n) = flax_lstm(True, 3).apply({"params": params}, x, mask_of(LENGTHS), (h0, c0))
    assert_close(outputs, expected.detach().numpy())
    assert_close(h_n, h.detach().numpy())
    assert_close(c_n, c.detach().numpy())


def test_gradients_equal_torch_autograd():
    """d/d(params, inputs) of a weighted sum of outputs and final states, padded and bidirectional with proj."""
    import torch

    lstm = torch_lstm(True, 3)
    x = inputs()
    rng = np.random.default_rng(3)
    weights = [rng.normal(size=shape).astype(np.float32) for shape in [(BATCH, LENGTH, 6), (4, BATCH, 3)]]
    x_torch = torch.tensor(x, requires_grad=True)
    outputs, h, _ = run_torch(lstm, x_torch, LENGTHS)
    (torch.sum(outputs * torch.tensor(weights[0])) + torch.sum(h * torch.tensor(weights[1]))).backward()
    expected = lstm_params_from_torch({k: p.grad.numpy() for k, p in lstm.named_parameters()})

    model = flax_lstm(True, 3)

    def loss(params, x):
        outputs, (h, _) = model.apply({"params": params}, x, mask_of(LENGTHS))
        return jnp.sum(outputs * weights[0]) + jnp.sum(h * weights[1])

    grads, x_grad = jax.grad(loss, argnums=(0, 1))(lstm_params_from_torch(state_dict_of(lstm)), jnp.asarray(x))
    assert_close(x_grad, x_torch.grad.numpy())
    flat, flat_expected = traverse_util.flatten_dict(grads), traverse_util.flatten_dict(expected)
    assert flat.keys() == flat_expected.keys()
    for path, value in flat_expected.items():
        assert np.abs(value).max() > 0, path
        assert_close(flat[path], value)


@pytest.mark.parametrize("bidirectional, proj_size", [(True, 3)])
def test_init_has_the_torch_layout_and_logical_axes(bidirectional, proj_size):
    model = flax_lstm(bidirectional, proj_size)
    boxed = model.init(jax.random.key(0), jnp.zeros((BATCH, LENGTH, INPUT)))["params"]
    for path, leaf in traverse_util.flatten_dict(boxed).items():
        assert len(leaf.names) == leaf.value.ndim, path
    shapes = jax.tree.map(np.shape, nn.meta.unbox(boxed))
    expected = lstm_params_from_torch(state_dict_of(torch_lstm(bidirectional, proj_size)))
    assert shapes == jax.tree.map(np.shape, expected)
    # torch's init: U(-1/sqrt(H), 1/sqrt(H))
    assert max(float(jnp.abs(leaf).max()) for leaf in jax.tree.leaves(nn.meta.unbox(boxed))) <= 1 / np.sqrt(HIDDEN)


def test_state_dict_round_trip_and_strictness():
    state_dict = state_dict_of(torch_lstm(True, 3))
    back = lstm_params_to_torch(lstm_params_from_torch(state_dict))
    assert back.keys() == state_dict.keys()
    for key, value in state_dict.items():
        np.testing.assert_array_equal(back[key], value)
    prefixed = lstm_params_to_torch(lstm_params_from_torch(state_dict), prefix="rnn.")
    assert set(prefixed) == {f"rnn.{key}" for key in state_dict}
    assert lstm_params_from_torch({**prefixed, "other.weight": np.zeros(1)}, prefix="rnn.").keys() == {
        "layers_0_forward",
        "layers_0_backward",
        "layers_1_forward",
        "layers_1_backward",
    }
    with pytest.raises(ValueError, match="rnn.weight_xx_l0"):
        lstm_params_from_torch({**prefixed, "rnn.weight_xx_l0": np.zeros(1)}, prefix="rnn.")
    with pytest.raises(ValueError, match="hidden_bias"):
        lstm_params_from_torch({k: v for k, v in state_dict.items() if k != "bias_hh_l1"})


def test_dropout_between_layers_only_when_not_deterministic():
    model = LSTM(HIDDEN, num_layers=LAYERS, dropout=0.5)
    x = jnp.asarray(inputs())
    params = model.init(jax.random.key(0), x)["params"]
    plain, _ = LSTM(HIDDEN, num_layers=LAYERS).apply({"params": params}, x)
    kept, _ = model.apply({"params": params}, x)
    dropped, _ = model.apply({"params": params}, x, deterministic=False, rngs={"dropout": jax.random.key(1)})
    np.testing.assert_array_equal(kept, plain)
    assert not np.allclose(dropped, plain)
