"""Every method HF peft has gives the same outputs in plmjax and in peft for the same weights (<= 1e-4), both
ways: plmjax -> export_hf -> peft.PeftModel.from_pretrained, and peft save_pretrained -> import_hf -> plmjax.
The models are tiny random BERT (classification), GPT-2 (causal LM) and T5 (seq2seq LM) on padded batches;
method weights are random (non-zero LoRA B, non-unit IA3 vectors, random prompts and prefixes)."""

import jax
import numpy as np
import peft as hf_peft
import pytest
import transformers
from flax import traverse_util

from plmjax import peft
from tests.peft import helpers

AUTO_CLASS = {
    "bert": transformers.AutoModelForSequenceClassification,
    "gpt2": transformers.AutoModelForCausalLM,
    "t5": transformers.AutoModelForSeq2SeqLM,
}
TASK = {"bert": "SEQ_CLS", "gpt2": "CAUSAL_LM", "t5": "SEQ_2_SEQ_LM"}
GPT2_LORA_TARGETS = r".*/attention/(query|value)/kernel|.*/mlp/intermediate/kernel"

EXPORT_CASES = [
    ("bert", "lora", dict(rank=4, alpha=8)),
    ("bert", "lora", dict(rank=4, alpha=8, rslora=True, targets=r".*/(attention/(query|value)|mlp/output)/kernel")),
    ("bert", "ia3", {}),
    ("bert", "dora", dict(rank=4, alpha=8, targets=r".*/(attention/(query|value)|mlp/output)/kernel")),
    ("bert", "prompt", dict(length=5)),
    # The prefix MLP and the prompt encoder export folded (as peft saves them); test_encoders checks them.
    ("bert", "prefix", dict(length=4, hidden_size=8)),
    ("bert", "p_tuning", dict(length=4, encoder="lstm", hidden_size=8)),
    # query and value share GPT-2's fused c_attn: one peft pair of rank 2 * 4.
    ("gpt2", "lora", dict(rank=4, targets=GPT2_LORA_TARGETS)),
    ("gpt2", "ia3", {}),
    ("gpt2", "prefix", dict(length=3)),
    ("gpt2", "prompt", dict(length=3)),
    ("t5", "lora", dict(rank=4)),
    ("t5", "ia3", {}),
    ("t5", "prompt", dict(length=3)),
]
NATIVE_CASES = [
    ("bert", lambda: hf_peft.LoraConfig(task_type="SEQ_CLS", r=4, lora_alpha=8, target_modules=["query", "value"])),
    # Per-module rank and rsLoRA: plmjax pads to the largest rank and folds each scale into B.
    (
        "bert",
        lambda: hf_peft.LoraConfig(
            task_type="SEQ_CLS",
            r=4,
            target_modules=["query", "value", "intermediate.dense"],
            use_rslora=True,
            rank_pattern={"intermediate.dense": 2},
        ),
    ),
    # DoRA: peft's LoRA with use_dora (lora_magnitude_vector).
    (
        "bert",
        lambda: hf_peft.LoraConfig(
            task_type="SEQ_CLS", r=4, lora_alpha=8, target_modules=["query", "value", "output.dense"], use_dora=True
        ),
    ),
    # peft's BERT default also scales the attention output projection's input.
    ("bert", lambda: hf_peft.IA3Config(task_type="SEQ_CLS")),
    ("bert", lambda: hf_peft.PromptTuningConfig(task_type="SEQ_CLS", num_virtual_tokens=4)),
    (
        "bert",
        lambda: hf_peft.PrefixTuningConfig(
            task_type="SEQ_CLS", num_virtual_tokens=4, prefix_projection=True, encoder_hidden_size=8
        ),
    ),
    (
        "bert",
        lambda: hf_peft.PromptEncoderConfig(
            task_type="SEQ_CLS", num_virtual_tokens=4, encoder_hidden_size=8, encoder_reparameterization_type="LSTM"
        ),
    ),
    # One A shared by query, key and value in c_attn; c_proj matches the attention and the MLP projection.
    ("gpt2", lambda: hf_peft.LoraConfig(task_type="CAUSAL_LM", r=4, target_modules=["c_attn", "c_proj"])),
    ("gpt2", lambda: hf_peft.IA3Config(task_type="CAUSAL_LM")),
    ("gpt2", lambda: hf_peft.PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=3)),
    ("t5", lambda: hf_peft.LoraConfig(task_type="SEQ_2_SEQ_LM", r=4, target_modules=["q", "v", "wi"])),
    ("t5", lambda: hf_peft.PromptTuningConfig(task_type="SEQ_2_SEQ_LM", num_virtual_tokens=3)),
]


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    """kind -> (HF directory, plmjax model, params), each saved and imported once."""
    out = {}
    for kind in AUTO_CLASS:
        directory = helpers.save_tiny(kind, tmp_path_factory.mktemp(kind))
        out[kind] = (directory, *helpers.load_base(directory, kind))
    return out


def peft_model(kind, directory, adapter=None, config=None):
    base = AUTO_CLASS[kind].from_pretrained(directory, attn_implementation="eager")
    if adapter is not None:
        return hf_peft.PeftModel.from_pretrained(base, adapter).eval()
    return hf_peft.get_peft_model(base, config)


@pytest.mark.parametrize(
    ("kind", "method", "options"), EXPORT_CASES, ids=[f"{k}-{m}-{i}" for i, (k, m, _) in enumerate(EXPORT_CASES)]
)
def test_export_loads_in_peft_with_the_same_outputs_and_imports_back(bases, kind, method, options, tmp_path):
    directory, model, params = bases[kind]
    adapted, adapted_params, rules = peft.apply(method, model, params, rng=jax.random.key(1), **options)
    adapted_params = helpers.randomise_method_params(adapted_params, scale=0.3)
    inputs = helpers.batch(kind)
    ours = helpers.plmjax_output(adapted, adapted_params, inputs)

    peft.export_hf(adapted, adapted_params, rules, str(tmp_path / "adapter"), base_model_name_or_path=directory)
    theirs = helpers.torch_output(peft_model(kind, directory, adapter=str(tmp_path / "adapter")), inputs)
    np.testing.assert_allclose(ours, theirs, atol=helpers.TOL, rtol=0)

    # Importing gives back the exported parameters (reparameterisations folded, as they were exported)...
    imported, imported_params, imported_rules = peft.import_hf(str(tmp_path / "adapter"), model, params)
    assert peft.mask(imported_params, imported_rules)  # the imported rules cover every parameter
    _, folded_params = peft.fold(adapted, adapted_params)
    folded, imported_flat = traverse_util.flatten_dict(folded_params), traverse_util.flatten_dict(imported_params)
    if folded.keys() != imported_flat.keys():
        # ...except through GPT-2's fused c_attn, which comes back as a pair (or vector) per projection.
        assert kind == "gpt2" and method in ("lora", "ia3")
        np.testing.assert_allclose(helpers.plmjax_output(imported, imported_params, inputs), ours, atol=1e-5, rtol=0)
        return
    for path, value in folded.items():
        np.testing.assert_allclose(np.asarray(imported_flat[path]), np.asarray(value), atol=1e-6, err_msg=str(path))


@pytest.mark.parametrize(
    ("kind", "make_config"), NATIVE_CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(NATIVE_CASES)]
)
def test_peft_adapter_imports_with_the_same_outputs(bases, kind, make_config, tmp_path):
    directory, model, params = bases[kind]
    reference = peft_model(kind, directory, config=make_config())
    helpers.randomise_torch(reference, ["lora_", "ia3_l", "prompt_encoder", "modules_to_save"], scale=0.3)
    reference.eval().save_pretrained(tmp_path / "adapter")
    inputs = helpers.batch(kind)

    adapted, adapted_params, rules = peft.import_hf(str(tmp_path / "adapter"), model, params)
    ours = helpers.plmjax_output(adapted, adapted_params, inputs)
    np.testing.assert_allclose(ours, helpers.torch_output(reference, inputs), atol=helpers.TOL, rtol=0)
    # The base parameters are the base model's own arrays.
    flat, base = traverse_util.flatten_dict(adapted_params), traverse_util.flatten_dict(params)
    trainable = traverse_util.flatten_dict(peft.mask(adapted_params, rules))
    assert all(flat[p] is v for p, v in base.items() if not trainable[p])


def test_adapters_and_compositions_have_no_hf_peft_format(bases, tmp_path):
    _, model, params = bases["bert"]
    for method in ("houlsby", ["lora", "prompt"]):
        adapted, adapted_params, rules = peft.apply(method, model, params)
        with pytest.raises(ValueError, match="plmjax.peft.save"):
            peft.export_hf(adapted, adapted_params, rules, str(tmp_path / "x"))


def test_import_is_strict_about_unknown_modules(bases, tmp_path):
    directory, model, params = bases["bert"]
    reference = peft_model(
        "bert", directory, config=hf_peft.LoraConfig(task_type="SEQ_CLS", r=2, target_modules=["key"])
    )
    reference.save_pretrained(tmp_path / "adapter")
    _, gpt2_model, gpt2_params = bases["gpt2"]
    with pytest.raises(ValueError, match="LoRA modules the model does not have"):
        peft.import_hf(str(tmp_path / "adapter"), gpt2_model, gpt2_params)
