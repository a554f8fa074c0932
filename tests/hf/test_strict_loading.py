"""Bad checkpoints get a clear error that names what is wrong; known situations load and say so."""

import json
import logging

import numpy as np
import pytest
import torch

import plmjax
from plmjax.hf import CheckpointMismatchError
from tests.hf.checkpoint_checks import edited_copy
from tests.hf.tiny_models import make_hf_model, padded_batch


@pytest.fixture(scope="module")
def pretraining_dir(tmp_path_factory):
    """A tiny BERT with its pretraining heads (MLM + NSP), saved by transformers."""
    path = tmp_path_factory.mktemp("bert_pretraining")
    make_hf_model("bert", "pretraining").save_pretrained(path)
    return path


def test_unknown_tensor_is_an_error_naming_it(pretraining_dir, tmp_path):
    path = edited_copy(pretraining_dir, tmp_path / "x", lambda s: s.update({"bert.mystery.weight": torch.ones(3)}))
    with pytest.raises(CheckpointMismatchError, match=r"unknown to the bert map:\s+bert.mystery.weight"):
        plmjax.from_pretrained(path, head="pretraining")


def test_unknown_tensor_is_a_warning_when_not_strict(pretraining_dir, tmp_path, caplog):
    path = edited_copy(pretraining_dir, tmp_path / "x", lambda s: s.update({"bert.mystery.weight": torch.ones(3)}))
    with caplog.at_level(logging.WARNING, logger="plmjax"):
        plmjax.from_pretrained(path, head="pretraining", strict=False)
    assert "bert.mystery.weight" in caplog.text


def test_missing_backbone_tensors_are_listed(pretraining_dir, tmp_path):
    def drop(state):
        del state["bert.encoder.layer.1.output.dense.weight"]
        del state["bert.embeddings.LayerNorm.bias"]

    path = edited_copy(pretraining_dir, tmp_path / "x", drop)
    with pytest.raises(CheckpointMismatchError) as error:
        plmjax.from_pretrained(path)
    message = str(error.value)
    assert "2 backbone tensors the model needs are missing" in message
    assert "encoder.layer.1.output.dense.weight" in message and "embeddings.LayerNorm.bias" in message


def test_shape_mismatch_names_tensor_and_both_shapes(pretraining_dir, tmp_path):
    def widen(state):
        state["bert.pooler.dense.bias"] = torch.zeros(33)

    path = edited_copy(pretraining_dir, tmp_path / "x", widen)
    expected = r"bert.pooler.dense.bias has shape \(33,\) but the model needs \(32,\)"
    with pytest.raises(CheckpointMismatchError, match=expected):
        plmjax.from_pretrained(path)


def test_half_present_head_is_an_error(pretraining_dir, tmp_path):
    path = edited_copy(pretraining_dir, tmp_path / "x", lambda s: s.pop("cls.predictions.transform.dense.weight"))
    with pytest.raises(CheckpointMismatchError, match=r"1 mlm tensors the model needs are missing"):
        plmjax.from_pretrained(path, head="mlm")


def test_differing_tied_decoder_is_an_error(pretraining_dir, tmp_path):
    path = edited_copy(
        pretraining_dir, tmp_path / "x", lambda s: s.update({"cls.predictions.decoder.weight": torch.ones(99, 32)})
    )
    with pytest.raises(CheckpointMismatchError, match="should be a tied copy"):
        plmjax.from_pretrained(path, head="mlm")


def test_new_head_is_initialised_and_reported(pretraining_dir, caplog):
    """A pretraining checkpoint loaded for classification: backbone and pooler load, the NSP/MLM heads
    are dropped, the classifier is new and the log says so."""
    with caplog.at_level(logging.INFO, logger="plmjax"):
        model, params = plmjax.from_pretrained(str(pretraining_dir), head="classification", num_labels=4)
    assert "no classifier weights: initialised 2 new parameters (classifier/out/bias, classifier/out/kernel)" in (
        caplog.text
    )
    assert "cls.seq_relationship.weight" in caplog.text  # reported as dropped
    # A classifier is new whenever a model is fine-tuned: information, not a warning.
    assert [r.levelno for r in caplog.records if "no classifier weights" in r.getMessage()] == [logging.INFO]
    assert params["classifier"]["out"]["kernel"].shape == (32, 4)
    reference = make_hf_model("bert", "pretraining")
    np.testing.assert_array_equal(
        np.asarray(params["pooler"]["dense"]["kernel"]), reference.bert.pooler.dense.weight.detach().numpy().T
    )
    inputs = padded_batch("bert")
    logits = model.apply({"params": params}, inputs["input_ids"], attention_mask=inputs["attention_mask"]).logits
    assert logits.shape == (2, 4) and np.isfinite(np.asarray(logits)).all()


def test_unsupported_model_type_names_the_supported_ones(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "mamba"}))
    with pytest.raises(ValueError, match=r"model_type 'mamba' is not supported; supported: \[.*'bert'.*'roberta'"):
        plmjax.from_pretrained(str(tmp_path))


def test_directory_without_config_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        plmjax.from_pretrained(str(tmp_path))


def test_directory_without_weights_is_a_clear_error(pretraining_dir, tmp_path):
    (tmp_path / "config.json").write_text((pretraining_dir / "config.json").read_text())
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        plmjax.from_pretrained(str(tmp_path))


def test_head_unavailable_for_family_lists_the_available_ones(pretraining_dir):
    with pytest.raises(ValueError, match=r"head 'rtd' is not available for bert; choose one of"):
        plmjax.from_pretrained(str(pretraining_dir), head="rtd")


def test_unknown_config_override_is_an_error(pretraining_dir):
    expected = r"unknown TransformerConfig fields \[.hidden_sise.\]; valid fields: .*hidden_size"
    with pytest.raises(TypeError, match=expected):
        plmjax.from_pretrained(str(pretraining_dir), hidden_sise=3)


def test_export_of_a_head_without_transformers_class_is_an_error(pretraining_dir, tmp_path):
    model, params = plmjax.from_pretrained(str(pretraining_dir), head="sop")
    with pytest.raises(ValueError, match=r"head 'sop' of bert has no transformers class"):
        plmjax.save_pretrained(model, params, str(tmp_path / "out"))


@pytest.fixture(scope="module")
def mpnet_mlm_dir(tmp_path_factory):
    """A tiny MPNet with its MLM head, saved by transformers."""
    path = tmp_path_factory.mktemp("mpnet_mlm")
    make_hf_model("mpnet", "mlm").save_pretrained(path)
    return path


def test_mpnet_position_ids_buffer_is_known_not_unused(mpnet_mlm_dir, tmp_path):
    # Older saves (all-mpnet-base-v2 among them) wrote the int64 position index into the file.
    position_ids = {"mpnet.embeddings.position_ids": torch.arange(66)[None]}
    path = edited_copy(mpnet_mlm_dir, tmp_path / "x", lambda s: s.update(position_ids))
    _, params = plmjax.from_pretrained(path, head="mlm")
    assert "relative_position_bias" in params["encoder"]


def test_mpnet_token_type_embeddings_are_unknown(mpnet_mlm_dir, tmp_path):
    extra = {"mpnet.embeddings.token_type_embeddings.weight": torch.ones(2, 32)}
    path = edited_copy(mpnet_mlm_dir, tmp_path / "x", lambda s: s.update(extra))
    expected = r"unknown to the mpnet map:\s+mpnet.embeddings.token_type_embeddings.weight"
    with pytest.raises(CheckpointMismatchError, match=expected):
        plmjax.from_pretrained(path, head="mlm")


def test_mpnet_missing_relative_bias_is_listed(mpnet_mlm_dir, tmp_path):
    path = edited_copy(mpnet_mlm_dir, tmp_path / "x", lambda s: s.pop("mpnet.encoder.relative_attention_bias.weight"))
    with pytest.raises(
        CheckpointMismatchError, match=r"1 backbone tensors .* missing:\s+encoder.relative_attention_bias"
    ):
        plmjax.from_pretrained(path, head="mlm")


@pytest.mark.parametrize(("key", "value"), [("pad_token_id", 0), ("relative_attention_num_buckets", 64)])
def test_mpnet_config_transformers_would_not_follow_is_refused(mpnet_mlm_dir, tmp_path, key, value):
    # transformers' MPNet hard-codes its padding index and bucket count whatever config.json says.
    path = edited_copy(mpnet_mlm_dir, tmp_path / "x", lambda s: None)
    config = json.loads((tmp_path / "x" / "config.json").read_text()) | {key: value}
    (tmp_path / "x" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=f"{key}={value} is not supported: transformers' MPNet hard-codes"):
        plmjax.from_pretrained(path, head="mlm")
