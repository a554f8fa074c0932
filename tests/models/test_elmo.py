"""ELMo's biLM against its parts composed in PyTorch (torch.nn.LSTM with proj_size per direction and layer, the
residual connection, the character CNN transcription of test_char_cnn), and its loss against the arithmetic."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from plmjax.models.elmo import BEGIN_WORD, END_WORD, PADDING, ElmoBiLM, elmo_char_ids
from plmjax.models.lstm import lstm_params_to_torch
from plmjax.objectives import BidirectionalLM
from tests.models.test_char_cnn import FILTERS, torch_char_cnn

SIZES = dict(vocab_size=11, projection_dim=4, cell_size=6, num_layers=2, char_dim=3, filters=FILTERS, dropout=0.0)


def test_char_ids_are_elmos_byte_encoding():
    ids = elmo_char_ids(["a", "<S>", "héllo"], max_chars=8)
    assert ids[0].tolist() == [BEGIN_WORD + 1, ord("a") + 1, END_WORD + 1] + [PADDING + 1] * 5
    assert ids[1, 1] == 256 + 1  # the sentence start's own character
    assert ids[2, 1:7].tolist() == [b + 1 for b in "héllo".encode()[:6]] and ids[2, 7] == END_WORD + 1  # cut
    assert (ids > 0).all()


@pytest.fixture(scope="module")
def bilm_and_inputs():
    model = ElmoBiLM(**SIZES, cell_clip=None, proj_clip=None)  # torch's LSTM has no clipping
    words = [["the", "cat", "sat", "down"], ["a", "dog", "<S>"]]
    char_ids = np.zeros((2, 4, 8), np.int32)
    for row, sentence in enumerate(words):
        char_ids[row, : len(sentence)] = elmo_char_ids(sentence, 8)
    params = nn.unbox(model.init(jax.random.key(0), jnp.asarray(char_ids))["params"])
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(1), len(leaves))
    params = jax.tree.unflatten(
        tree, [x + 0.3 * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys, strict=True)]
    )
    return model, params, jnp.asarray(char_ids)


def test_bilm_equals_its_parts_composed_in_torch(bilm_and_inputs):
    import torch

    model, params, char_ids = bilm_and_inputs
    out = model.apply({"params": params}, char_ids)
    lengths = [4, 3]
    tokens = torch.tensor(torch_char_cnn(params["token_encoder"], char_ids)) * torch.tensor(
        np.asarray(out["mask"], np.float32)[..., None]
    )
    expected_layers = [torch.cat([tokens, tokens], -1)]
    tops = {}
    for direction in ("forward", "backward"):
        x, outputs = tokens, []
        for layer in range(2):
            lstm = torch.nn.LSTM(4, 6, batch_first=True, proj_size=4)
            state = lstm_params_to_torch({"layers_0_forward": params[f"{direction}_layers_{layer}"]})
            lstm.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
            inputs = x if direction == "forward" else torch.stack([
                torch.cat([x[r, : lengths[r]].flip(0), x[r, lengths[r] :]]) for r in range(2)])  # fmt: skip
            packed = torch.nn.utils.rnn.pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
            h, _ = torch.nn.utils.rnn.pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=4)
            if direction == "backward":
                h = torch.stack([torch.cat([h[r, : lengths[r]].flip(0), h[r, lengths[r] :]]) for r in range(2)])
            x = h + x if layer else h
            outputs.append(x)
        tops[direction] = outputs
    for k in range(2):
        expected_layers.append(torch.cat([tops["forward"][k], tops["backward"][k]], -1))
    for ours, theirs in zip(out["layers"], expected_layers, strict=True):
        real = np.asarray(out["mask"])
        np.testing.assert_allclose(np.asarray(ours)[real], theirs.detach().numpy()[real], atol=1e-5)


def test_bidirectional_lm_objective_is_both_directions_cross_entropies(bilm_and_inputs):
    model, params, char_ids = bilm_and_inputs
    _, forward, backward = model.apply({"params": params}, char_ids, method=ElmoBiLM.language_model)
    word_ids = jnp.array([[1, 2, 3, 4], [5, 6, 7, 0]])
    objective = BidirectionalLM(model)
    batch = {"char_ids": char_ids, "word_ids": word_ids}
    terms, metrics = objective.loss_and_metrics(params, batch)
    lf, lb = jax.nn.log_softmax(forward), jax.nn.log_softmax(backward)
    # Row 0: pairs (0,1), (1,2), (2,3); row 1: (0,1), (1,2); the padded 4th token of row 1 counts nowhere.
    pairs = [(0, 0, 1), (0, 1, 2), (0, 2, 3), (1, 0, 1), (1, 1, 2)]
    f = -sum(lf[r, a, word_ids[r, b]] for r, a, b in pairs)
    b = -sum(lb[r, b_, word_ids[r, a]] for r, a, b_ in pairs)
    np.testing.assert_allclose([terms["forward_lm"][0], terms["backward_lm"][0]], [f, b], rtol=1e-6)
    assert float(terms["forward_lm"][1]) == 5 == float(objective.term_counts(batch)["backward_lm"])
    np.testing.assert_allclose(objective.loss(params, batch), (f + b) / 10, rtol=1e-6)
    # A padding row (weight 0) counts nowhere.
    padded = {**batch, "weights": jnp.array([1.0, 0.0])}
    assert float(objective.term_counts(padded)["forward_lm"]) == 3
    assert set(metrics) == {"forward_accuracy", "backward_accuracy"}


def test_clipping_bounds_the_cell_and_the_projection():
    model = ElmoBiLM(**SIZES, cell_clip=0.05, proj_clip=0.01)
    char_ids = jnp.asarray(elmo_char_ids(["a", "b", "c"], 8))[None]
    params = model.init(jax.random.key(0), char_ids)["params"]
    params = jax.tree.map(lambda x: 5 * x, params)
    out = model.apply({"params": params}, char_ids)
    # The first layer is the clipped projection itself; the second adds its input (the residual).
    assert np.abs(np.asarray(out["layers"][1])).max() <= 0.01 + 1e-7


def test_forward_lm_is_the_bilms_forward_half(bilm_and_inputs):
    """bidirectional=False keeps the token encoder, the forward stack and the softmax (the same parameters, the
    same forward logits) and trains the forward term alone, with weight 1."""
    model, params, char_ids = bilm_and_inputs
    forward_model = ElmoBiLM(**SIZES, cell_clip=None, proj_clip=None, bidirectional=False)
    forward_params = {k: v for k, v in params.items() if not k.startswith("backward")}
    shapes = jax.eval_shape(forward_model.init, jax.random.key(0), char_ids)["params"]
    assert jax.tree.structure(nn.unbox(shapes)) == jax.tree.structure(forward_params)
    out, forward_logits = forward_model.apply({"params": forward_params}, char_ids, method=ElmoBiLM.language_model)
    both, expected, _ = model.apply({"params": params}, char_ids, method=ElmoBiLM.language_model)
    np.testing.assert_allclose(forward_logits, expected, atol=1e-6)
    assert len(out["layers"]) == 3 and out["layers"][0].shape[-1] == 4 and "backward" not in out
    np.testing.assert_allclose(out["layers"][2], both["layers"][2][..., :4], atol=1e-6)
    objective, bilm = BidirectionalLM(forward_model), BidirectionalLM(model)
    batch = {"char_ids": char_ids, "word_ids": jnp.array([[1, 2, 3, 4], [5, 6, 7, 0]])}
    assert objective.term_weights == {"forward_lm": 1.0}
    terms, _ = objective.loss_and_metrics(forward_params, batch)
    np.testing.assert_allclose(terms["forward_lm"][0], bilm.loss_and_metrics(params, batch)[0]["forward_lm"][0])
    np.testing.assert_allclose(objective.loss(forward_params, batch), terms["forward_lm"][0] / 5, rtol=1e-6)
