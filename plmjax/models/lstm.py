"""torch.nn.LSTM in Flax, value for value: stacked, bidirectional, with torch's hidden-state projection (LSTMP,
`proj_size`, as ELMo uses), over padded batches as torch runs them packed (pack_padded_sequence).

LSTMDirection is one direction of one layer; LSTM stacks them as torch does. Parameters map one-to-one onto a
torch.nn.LSTM state dict (lstm_params_from_torch / lstm_params_to_torch), kernels transposed:

    weight_ih_l{k}[_reverse] [4H, in]  <->  layers_{k}_{forward|backward}/input_kernel      [in, 4H]
    weight_hh_l{k}[_reverse] [4H, P|H] <->  layers_{k}_{forward|backward}/hidden_kernel     [P|H, 4H]
    bias_ih_l{k}[_reverse]   [4H]      <->  layers_{k}_{forward|backward}/input_bias        [4H]
    bias_hh_l{k}[_reverse]   [4H]      <->  layers_{k}_{forward|backward}/hidden_bias       [4H]
    weight_hr_l{k}[_reverse] [P, H]    <->  layers_{k}_{forward|backward}/projection_kernel [H, P]
"""

import math
import re
from collections.abc import Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from plmjax.models.init import uniform_init

LSTM_AXES = ("lstm_in", "lstm_hidden", "lstm_gates")


def lstm_cell_update(gates, c, cell_clip: float | None = None):
    """torch's LSTM arithmetic for one step: gates = x W_ih + b_ih + h W_hh + b_hh in the order (input, forget,
    cell, output) -> (the new h before any projection, the new c); cell_clip bounds c (ELMo's cell)."""
    i, f, g, o = jnp.split(gates, 4, axis=-1)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    if cell_clip is not None:
        c = jnp.clip(c, -cell_clip, cell_clip)
    return jax.nn.sigmoid(o) * jnp.tanh(c), c


class LSTMDirection(nn.Module):
    """One direction of one LSTM layer: torch's gates (input, forget, cell, output), init and parameters.

    __call__(inputs [batch, length, in], mask [batch, length] or None, initial_state (h [batch, P|H],
    c [batch, H]) or None) -> (outputs [batch, length, P|H], (h, c) after the last real step).

    A step where mask is 0 leaves (h, c) as they are and outputs zeros. With padding at the end of each row,
    the forward direction stops at the row's last real token and the reverse one (reverse=True) starts there:
    torch's results on pack_padded_sequence. proj_size > 0: h = W_hr (o * tanh(c)), torch's LSTMP.
    cell_clip / proj_clip (ELMo's LSTM cell; None in torch): c and the projected h clipped to [-clip, clip].
    axes: logical names of (input features, hidden state, gates); LSTM_AXES by default (replicated).
    """

    hidden_size: int
    reverse: bool = False
    proj_size: int = 0
    axes: tuple[str, str, str] = LSTM_AXES
    cell_clip: float | None = None
    proj_clip: float | None = None

    @nn.compact
    def __call__(self, inputs, mask=None, initial_state=None):
        hidden, gates = self.hidden_size, 4 * self.hidden_size
        state_size = self.proj_size or hidden
        in_axis, hidden_axis, gate_axis = self.axes
        init = uniform_init(1.0 / math.sqrt(hidden))  # torch's: every LSTM parameter U(-1/sqrt(H), 1/sqrt(H))

        def param(name, shape, axes):
            return self.param(name, nn.with_logical_partitioning(init, axes), shape, jnp.float32)

        input_kernel = param("input_kernel", (inputs.shape[-1], gates), (in_axis, gate_axis))
        hidden_kernel = param("hidden_kernel", (state_size, gates), (hidden_axis, gate_axis))
        # Two biases as torch keeps them: only their sum matters, but the import is exact and the count torch's.
        input_bias = param("input_bias", (gates,), (gate_axis,))
        hidden_bias = param("hidden_bias", (gates,), (gate_axis,))
        projection = (
            param("projection_kernel", (hidden, state_size), (hidden_axis, hidden_axis)) if self.proj_size else None
        )

        batch, length = inputs.shape[:2]
        x = jnp.asarray(inputs, jnp.float32)
        # The input's share of every step's gates in one matmul over all steps; the scan does only h @ W_hh.
        x_gates = x @ input_kernel + (input_bias + hidden_bias)
        keep = jnp.ones((batch, length), bool) if mask is None else jnp.asarray(mask).astype(bool)
        if initial_state is None:
            initial_state = (jnp.zeros((batch, state_size), jnp.float32), jnp.zeros((batch, hidden), jnp.float32))

        def step(state, step_inputs):
            h, c = state
            x_gate, real = step_inputs
            new_h, new_c = lstm_cell_update(x_gate + h @ hidden_kernel, c, self.cell_clip)
            if projection is not None:
                new_h = new_h @ projection
                if self.proj_clip is not None:
                    new_h = jnp.clip(new_h, -self.proj_clip, self.proj_clip)
            real = real[:, None]
            state = (jnp.where(real, new_h, h), jnp.where(real, new_c, c))
            return state, jnp.where(real, new_h, 0.0)

        # Time-major for the scan; reverse=True walks the steps backwards and keeps the outputs in input order.
        final, outputs = jax.lax.scan(
            step, tuple(initial_state), (jnp.swapaxes(x_gates, 0, 1), keep.T), reverse=self.reverse
        )
        return jnp.swapaxes(outputs, 0, 1), final


class LSTM(nn.Module):
    """torch.nn.LSTM (batch_first=True): num_layers layers of one or two directions, each layer reading the
    previous one's outputs (forward and backward concatenated), dropout between layers (not after the last).

    __call__(inputs [batch, length, in], mask [batch, length] 0/1 or None, initial_state (h0, c0) or None,
    deterministic) -> (outputs [batch, length, dirs * (P|H)], (h_n, c_n)). States are in torch's layout:
    h [num_layers * dirs, batch, P|H], c [num_layers * dirs, batch, H], index layer * dirs + direction.
    Padded steps (mask 0, at the end of each row) output zeros and h_n, c_n are each row's state at its last
    real token, as torch's LSTM on pack_padded_sequence gives. Submodules: layers_{k}_forward, _backward.
    """

    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    proj_size: int = 0
    dropout: float = 0.0
    axes: tuple[str, str, str] = LSTM_AXES

    @nn.compact
    def __call__(self, inputs, mask=None, initial_state=None, deterministic=True):
        directions = ("forward", "backward") if self.bidirectional else ("forward",)
        x, final_h, final_c = inputs, [], []
        for layer in range(self.num_layers):
            if layer and self.dropout:
                x = nn.Dropout(self.dropout)(x, deterministic=deterministic)
            outputs = []
            for d, direction in enumerate(directions):
                start = None
                if initial_state is not None:
                    index = layer * len(directions) + d
                    start = (initial_state[0][index], initial_state[1][index])
                y, (h, c) = LSTMDirection(
                    self.hidden_size,
                    reverse=direction == "backward",
                    proj_size=self.proj_size,
                    axes=self.axes,
                    name=f"layers_{layer}_{direction}",
                )(x, mask, start)
                outputs.append(y)
                final_h.append(h)
                final_c.append(c)
            x = jnp.concatenate(outputs, axis=-1) if len(outputs) > 1 else outputs[0]
        return x, (jnp.stack(final_h), jnp.stack(final_c))


# (torch name, flax name, transposed): a torch weight is [out, in], a flax kernel [in, out].
_NAMES = (
    ("weight_ih", "input_kernel", True),
    ("weight_hh", "hidden_kernel", True),
    ("bias_ih", "input_bias", False),
    ("bias_hh", "hidden_bias", False),
    ("weight_hr", "projection_kernel", True),
)
_TORCH_KEY = re.compile(r"(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?")


def lstm_params_from_torch(state_dict: Mapping[str, np.ndarray], prefix: str = "") -> dict:
    """The LSTM params tree of a torch.nn.LSTM state dict (arrays; the keys under `prefix`, e.g. "rnn.").

    Strict: a key under prefix that is not an LSTM parameter is an error naming it; layers, directions and
    projection are read from the keys. bias=False LSTMs (no bias keys) are not supported: LSTM always has them.
    """
    params: dict[str, dict[str, np.ndarray]] = {}
    flax_names = {torch_name: (flax_name, transposed) for torch_name, flax_name, transposed in _NAMES}
    unknown = []
    for key, value in state_dict.items():
        if not key.startswith(prefix):
            continue
        match = _TORCH_KEY.fullmatch(key[len(prefix) :])
        if match is None:
            unknown.append(key)
            continue
        torch_name, layer, reverse = match.groups()
        flax_name, transposed = flax_names[torch_name]
        array = np.asarray(value, np.float32)
        module = f"layers_{int(layer)}_{'backward' if reverse else 'forward'}"
        params.setdefault(module, {})[flax_name] = array.T if transposed else array
    if unknown:
        raise ValueError(f"not torch.nn.LSTM parameters: {sorted(unknown)}")
    if not params:
        raise ValueError(f"no torch.nn.LSTM parameters under prefix {prefix!r}")
    for module, leaves in params.items():
        missing = {"input_kernel", "hidden_kernel", "input_bias", "hidden_bias"} - set(leaves)
        if missing:
            raise ValueError(f"{prefix}{module}: missing {sorted(missing)}")
    return params


def lstm_params_to_torch(params: Mapping[str, Mapping[str, np.ndarray]], prefix: str = "") -> dict[str, np.ndarray]:
    """The torch.nn.LSTM state dict (numpy arrays, keys prefixed with `prefix`) of an LSTM params tree."""
    torch_names = {flax_name: (torch_name, transposed) for torch_name, flax_name, transposed in _NAMES}
    state_dict = {}
    for module, leaves in params.items():
        match = re.fullmatch(r"layers_(\d+)_(forward|backward)", module)
        if match is None:
            raise ValueError(f"not an LSTM layer: {module}")
        suffix = f"_l{match.group(1)}" + ("_reverse" if match.group(2) == "backward" else "")
        for flax_name, value in leaves.items():
            if flax_name not in torch_names:
                raise ValueError(f"not an LSTM parameter: {module}/{flax_name}")
            torch_name, transposed = torch_names[flax_name]
            array = np.asarray(value, np.float32)
            state_dict[f"{prefix}{torch_name}{suffix}"] = array.T if transposed else array
    return state_dict
