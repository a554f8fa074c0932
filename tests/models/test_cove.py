"""CoVe: the MT-LSTM's encoder is torch.nn.LSTM (2 layers, bidirectional) and its attentional decoder equals a
PyTorch transcription of the paper's equations (torch.nn.LSTMCell stack with input feeding, general attention
over the unpadded source, h~ = tanh(W_c [c; h]), W_o h~) with the same weights."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from plmjax.models.cove import CoveEncoder, CoveSeq2Seq, cove_features
from plmjax.models.lstm import lstm_params_to_torch

SOURCE = jnp.array([[5, 6, 7, 8], [9, 10, 0, 0]])
SOURCE_MASK = (SOURCE > 0).astype(jnp.int32)
TARGET = jnp.array([[3, 4, 2], [5, 2, 2]])


def random_params(model, *args):
    params = nn.unbox(model.init(jax.random.key(0), *args)["params"])
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(1), len(leaves))
    return jax.tree.unflatten(
        tree, [x + 0.3 * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys, strict=True)]
    )


def test_seq2seq_equals_the_papers_equations_in_torch():
    import torch

    model = CoveSeq2Seq(source_vocab=12, target_vocab=6, embed_dim=5, hidden_size=4, num_layers=2, bos_id=1)
    params = random_params(model, SOURCE, SOURCE_MASK, TARGET)
    logits = model.apply({"params": params}, SOURCE, SOURCE_MASK, TARGET)
    t = lambda a: torch.tensor(np.asarray(a))  # noqa: E731

    # Encoder: torch.nn.LSTM on the packed source.
    lstm = torch.nn.LSTM(5, 4, num_layers=2, bidirectional=True, batch_first=True)
    lstm.load_state_dict({k: t(v) for k, v in lstm_params_to_torch(params["encoder"]["lstm"]).items()})
    source = t(params["source_embedding"]["embedding"])[t(SOURCE)]
    packed = torch.nn.utils.rnn.pack_padded_sequence(source, [4, 2], batch_first=True)
    encoded, _ = torch.nn.utils.rnn.pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=4)

    # Decoder: teacher forcing from the start symbol, input feeding, general attention.
    d = params["decoder"]
    cells = []
    for k in range(2):
        cell = torch.nn.LSTMCell(5 + 4 if k == 0 else 4, 4)
        p = d[f"cell_{k}"]
        cell.load_state_dict({"weight_ih": t(p["input_kernel"]).T, "weight_hh": t(p["hidden_kernel"]).T,
                              "bias_ih": t(p["input_bias"]), "bias_hh": t(p["hidden_bias"])})  # fmt: skip
        cells.append(cell)
    previous = torch.cat([torch.ones(2, 1, dtype=torch.long), t(TARGET)[:, :-1].long()], 1)
    inputs = t(d["embedding"]["embedding"])[previous]
    state = [(torch.zeros(2, 4), torch.zeros(2, 4)) for _ in cells]
    feed, expected = torch.zeros(2, 4), []
    keys = encoded @ t(d["attention"]["kernel"])
    for step in range(3):
        x = torch.cat([inputs[:, step], feed], -1)
        for k, cell in enumerate(cells):
            state[k] = cell(x, state[k])
            x = state[k][0]
        scores = torch.einsum("bh,bsh->bs", x, keys).masked_fill(t(SOURCE_MASK) == 0, float("-inf"))
        context = torch.einsum("bs,bse->be", torch.softmax(scores, -1), encoded)
        feed = torch.tanh(torch.cat([context, x], -1) @ t(d["combine"]["kernel"]))
        expected.append(feed @ t(d["output"]["kernel"]) + t(d["output"]["bias"]))
    np.testing.assert_allclose(np.asarray(logits), torch.stack(expected, 1).detach().numpy(), atol=1e-5)


def test_cove_features_are_the_word_vectors_then_the_encoder_outputs():
    encoder = CoveEncoder(hidden_size=3, num_layers=2)
    vectors = jax.random.normal(jax.random.key(2), (2, 4, 5))
    params = encoder.init(jax.random.key(0), vectors, SOURCE_MASK)["params"]
    cove = encoder.apply({"params": params}, vectors, SOURCE_MASK)
    features = cove_features(vectors, cove)
    assert features.shape == (2, 4, 5 + 6)
    np.testing.assert_array_equal(features[..., :5], vectors)
    np.testing.assert_array_equal(features[1, 2:, 5:], 0)  # padded source positions carry no context vector


def test_translation_objective_is_the_decoders_cross_entropy_with_unknown_targets_mapped():
    """Target ids past the target vocabulary become unk_id, as the decoder's inputs and as its labels; padded
    target positions and padding rows count nowhere."""
    from plmjax.objectives import AttentionalTranslation

    model = CoveSeq2Seq(source_vocab=12, target_vocab=6, embed_dim=5, hidden_size=4, num_layers=2, bos_id=1)
    params = random_params(model, SOURCE, SOURCE_MASK, TARGET)
    objective = AttentionalTranslation(model, unk_id=3)
    target_ids = jnp.array([[4, 9, 2], [5, 2, 0]])  # 9 is past the 6-word target vocabulary
    batch = {
        "input_ids": SOURCE, "attention_mask": SOURCE_MASK, "target_ids": target_ids,
        "target_weights": jnp.array([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]]), "weights": jnp.array([1.0, 1.0]),
    }  # fmt: skip
    mapped = jnp.array([[4, 3, 2], [5, 2, 0]])
    log_probs = jax.nn.log_softmax(model.apply({"params": params}, SOURCE, SOURCE_MASK, mapped))
    cells = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    expected = -sum(float(log_probs[r, t, mapped[r, t]]) for r, t in cells)
    terms, metrics = objective.loss_and_metrics(params, batch)
    np.testing.assert_allclose(terms["translation"], (expected, 5.0), rtol=1e-6)
    np.testing.assert_allclose(objective.loss(params, batch), expected / 5, rtol=1e-6)
    padded = {**batch, "weights": jnp.array([1.0, 0.0])}
    assert float(objective.term_counts(padded)["translation"]) == 3 and set(metrics) == {"accuracy"}
