"""plmjax.peft.apply: base parameters untouched, the rules each method brings, composition, clear errors, and
trainable-parameter counts equal to HF peft's on BERT-base (and the published ones for adapters and prompts)."""

import jax
import numpy as np
import peft as hf_peft
import pytest
import torch
import transformers
from flax import traverse_util

from plmjax import peft
from plmjax.models import EncoderModel, init_params, preset
from plmjax.models.init import abstract_params
from plmjax.peft.summary import counts
from tests.peft.helpers import plmjax_output

TINY = preset("bert-base", vocab_size=50, hidden_size=16, num_layers=2, num_heads=2, intermediate_size=24)
IA3_LIKE_PEFT_BERT = dict(
    targets=r".*/attention/(key|value)/kernel|.*/(attention|mlp)/output/kernel",
    input_targets=r".*/(attention|mlp)/output/kernel",
)


@pytest.fixture(scope="module")
def tiny():
    model = EncoderModel(TINY, head="classification", num_labels=2)
    return model, init_params(model, jax.random.key(0))


@pytest.fixture(scope="module")
def bert_base():
    """BERT-base with a 2-label classifier: plmjax abstract parameters and an HF model on the meta device."""
    model = EncoderModel(preset("bert-base"), head="classification", num_labels=2)
    return model, abstract_params(model)


def peft_trainable(config) -> int:
    with torch.device("meta"):
        reference = transformers.BertForSequenceClassification(transformers.BertConfig(num_labels=2))
    return hf_peft.get_peft_model(reference, config).get_nb_trainable_parameters()[0]


def trainable_count(params, rules) -> int:
    return counts(params, peft.mask(params, rules))["total"][0]


def adapted_shapes(model, method, **options):
    """(abstract params, rules) of the adapted model: counting needs shapes only, no initialisation."""
    adapted, plan = peft.adapt(method, model, **options)
    params = traverse_util.unflatten_dict(peft.abstract_params(adapted))
    return params, plan.rules(params)


HEAD = 768 * 2 + 2
COUNT_CASES = [
    # The example: LoRA r=8 on query and value of a 12-layer, 768-wide model.
    (
        "lora",
        dict(rank=8),
        lambda: hf_peft.LoraConfig(task_type="SEQ_CLS", r=8, target_modules=["query", "value"]),
        294_912,
    ),
    # DoRA: LoRA's pairs plus one magnitude per output feature of each adapted kernel.
    (
        "dora",
        dict(rank=8),
        lambda: hf_peft.LoraConfig(task_type="SEQ_CLS", r=8, target_modules=["query", "value"], use_dora=True),
        294_912 + 2 * 12 * 768,
    ),
    (
        "ia3",
        IA3_LIKE_PEFT_BERT,
        lambda: hf_peft.IA3Config(task_type="SEQ_CLS", target_modules=["key", "value", "output.dense"]),
        12 * (768 + 768 + 768 + 3072),
    ),
    # Prompt tuning: prompt length x hidden size.
    (
        "prompt",
        dict(length=20),
        lambda: hf_peft.PromptTuningConfig(task_type="SEQ_CLS", num_virtual_tokens=20),
        20 * 768,
    ),
    (
        "prefix",
        dict(length=10),
        lambda: hf_peft.PrefixTuningConfig(task_type="SEQ_CLS", num_virtual_tokens=10),
        10 * 12 * 2 * 768,
    ),
    (
        "prefix",
        dict(length=10, hidden_size=512),
        lambda: hf_peft.PrefixTuningConfig(
            task_type="SEQ_CLS", num_virtual_tokens=10, prefix_projection=True, encoder_hidden_size=512
        ),
        10 * 768 + (768 * 512 + 512) + (512 * 12 * 2 * 768 + 12 * 2 * 768),
    ),
    (
        "p_tuning",
        dict(length=20, encoder="mlp"),
        lambda: hf_peft.PromptEncoderConfig(task_type="SEQ_CLS", num_virtual_tokens=20),
        20 * 768 + 3 * (768 * 768 + 768),
    ),
    (
        "p_tuning",
        dict(length=20, encoder="lstm", hidden_size=128),
        lambda: hf_peft.PromptEncoderConfig(
            task_type="SEQ_CLS", num_virtual_tokens=20, encoder_reparameterization_type="LSTM", encoder_hidden_size=128
        ),
        None,
    ),
]


@pytest.mark.parametrize(
    ("method", "options", "peft_config", "published"), COUNT_CASES, ids=[c[0] for c in COUNT_CASES]
)
def test_trainable_counts_equal_peft_on_bert_base(bert_base, method, options, peft_config, published):
    model, _ = bert_base
    adapted_params, rules = adapted_shapes(model, method, **options)
    ours = trainable_count(adapted_params, rules)
    assert ours == peft_trainable(peft_config())
    if published is not None:
        assert ours == published + HEAD


def test_houlsby_and_pfeiffer_counts_are_the_published_ones(bert_base):
    model, _ = bert_base
    d, m = 768, 64
    per_adapter = 2 * m * d + d + m  # Houlsby et al., 2019, section 2.1
    norms = 12 * 2 * 2 * d + 2 * d  # every layer norm (two per layer, plus the embeddings')
    adapted_params, rules = adapted_shapes(model, "houlsby", size=m)
    rows = counts(adapted_params, peft.mask(adapted_params, rules))
    assert rows["encoder/layers_*/attention_adapter"] == (12 * per_adapter,) * 2
    assert rows["encoder/layers_*/mlp_adapter"] == (12 * per_adapter,) * 2
    assert rows["total"][0] == 2 * 12 * per_adapter + norms + HEAD
    adapted_params, rules = adapted_shapes(model, "pfeiffer", reduction_factor=16)
    assert trainable_count(adapted_params, rules) == 12 * (2 * 48 * d + d + 48) + HEAD


def test_apply_adds_subtrees_and_leaves_the_base_arrays_alone(tiny):
    model, params = tiny
    ids = np.array([[3, 4, 5, 6, 7, 8], [9, 10, 11, 12, 0, 0]])
    mask = (ids != 0).astype(np.int32)
    base_out = plmjax_output(model, params, {"input_ids": ids, "attention_mask": mask})
    flat = traverse_util.flatten_dict(params)
    options = {"houlsby": dict(houlsby=dict(size=4)), "prefix": dict(prefix=dict(length=3))}
    options["prompt"] = dict(prompt=dict(length=3))
    for method in ("lora", "ia3", "houlsby", "prefix", "prompt", ["lora", "prompt"], ["houlsby", "prefix"]):
        names = [method] if isinstance(method, str) else method
        adapted, adapted_params, rules = peft.apply(
            method, model, params, **{k: v for name in names for k, v in options.get(name, {}).items()}
        )
        adapted_flat = traverse_util.flatten_dict(adapted_params)
        assert all(adapted_flat[p] is v for p, v in flat.items()), method  # the very same arrays
        assert adapted.config.replace(peft=model.config.peft) == model.config
        out = plmjax_output(adapted, adapted_params, {"input_ids": ids, "attention_mask": mask})
        if method in ("lora", "ia3"):
            np.testing.assert_array_equal(out, base_out)  # B = 0, IA3 = 1: exactly the base model
        elif method == "houlsby":
            np.testing.assert_allclose(out, base_out, atol=0.05)  # near-identity adapters
        assert rules[-1] == (".*", peft.FROZEN)


def test_composed_methods_bring_both_subtrees_and_rules(tiny):
    model, params = tiny
    adapted, adapted_params, rules = peft.apply(["lora", "prompt"], model, params, rank=2, length=3)
    assert [r for r, _ in rules[:2]] == [r".*/lora_(a|b)", "soft_prompt/.*"]
    trainable = {"/".join(p) for p, t in traverse_util.flatten_dict(peft.mask(adapted_params, rules)).items() if t}
    assert "soft_prompt/embedding" in trainable and "encoder/layers_1/attention/value/lora_b" in trainable
    assert "encoder/layers_1/attention/value/kernel" not in trainable
    _, adapted_params, rules = peft.apply(["houlsby", "prefix"], model, params, size=4, length=2)
    flat = traverse_util.flatten_dict(adapted_params)
    assert ("encoder", "layers_0", "attention", "prefix_key") in flat
    assert ("encoder", "layers_0", "mlp_adapter", "down", "kernel") in flat
    # An option both methods take goes to one method by name.
    adapted, _, _ = peft.apply(["prompt", "prefix"], model, params, prompt=dict(length=2), prefix=dict(length=3))
    assert (adapted.config.peft.get("prompt").length, adapted.config.peft.get("prefix").length) == (2, 3)


def test_bitfit_head_only_and_full(tiny):
    model, params = tiny
    for method, expected in (("head_only", {"classifier"}), ("full", None)):
        _, _, rules = peft.apply(method, model, params)
        trainable = {p for p, t in traverse_util.flatten_dict(peft.mask(params, rules)).items() if t}
        if expected is None:
            assert len(trainable) == len(traverse_util.flatten_dict(params))
        else:
            assert {p[0] for p in trainable} == expected
    _, _, rules = peft.apply("bitfit", model, params, train_head=False)
    trainable = {p for p, t in traverse_util.flatten_dict(peft.mask(params, rules)).items() if t}
    assert trainable and all(p[-1] == "bias" for p in trainable)


def test_errors_name_what_is_wrong(tiny):
    model, params = tiny
    with pytest.raises(ValueError, match="unknown PEFT methods.*methods: \\["):
        peft.apply("loraa", model, params)
    with pytest.raises(TypeError, match="unknown option 'rnak'.*rank"):
        peft.apply("lora", model, params, rnak=4)
    with pytest.raises(TypeError, match="ambiguous.*prompt=dict\\(length=...\\)"):
        peft.apply(["prompt", "prefix"], model, params, length=4)
    with pytest.raises(peft.RuleError, match="match no parameter"):
        peft.apply("lora", model, params, targets=r".*/qurey/kernel")
    with pytest.raises(ValueError, match="do not compose"):
        peft.apply(["prompt", "p_tuning"], model, params, prompt=dict(length=2), p_tuning=dict(length=2))


def test_decay_mask_and_explain(tiny):
    model, params = tiny
    adapted, adapted_params, rules = peft.apply(["lora", "ia3", "prompt"], model, params, length=2)
    decays = {"/".join(p): d for p, d in traverse_util.flatten_dict(peft.decay_mask(adapted_params)).items()}
    assert decays["encoder/layers_0/attention/query/lora_a"] and decays["encoder/layers_0/mlp/output/kernel"]
    for path in ("soft_prompt/embedding", "encoder/layers_0/attention/key/ia3_scale", "classifier/out/bias"):
        assert not decays[path], path
    assert not decays["encoder/layers_0/attention_norm/scale"]
    text = peft.explain(adapted_params, rules)
    assert "lora_(a|b)" in text and "soft_prompt/embedding" in text
    assert "encoder/layers_*/attention" in peft.summary(adapted_params, rules)
