"""DoRA (weight-decomposed LoRA): its formula in a Dense by hand, the adapted model starting as the base model,
merging, and gradients equal to HF peft's (whose norm is a constant in the backward pass, as the paper says).
Outputs against peft, both ways, are in test_hf_peft.py."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import peft as hf_peft
import pytest
import torch
import transformers
from flax import traverse_util

from plmjax import peft
from plmjax.models.hooks import PeftConfig
from plmjax.models.layers import HookedDense
from plmjax.peft.methods.dora import Dora
from tests.peft import helpers


def test_dora_in_a_dense_layer_by_hand():
    layer = HookedDense(2, peft=PeftConfig((Dora(targets=".*", rank=1, alpha=2.0),)), axes=("embed", "mlp"))
    x = np.array([[1.0, 2.0]], np.float32)
    kernel = np.array([[3.0, 0.0], [4.0, 1.0]], np.float32)  # column norms 5 and 1
    bias = np.array([0.5, -1.0], np.float32)
    params = nn.meta.unbox(layer.init(jax.random.key(0), x)["params"])
    # The magnitude starts at the kernel's column norms (of the init's kernel here) and B at zero.
    np.testing.assert_allclose(params["dora_magnitude"], np.linalg.norm(params["kernel"], axis=0), rtol=1e-6)
    assert not np.any(params["lora_b"])
    lora_a, lora_b, magnitude = np.array([[1.0], [0.0]]), np.array([[0.0, 1.0]]), np.array([10.0, 2.0])
    # W + 2 A B = [[3, 2], [4, 1]]: norms 5 and sqrt(5); y = m / n * (x (W + 2 A B)) + b.
    updated = np.array([[3.0, 2.0], [4.0, 1.0]])
    expected = magnitude / np.array([5.0, np.sqrt(5.0)]) * (x @ updated) + bias
    values = dict(kernel=kernel, bias=bias, lora_a=lora_a, lora_b=lora_b, dora_magnitude=magnitude)
    out = layer.apply({"params": jax.tree.map(jnp.asarray, values)}, x)
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-6)


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    directory = helpers.save_tiny("bert", tmp_path_factory.mktemp("bert"))
    return (directory, *helpers.load_base(directory, "bert"))


def test_adapted_model_starts_as_the_base_and_merges(bert):
    _, model, params = bert
    inputs = helpers.batch("bert")
    adapted, adapted_params, rules = peft.apply("dora", model, params, rank=2, rng=jax.random.key(0))
    # Magnitudes from the pretrained kernels (not the fresh init's): the same outputs as the base model.
    base = helpers.plmjax_output(model, params, inputs)
    np.testing.assert_allclose(helpers.plmjax_output(adapted, adapted_params, inputs), base, atol=1e-5, rtol=0)
    trained = {"/".join(p) for p, t in traverse_util.flatten_dict(peft.mask(adapted_params, rules)).items() if t}
    assert {p.rsplit("/", 1)[-1] for p in trained} == {"lora_a", "lora_b", "dora_magnitude", "kernel", "bias"}
    assert all(p.startswith("classifier/") for p in trained if p.endswith(("kernel", "bias")))

    adapted_params = helpers.randomise_method_params(adapted_params, scale=0.3)
    expected = helpers.plmjax_output(adapted, adapted_params, inputs)
    merged, merged_params = peft.merge(adapted, adapted_params)
    assert merged.config.peft.is_off
    np.testing.assert_allclose(helpers.plmjax_output(merged, merged_params, inputs), expected, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="DoRA does not unmerge"):
        peft.unmerge(adapted, merged_params, adapted_params)


def test_gradients_equal_peft(bert, tmp_path):
    """d sum(logits) / d (A, B, m) through peft's DoRA (torch autograd, the norm detached) and plmjax's."""
    directory, model, params = bert
    config = hf_peft.LoraConfig(
        task_type="SEQ_CLS", r=4, lora_alpha=8, target_modules=["query", "value"], use_dora=True
    )
    reference = hf_peft.get_peft_model(
        transformers.AutoModelForSequenceClassification.from_pretrained(directory), config
    )
    helpers.randomise_torch(reference, ["lora_"], scale=0.3)
    reference.eval().save_pretrained(tmp_path / "adapter")
    inputs = helpers.batch("bert")
    reference(**{k: torch.tensor(np.asarray(v)) for k, v in inputs.items()}).logits.sum().backward()
    theirs = {name: p.grad.numpy() for name, p in reference.named_parameters() if p.grad is not None and "lora" in name}

    adapted, adapted_params, _ = peft.import_hf(str(tmp_path / "adapter"), model, params)
    batch = {k: np.asarray(v) for k, v in inputs.items()}
    grads = jax.grad(lambda p: adapted.apply({"params": p}, **batch).logits.sum())(adapted_params)
    ours = traverse_util.flatten_dict(grads)
    compared = 0
    for name, grad in theirs.items():
        layer = name.split("encoder.layer.")[1].split(".")[0]
        projection = "query" if ".query." in name else "value"
        module = ("encoder", f"layers_{layer}", "attention", projection)
        leaf = {"lora_A": "lora_a", "lora_B": "lora_b", "lora_magnitude_vector": "dora_magnitude"}[
            next(k for k in ("lora_A", "lora_B", "lora_magnitude_vector") if k in name)
        ]
        value = np.asarray(ours[(*module, leaf)])
        np.testing.assert_allclose(value, grad.T if grad.ndim == 2 else grad, atol=1e-4, rtol=1e-4, err_msg=name)
        compared += 1
    assert compared == 2 * 2 * 3  # 2 layers x (query, value) x (A, B, magnitude)
