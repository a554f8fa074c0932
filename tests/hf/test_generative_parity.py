"""GPT-2, BART and T5 imported from tiny random transformers models give the same outputs on padded batches
(encoder-decoders with padded decoder inputs); export then re-import is exact and transformers loads the
export with no missing or unexpected tensors."""

import numpy as np
import pytest
import torch

import plmjax
from tests.hf.checkpoint_checks import assert_reimport_is_exact
from tests.hf.tiny_generative_models import causal_batch, family_of, hf_class, make_hf_model, seq2seq_batch

TOL = 1e-4
CASES = [
    ("gpt2", "lm"),
    ("gpt2", "classification"),
    ("gpt2", None),
    ("gpt2-untied", "lm"),
    ("bart", "lm"),
    ("bart", "classification"),
    ("bart", None),
    ("t5-relu", "lm"),
    ("t5-relu", None),
    ("t5-relu-untied", "lm"),
    ("t5-gated", "lm"),
    ("t5-gated-untied", "lm"),
]


def batch_for(variant, head):
    family = family_of(variant)
    return causal_batch() if family == "gpt2" else seq2seq_batch(family, head)


def hf_outputs(model, inputs):
    with torch.no_grad():
        return model(**{k: torch.tensor(v) for k, v in inputs.items()})


def assert_same_outputs(ours, theirs, head, is_seq2seq):
    field = "last_hidden_state" if head is None else "logits"
    np.testing.assert_allclose(np.asarray(getattr(ours, field)), theirs[field].numpy(), atol=TOL, rtol=0)
    if is_seq2seq and head != "classification":
        np.testing.assert_allclose(
            np.asarray(ours.encoder_last_hidden_state), theirs.encoder_last_hidden_state.numpy(), atol=TOL, rtol=0
        )


@pytest.mark.parametrize(("variant", "head"), CASES, ids=[f"{v}-{h}" for v, h in CASES])
def test_import_matches_transformers_and_export_round_trips(variant, head, tmp_path):
    reference = make_hf_model(variant, head)
    reference.save_pretrained(tmp_path / "hf")
    inputs = batch_for(variant, head)
    is_seq2seq = family_of(variant) != "gpt2"

    model, params = plmjax.from_pretrained(str(tmp_path / "hf"), head=head)
    ours = model.apply({"params": params}, **inputs)
    assert_same_outputs(ours, hf_outputs(reference, inputs), head, is_seq2seq)
    if variant.endswith("-untied") and head == "lm":
        assert "lm_head" in params

    plmjax.save_pretrained(model, params, str(tmp_path / "export"))
    reloaded, info = hf_class(variant, head).from_pretrained(
        str(tmp_path / "export"), output_loading_info=True, attn_implementation="eager"
    )
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    assert_same_outputs(ours, hf_outputs(reloaded.eval(), inputs), head, is_seq2seq)

    assert_reimport_is_exact(tmp_path / "export", model, params, head)


def test_gpt2_left_padding_with_positions_from_the_mask(tmp_path):
    """Generation feeds left-padded prompts with positions counted from the first real token."""
    reference = make_hf_model("gpt2", "lm")
    reference.save_pretrained(tmp_path)
    model, params = plmjax.from_pretrained(str(tmp_path), head="lm")
    ids = np.array([[0, 0, 0, 5, 6, 7], [8, 9, 10, 11, 12, 13]])
    mask = (np.arange(6) >= np.array([[3], [0]])).astype(np.int64)
    positions = np.maximum(mask.cumsum(-1) - 1, 0)
    ours = model.apply({"params": params}, ids, mask, position_ids=positions).logits
    with torch.no_grad():
        theirs = reference(
            input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask), position_ids=torch.tensor(positions)
        ).logits.numpy()
    keep = mask.astype(bool)
    np.testing.assert_allclose(np.asarray(ours)[keep], theirs[keep], atol=TOL, rtol=0)
