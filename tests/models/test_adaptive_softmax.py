"""The adaptive softmax (Transformer-XL's option) equals torch.nn.AdaptiveLogSoftmaxWithLoss with the same weights,
alone and as a Transformer-XL decoder's LM head under the causal-LM objective."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from plmjax.models.adaptive_softmax import AdaptiveLogSoftmax, cluster_widths
from plmjax.models.config import TransformerConfig
from plmjax.models.decoder import DecoderModel
from plmjax.models.presets import TRANSFORMER_XL_ARCHITECTURE
from plmjax.objectives import CausalLM

CONFIG = TransformerConfig(
    **TRANSFORMER_XL_ARCHITECTURE, vocab_size=50, hidden_size=16, num_layers=2, num_heads=2, intermediate_size=32,
    tie_word_embeddings=False, adaptive_softmax_cutoffs=(10, 30), adaptive_softmax_div_value=2.0,
    hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
)  # fmt: skip


def torch_adaptive_softmax(params):
    """torch.nn.AdaptiveLogSoftmaxWithLoss holding the module's weights (torch stores kernels transposed)."""
    import torch

    torch_module = torch.nn.AdaptiveLogSoftmaxWithLoss(16, 50, cutoffs=[10, 30], div_value=2.0)
    state = {"head.weight": params["head"]["kernel"].T}
    for i in range(2):
        state[f"tail.{i}.0.weight"] = params[f"tail_{i}_projection"]["kernel"].T
        state[f"tail.{i}.1.weight"] = params[f"tail_{i}_output"]["kernel"].T
    torch_module.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in state.items()})
    return torch_module


def test_log_probabilities_and_loss_equal_torchs():
    import torch

    module = AdaptiveLogSoftmax(CONFIG)
    hidden = jax.random.normal(jax.random.key(0), (3, 5, 16))
    params = jax.tree.map(lambda x: 3 * x, module.init(jax.random.key(1), hidden)["params"])  # sharper tails
    params = jax.tree.map(np.asarray, nn.unbox(params))
    assert cluster_widths(16, 2, 2.0) == (8, 4) and params["tail_1_projection"]["kernel"].shape == (16, 4)
    log_probs = np.asarray(module.apply({"params": params}, hidden))
    np.testing.assert_allclose(jax.nn.logsumexp(log_probs, axis=-1), 0.0, atol=1e-5)
    reference = torch_adaptive_softmax(params)
    flat = torch.tensor(np.asarray(hidden).reshape(15, 16))
    np.testing.assert_allclose(log_probs.reshape(15, 50), reference.log_prob(flat).detach().numpy(), atol=1e-5)
    targets = np.array([0, 9, 10, 29, 30, 49, 5, 12, 40, 1, 2, 3, 33, 20, 11])
    torch_loss = reference(flat, torch.tensor(targets)).loss.item()
    np.testing.assert_allclose(-log_probs.reshape(15, 50)[np.arange(15), targets].mean(), torch_loss, rtol=1e-5)


def test_transformer_xl_trains_through_the_adaptive_softmax():
    """As the LM head its log-probabilities are the logits: the causal-LM loss is torch's adaptive NLL of the
    final hidden states."""
    import torch

    model = DecoderModel(CONFIG, head="lm")
    ids = jax.random.randint(jax.random.key(2), (2, 7), 0, 50)
    params = nn.unbox(model.init(jax.random.key(3), ids)["params"])
    out = model.apply({"params": params}, ids)
    assert set(params["lm_head"]) == {
        "head",
        "tail_0_projection",
        "tail_0_output",
        "tail_1_projection",
        "tail_1_output",
    }
    objective = CausalLM(model, 7)
    batch = {"input_ids": ids, "attention_mask": jnp.ones_like(ids), "target_ids": jnp.roll(ids, -1, axis=1),
             "target_weights": jnp.ones((2, 7), jnp.float32)}  # fmt: skip
    reference = torch_adaptive_softmax(jax.tree.map(np.asarray, params["lm_head"]))
    hidden = torch.tensor(np.asarray(out.last_hidden_state).reshape(14, 16))
    expected = reference(hidden, torch.tensor(np.asarray(batch["target_ids"]).reshape(14))).loss.item()
    np.testing.assert_allclose(objective.loss(params, batch), expected, rtol=1e-5)


def test_bad_cutoffs_are_errors():
    fields = {**TRANSFORMER_XL_ARCHITECTURE, "vocab_size": 50, "hidden_size": 16, "num_heads": 2}
    with pytest.raises(ValueError, match="must increase strictly"):
        TransformerConfig(**fields, tie_word_embeddings=False, adaptive_softmax_cutoffs=[30, 10])
    with pytest.raises(ValueError, match="must increase strictly"):
        TransformerConfig(**fields, tie_word_embeddings=False, adaptive_softmax_cutoffs=(10, 50))
    with pytest.raises(ValueError, match="tie_word_embeddings=False"):
        TransformerConfig(**fields, adaptive_softmax_cutoffs=(10, 30))
    assert TransformerConfig(
        **fields, tie_word_embeddings=False, adaptive_softmax_cutoffs=[10]
    ).adaptive_softmax_cutoffs == (10,)
