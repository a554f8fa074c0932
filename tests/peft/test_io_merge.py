"""Trainable-only save/load with a base reference, LoRA/IA3 merge and unmerge, folding of the
reparameterisations, and prefix tuning through the generation KV cache (against peft's generate)."""

import os

import jax
import numpy as np
import peft as hf_peft
import pytest
import torch
import transformers
from flax import traverse_util

import plmjax
from plmjax import peft
from plmjax.generation import generate
from tests.peft import helpers, peft_reference


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    directory = helpers.save_tiny("bert", tmp_path_factory.mktemp("bert"))
    return (directory, *helpers.load_base(directory, "bert"))


def test_save_holds_only_the_trainable_subtree_and_load_reproduces_outputs_exactly(bert, tmp_path):
    directory, model, params = bert
    adapted, adapted_params, rules = peft.apply("lora", model, params, rank=2, rng=jax.random.key(3))
    adapted_params = helpers.randomise_method_params(adapted_params)
    inputs = helpers.batch("bert")
    expected = helpers.plmjax_output(adapted, adapted_params, inputs)

    peft.save(adapted, adapted_params, rules, str(tmp_path / "adapter"), base=directory)
    trainable_bytes = sum(
        v.nbytes
        for v, t in zip(jax.tree.leaves(adapted_params), jax.tree.leaves(peft.mask(adapted_params, rules)), strict=True)
        if t
    )
    size = os.path.getsize(tmp_path / "adapter" / "trainable.safetensors")
    assert trainable_bytes <= size < trainable_bytes + 4096  # the trainable arrays plus a small header

    fresh_model, fresh_params = plmjax.from_pretrained(directory, head="classification")
    loaded, loaded_params, loaded_rules = peft.load(str(tmp_path / "adapter"), fresh_model, fresh_params)
    assert loaded == adapted and loaded_rules == rules
    np.testing.assert_array_equal(helpers.plmjax_output(loaded, loaded_params, inputs), expected)

    other = jax.tree.map(lambda x: x + 1e-3, fresh_params)
    with pytest.raises(ValueError, match="frozen parameters differ"):
        peft.load(str(tmp_path / "adapter"), fresh_model, other)


def test_merge_and_unmerge_lora_and_ia3(bert, tmp_path):
    directory, model, params = bert
    adapted, adapted_params, rules = peft.apply(["lora", "ia3"], model, params, rank=2, rng=jax.random.key(4))
    adapted_params = helpers.randomise_method_params(adapted_params, scale=0.3)
    inputs = helpers.batch("bert")
    expected = helpers.plmjax_output(adapted, adapted_params, inputs)

    merged, merged_params = peft.merge(adapted, adapted_params)
    assert merged.config.peft.is_off
    assert traverse_util.flatten_dict(merged_params).keys() == traverse_util.flatten_dict(params).keys()
    np.testing.assert_allclose(helpers.plmjax_output(merged, merged_params, inputs), expected, atol=1e-5, rtol=0)
    # A merged model is a plain model: it exports to an HF directory transformers runs as is.
    plmjax.save_pretrained(merged, merged_params, str(tmp_path / "merged"))
    reference = transformers.AutoModelForSequenceClassification.from_pretrained(str(tmp_path / "merged"))
    np.testing.assert_allclose(helpers.torch_output(reference.eval(), inputs), expected, atol=helpers.TOL, rtol=0)

    restored = peft.unmerge(adapted, merged_params, adapted_params)
    for path, value in traverse_util.flatten_dict(adapted_params).items():
        np.testing.assert_allclose(
            np.asarray(traverse_util.flatten_dict(restored)[path]), value, atol=1e-5, err_msg=str(path)
        )


@pytest.mark.parametrize(
    ("method", "options"),
    [("prefix", dict(length=3, hidden_size=8)), ("p_tuning", dict(length=3, encoder="lstm", hidden_size=4))],
)
def test_fold_replaces_reparameterisations_by_their_output(bert, method, options):
    _, model, params = bert
    adapted, adapted_params, _ = peft.apply(method, model, params, rng=jax.random.key(5), **options)
    adapted_params = helpers.randomise_method_params(adapted_params, scale=0.3)
    inputs = helpers.batch("bert")
    folded, folded_params = peft.fold(adapted, adapted_params)
    assert [m.name for m in folded.config.peft.methods] == ["prompt" if method == "p_tuning" else "prefix"]
    assert not getattr(folded.config.peft.get("prefix"), "hidden_size", 0)
    paths = {"/".join(p) for p in traverse_util.flatten_dict(folded_params)}
    assert not any("prefix_encoder" in p or "lstm" in p for p in paths)
    np.testing.assert_allclose(
        helpers.plmjax_output(folded, folded_params, inputs),
        helpers.plmjax_output(adapted, adapted_params, inputs),
        atol=1e-5,
        rtol=0,
    )


def test_prefix_tuning_generates_with_the_kv_cache_as_peft_does(tmp_path):
    directory = helpers.save_tiny("gpt2", tmp_path / "gpt2")
    model, params = helpers.load_base(directory, "gpt2")
    adapted, adapted_params, rules = peft.apply("prefix", model, params, length=3, rng=jax.random.key(6))
    adapted_params = helpers.randomise_method_params(adapted_params)
    peft.export_hf(adapted, adapted_params, rules, str(tmp_path / "adapter"))
    reference = hf_peft.PeftModel.from_pretrained(
        transformers.AutoModelForCausalLM.from_pretrained(directory), str(tmp_path / "adapter")
    ).eval()
    ids = np.array([[0, 0, 5, 6, 7], [8, 9, 10, 11, 12]])  # left-padded prompts
    mask = np.array([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    for num_beams in (1, 3):
        ours = generate(adapted, adapted_params, ids, mask, max_new_tokens=6, num_beams=num_beams)
        with torch.no_grad(), peft_reference.prefix_generation(reference):
            theirs = reference.generate(
                input_ids=torch.tensor(ids),
                attention_mask=torch.tensor(mask),
                max_new_tokens=6,
                num_beams=num_beams,
                do_sample=False,
                pad_token_id=0,
            )
        np.testing.assert_array_equal(np.asarray(ours), theirs.numpy())
