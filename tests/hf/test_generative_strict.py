"""Strict import for GPT-2, BART and T5: an unknown or missing tensor is an error that lists it; the buffers
and tied copies older checkpoints carry load."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import plmjax
from plmjax.hf import CheckpointMismatchError
from tests.hf.checkpoint_checks import edited_copy
from tests.hf.tiny_generative_models import make_hf_model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """{variant: directory} of tiny LM-head checkpoints saved by transformers."""
    dirs = {}
    for variant in ("gpt2", "bart", "t5-gated"):
        dirs[variant] = tmp_path_factory.mktemp(variant)
        make_hf_model(variant, "lm").save_pretrained(dirs[variant])
    return dirs


@pytest.mark.parametrize(
    ("variant", "name"),
    [("gpt2", "transformer.h.0.mystery.weight"), ("bart", "model.extra"), ("t5-gated", "encoder.block.0.x")],
)
def test_unknown_tensor_is_an_error_naming_it(saved, tmp_path, variant, name):
    path = edited_copy(saved[variant], tmp_path / "x", lambda s: s.update({name: torch.ones(3)}))
    with pytest.raises(CheckpointMismatchError, match=rf"unknown to the \w+ map:\s+{name}"):
        plmjax.from_pretrained(path, head="lm")


@pytest.mark.parametrize(
    ("variant", "names"),
    [
        ("gpt2", ["transformer.h.1.attn.c_attn.weight", "transformer.ln_f.bias"]),
        ("bart", ["model.decoder.layers.2.encoder_attn.k_proj.bias", "model.encoder.embed_positions.weight"]),
        ("t5-gated", ["decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]),
    ],
)
def test_missing_tensors_are_listed(saved, tmp_path, variant, names):
    path = edited_copy(saved[variant], tmp_path / "x", lambda s: [s.pop(n) for n in names])
    with pytest.raises(CheckpointMismatchError, match="backbone tensors the model needs are missing") as error:
        plmjax.from_pretrained(path, head="lm")
    for name in names:  # listed by their names inside the base model
        assert name.removeprefix("transformer.").removeprefix("model.") in str(error.value)


def test_fused_tensor_shape_mismatch_names_it(saved, tmp_path):
    def shrink(state):
        state["transformer.h.0.attn.c_attn.weight"] = state["transformer.h.0.attn.c_attn.weight"][:, :64].contiguous()

    path = edited_copy(saved["gpt2"], tmp_path / "x", shrink)
    with pytest.raises(
        CheckpointMismatchError, match=r"c_attn.weight has shape \(32, 64\) but the model needs \(32, 96\)"
    ):
        plmjax.from_pretrained(path, head="lm")


def test_legacy_buffers_and_tied_copies_load(saved, tmp_path):
    """Older GPT-2 checkpoints carry per-layer causal-mask buffers and the tied lm_head; BART's carry the
    tied embed_tokens copies."""

    def add_legacy(state):
        state["transformer.h.0.attn.bias"] = torch.ones(1, 1, 64, 64)
        state["transformer.h.1.attn.masked_bias"] = torch.tensor(-1e4)
        state["lm_head.weight"] = state["transformer.wte.weight"].clone()

    plmjax.from_pretrained(edited_copy(saved["gpt2"], tmp_path / "g", add_legacy), head="lm")

    def add_copies(state):
        state["model.encoder.embed_tokens.weight"] = state["model.shared.weight"].clone()
        state["model.decoder.embed_tokens.weight"] = state["model.shared.weight"].clone()

    plmjax.from_pretrained(edited_copy(saved["bart"], tmp_path / "b", add_copies), head="lm")


def test_head_without_weights_is_initialised(saved):
    """A BART LM checkpoint loads for classification: the classifier is new, the LM head tensors dropped."""
    model, params = plmjax.from_pretrained(str(saved["bart"]), head="classification", num_labels=4)
    assert params["classifier"]["out"]["kernel"].shape == (32, 4)


def test_t5_config_misreporting_tying_is_settled_by_the_weights(saved, tmp_path):
    """A T5 checkpoint with its own lm_head but tie_word_embeddings: true in config.json loads untied."""

    def untie(state):
        state["lm_head.weight"] = torch.randn(99, 32)

    path = edited_copy(saved["t5-gated"], tmp_path / "x", untie)
    config = json.loads((tmp_path / "x" / "config.json").read_text())
    assert config["tie_word_embeddings"] is True
    model, params = plmjax.from_pretrained(path, head="lm")
    assert not model.config.tie_word_embeddings
    np.testing.assert_array_equal(
        np.asarray(params["lm_head"]["kernel"]), load_file(path + "/model.safetensors")["lm_head.weight"].numpy().T
    )
