"""Every encoder family and head, imported from a tiny random transformers model, gives the same
outputs on a padded batch; export then re-import is exact and transformers loads the export cleanly."""

import jax
import numpy as np
import pytest
import torch

import plmjax
from tests.hf.checkpoint_checks import assert_reimport_is_exact
from tests.hf.tiny_models import HEADS, hf_class, make_hf_model, padded_batch

CASES = [(family, head) for family, heads in HEADS.items() for head in heads]
TOL = 1e-4

# plmjax output field -> transformers output field, per head.
OUTPUT_FIELDS = {
    None: {"last_hidden_state": "last_hidden_state", "pooler_output": "pooler_output"},
    "mlm": {"logits": "logits"},
    "pretraining": {"logits": "prediction_logits", "sentence_logits": ("seq_relationship_logits", "sop_logits")},
    "nsp": {"logits": "logits"},
    "classification": {"logits": "logits"},
    "regression": {"logits": "logits"},
    "token_classification": {"logits": "logits"},
    "span": {"start_logits": "start_logits", "end_logits": "end_logits"},
    "rtd": {"logits": "logits"},
}


def hf_outputs(model, inputs):
    with torch.no_grad():
        return model(
            **{k: torch.tensor(v) for k, v in inputs.items()}, output_hidden_states=True, output_attentions=True
        )


def plmjax_outputs(model, params, inputs):
    return model.apply(
        {"params": params},
        inputs["input_ids"],
        attention_mask=inputs["attention_mask"],
        token_type_ids=inputs.get("token_type_ids"),
        output_hidden_states=True,
        output_attentions=True,
    )


def hf_field(out, names):
    for name in (names,) if isinstance(names, str) else names:
        if getattr(out, name, None) is not None:
            return out[name].numpy()
    raise KeyError(names)


def assert_same_outputs(ours, theirs, head, family):
    for our_field, their_field in OUTPUT_FIELDS[head].items():
        if our_field == "pooler_output" and theirs.get("pooler_output") is None:
            assert ours.pooler_output is None, f"{family} has no pooler in transformers"
            continue
        np.testing.assert_allclose(
            np.asarray(getattr(ours, our_field)), hf_field(theirs, their_field), atol=TOL, rtol=0, err_msg=our_field
        )
    assert len(ours.hidden_states) == len(theirs.hidden_states)
    for i, (a, b) in enumerate(zip(ours.hidden_states, theirs.hidden_states, strict=True)):
        np.testing.assert_allclose(np.asarray(a), b.numpy(), atol=TOL, rtol=0, err_msg=f"hidden state {i}")
    assert len(ours.attentions) == len(theirs.attentions)
    for i, (a, b) in enumerate(zip(ours.attentions, theirs.attentions, strict=True)):
        np.testing.assert_allclose(np.asarray(a), b.numpy(), atol=TOL, rtol=0, err_msg=f"attention {i}")


@pytest.mark.parametrize(("family", "head"), CASES, ids=[f"{f}-{h}" for f, h in CASES])
def test_import_matches_transformers_and_export_round_trips(family, head, tmp_path):
    reference = make_hf_model(family, head)
    reference.save_pretrained(tmp_path / "hf")
    inputs = padded_batch(family)

    model, params = plmjax.from_pretrained(str(tmp_path / "hf"), head=head)
    assert_same_outputs(plmjax_outputs(model, params, inputs), hf_outputs(reference, inputs), head, family)

    plmjax.save_pretrained(model, params, str(tmp_path / "export"))
    reloaded, info = hf_class(family, head).from_pretrained(
        str(tmp_path / "export"), output_loading_info=True, attn_implementation="eager"
    )
    assert info["missing_keys"] == set() or not info["missing_keys"]
    assert not info["unexpected_keys"] and not info["mismatched_keys"], info
    reloaded.eval()
    assert_same_outputs(plmjax_outputs(model, params, inputs), hf_outputs(reloaded, inputs), head, family)

    assert_reimport_is_exact(tmp_path / "export", model, params, head)


def test_pytorch_bin_is_read_with_weights_only(tmp_path):
    # A legacy checkpoint as older transformers wrote it: a pickled state dict that still holds the tied
    # decoder copies and the position_ids buffer.
    reference = make_hf_model("bert", "mlm")
    reference.config.save_pretrained(tmp_path)
    state = reference.state_dict()
    state["bert.embeddings.position_ids"] = torch.arange(64)[None]
    assert "cls.predictions.decoder.weight" in state
    torch.save(state, tmp_path / "pytorch_model.bin")
    model, params = plmjax.from_pretrained(str(tmp_path), head="mlm")
    inputs = padded_batch("bert")
    assert_same_outputs(plmjax_outputs(model, params, inputs), hf_outputs(reference, inputs), "mlm", "bert")


def test_bfloat16_checkpoint_loads_bit_exact(tmp_path):
    reference = make_hf_model("bert", None).to(torch.bfloat16)
    reference.save_pretrained(tmp_path)
    _, params = plmjax.from_pretrained(str(tmp_path), param_dtype="bfloat16")
    ours = np.asarray(params["embeddings"]["word_embeddings"]["embedding"]).astype(np.float32)
    theirs = reference.embeddings.word_embeddings.weight.detach().float().numpy()
    np.testing.assert_array_equal(ours, theirs)
    assert params["encoder"]["layers_0"]["attention"]["query"]["kernel"].dtype == jax.numpy.bfloat16


def test_untied_mlm_decoder_round_trips(tmp_path):
    reference = make_hf_model("bert", "mlm", tie_word_embeddings=False)
    assert (
        reference.cls.predictions.decoder.weight.data_ptr()
        != reference.bert.embeddings.word_embeddings.weight.data_ptr()
    )
    reference.save_pretrained(tmp_path / "hf")
    model, params = plmjax.from_pretrained(str(tmp_path / "hf"), head="mlm")
    assert "decoder" in params["mlm_head"]
    inputs = padded_batch("bert")
    assert_same_outputs(plmjax_outputs(model, params, inputs), hf_outputs(reference, inputs), "mlm", "bert")
    plmjax.save_pretrained(model, params, str(tmp_path / "export"))
    _, info = hf_class("bert", "mlm").from_pretrained(str(tmp_path / "export"), output_loading_info=True)
    assert not any(info.values()), info


def test_mpnet_relative_position_buckets_are_t5s():
    # MPNet reuses plmjax's T5 bucketing; transformers' MPNet has its own copy of the arithmetic.
    from transformers.models.mpnet.modeling_mpnet import MPNetEncoder

    from plmjax.models.attention import relative_position_buckets

    relative = np.arange(-2000, 2001)
    theirs = MPNetEncoder.relative_position_bucket(torch.tensor(relative)).numpy()
    ours = relative_position_buckets(jax.numpy.asarray(relative, jax.numpy.int32), True, 32, 128)
    np.testing.assert_array_equal(np.asarray(ours), theirs)
