"""Shared set-up of the PEFT tests: tiny random transformers models saved once, their plmjax imports,
non-trivial values for method parameters, and outputs of both sides."""

import jax
import numpy as np
import torch
from flax import traverse_util

import plmjax
from plmjax.peft import is_method_param
from tests.hf import tiny_generative_models, tiny_models
from tests.peft import peft_reference

TOL = 1e-4


def save_tiny(kind: str, directory) -> str:
    """A tiny random HF model saved to directory: "bert" (classification), "gpt2" (lm) or "t5" (lm)."""
    if kind == "bert":
        model = tiny_models.make_hf_model("bert", "classification")
    elif kind == "roberta":
        model = tiny_models.make_hf_model("roberta", "classification")
    elif kind == "gpt2":
        model = tiny_generative_models.make_hf_model("gpt2", "lm")
    else:
        model = tiny_generative_models.make_hf_model("t5-relu", "lm")
    model.save_pretrained(directory)
    return str(directory)


HEAD = {"bert": "classification", "roberta": "classification", "gpt2": "lm", "t5": "lm"}


def batch(kind: str) -> dict:
    if kind in ("bert", "roberta"):
        return tiny_models.padded_batch(kind)
    if kind == "gpt2":
        return tiny_generative_models.causal_batch()
    return tiny_generative_models.seq2seq_batch("t5", "lm")


def randomise_method_params(params, seed: int = 0, scale: float = 0.5):
    """params with every method parameter (and task head) set to random values: non-zero LoRA B, non-unit
    IA3 vectors, non-trivial prompts and prefixes."""
    rng = np.random.default_rng(seed)
    flat = traverse_util.flatten_dict(params)
    for path, value in flat.items():
        if is_method_param(path) or path[0] in ("classifier", "score"):
            noise = rng.normal(size=value.shape).astype(np.float32) * scale
            if path[-1] == "ia3_scale":
                noise = 1.0 + noise
            flat[path] = jax.numpy.asarray(noise, value.dtype)
    return traverse_util.unflatten_dict(flat)


def plmjax_output(model, params, inputs) -> np.ndarray:
    """The logits, jitted: one compilation per model is cheaper than running a new model op by op."""
    forward = jax.jit(lambda params, inputs: model.apply({"params": params}, **inputs).logits)
    return np.asarray(forward(params, {k: np.asarray(v) for k, v in inputs.items()}))


def torch_output(model, inputs) -> np.ndarray:
    if peft_reference.is_prefix_classifier(model):
        return peft_reference.prefix_classifier_logits(model, inputs)
    with torch.no_grad():
        return model(**{k: torch.tensor(np.asarray(v)) for k, v in inputs.items()}).logits.numpy()


def load_base(directory: str, kind: str):
    return plmjax.from_pretrained(directory, head=HEAD[kind])


def randomise_torch(module: torch.nn.Module, names, seed: int = 0, scale: float = 0.5) -> None:
    """Random values for the torch parameters whose name contains one of names."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            if any(n in name for n in names):
                noise = torch.randn(param.shape, generator=generator) * scale
                param.copy_(noise + (1.0 if "ia3_l" in name else 0.0))
