"""The reparameterisations compute what HF peft's do with the same weights: the P-tuning prompt encoders
(MLP; bidirectional 2-layer LSTM + MLP) and the prefix-tuning MLP."""

import flax.linen as nn
import jax
import numpy as np
import peft as hf_peft
import pytest
import torch

from plmjax.models import preset
from plmjax.peft.methods.prefix import PrefixEncoder
from plmjax.peft.methods.prompt import PTuning, SoftPrompt

CONFIG = preset("bert-base", vocab_size=50, hidden_size=16, num_layers=2, num_heads=2, intermediate_size=24)
LENGTH, HIDDEN = 5, 6


def torch_linear(layer: torch.nn.Linear, params) -> None:
    layer.weight.copy_(torch.tensor(np.asarray(params["kernel"]).T))
    layer.bias.copy_(torch.tensor(np.asarray(params["bias"])))


def random_params(module, seed):
    params = nn.meta.unbox(module.init(jax.random.key(seed))["params"])
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda x: rng.normal(size=x.shape).astype(np.float32) * 0.5, params)


@pytest.mark.parametrize("encoder", ["mlp", "lstm"])
def test_prompt_encoder_matches_peft(encoder):
    module = SoftPrompt(CONFIG, PTuning(length=LENGTH, encoder=encoder, hidden_size=HIDDEN))
    params = random_params(module, seed=1)
    reference = hf_peft.tuners.p_tuning.PromptEncoder(
        hf_peft.PromptEncoderConfig(
            task_type="SEQ_CLS",
            num_virtual_tokens=LENGTH,
            token_dim=16,
            num_transformer_submodules=1,
            num_attention_heads=2,
            num_layers=2,
            encoder_reparameterization_type=encoder.upper(),
            encoder_hidden_size=HIDDEN,
        )
    )
    with torch.no_grad():
        reference.embedding.weight.copy_(torch.tensor(params["embedding"]))
        if encoder == "mlp":
            for index, name in zip((0, 2, 4), ("mlp_0", "mlp_1", "mlp_2"), strict=True):
                torch_linear(reference.mlp_head[index], params[name])
        else:
            for layer in range(2):
                for direction, suffix in (("forward", ""), ("backward", "_reverse")):
                    ours = params[f"lstm_{layer}_{direction}"]
                    lstm = reference.lstm_head
                    getattr(lstm, f"weight_ih_l{layer}{suffix}").copy_(torch.tensor(ours["input_kernel"].T))
                    getattr(lstm, f"weight_hh_l{layer}{suffix}").copy_(torch.tensor(ours["hidden_kernel"].T))
                    getattr(lstm, f"bias_ih_l{layer}{suffix}").copy_(torch.tensor(ours["input_bias"]))
                    getattr(lstm, f"bias_hh_l{layer}{suffix}").copy_(torch.tensor(ours["hidden_bias"]))
            torch_linear(reference.mlp_head[0], params["head_0"])
            torch_linear(reference.mlp_head[2], params["head_1"])
        theirs = reference(torch.arange(LENGTH)[None]).numpy()[0]
    ours = np.asarray(module.apply({"params": params}))
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
    # Same parameter count as peft's encoder (torch's LSTM keeps two biases, so does plmjax's).
    assert sum(x.size for x in jax.tree.leaves(params)) == sum(p.numel() for p in reference.parameters())


def test_prefix_mlp_matches_peft():
    module = PrefixEncoder(CONFIG, num_layers=2, length=LENGTH, hidden_size=HIDDEN)
    params = random_params(module, seed=2)
    reference = hf_peft.tuners.prefix_tuning.PrefixEncoder(
        hf_peft.PrefixTuningConfig(
            task_type="SEQ_CLS",
            num_virtual_tokens=LENGTH,
            token_dim=16,
            num_layers=2,
            num_attention_heads=2,
            prefix_projection=True,
            encoder_hidden_size=HIDDEN,
        )
    )
    with torch.no_grad():
        reference.embedding.weight.copy_(torch.tensor(params["embedding"]))
        torch_linear(reference.transform[0], params["hidden"])
        torch_linear(reference.transform[2], params["output"])
        theirs = reference(torch.arange(LENGTH)[None]).numpy()[0]
    # peft: [tokens, layers * 2 * hidden], per token layer 0 key, layer 0 value, layer 1 key, ...
    ours = np.asarray(module.apply({"params": params}))  # [layers, 2, tokens, heads, head_dim]
    np.testing.assert_allclose(ours.transpose(2, 0, 1, 3, 4).reshape(LENGTH, -1), theirs, atol=1e-5, rtol=0)
