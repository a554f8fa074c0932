"""HF-PEFT adapters in and out: adapter_config.json + adapter_model.safetensors for every method peft has (LoRA,
DoRA, IA3, prompt tuning, prefix tuning, P-tuning: each method's `hf_peft` form), named through the family's HF
name map (plmjax.hf.families).

export_hf writes what `peft.PeftModel.from_pretrained(base, directory)` loads onto the HF export of the base
model (plmjax.save_pretrained) to give the plmjax model's outputs; import_hf reads such a directory onto the
plmjax base. A trained task head travels as peft's modules_to_save. Prompt encoders and prefix MLPs travel
folded, as peft saves them: an imported P-tuning adapter is a plain soft prompt. GPT-2's fused c_attn is one
peft module; plmjax's query/key/value LoRA pairs export as one pair of rank k * rank (block-diagonal, exact)
and import back as k pairs sharing A.
"""

import json
import os
import re

import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from plmjax.models.hooks import PeftConfig
from plmjax.peft import hf_peft_names as names
from plmjax.peft.adapting import add_parameters, build_rules
from plmjax.peft.io import split_trainable
from plmjax.peft.method import TASK_HEADS
from plmjax.peft.methods import METHODS, is_method_param

CONFIG_FILE, WEIGHTS_FILE = "adapter_config.json", "adapter_model.safetensors"


def exported_method(model):
    """(settings, spec) of the one method a model exports as; an error for what HF-PEFT cannot hold."""
    methods = model.config.peft.methods
    specs = {spec.settings_class: spec for spec in METHODS.values() if spec.settings_class is not None}
    if len(methods) != 1 or specs[type(methods[0])].hf_peft is None:
        raise ValueError(
            f"HF-PEFT holds exactly one method that peft has ({', '.join(hf_methods())}); this model has "
            f"{[m.name for m in methods] or 'none'}: save it with plmjax.peft.save"
        )
    return methods[0], specs[type(methods[0])]


def hf_methods() -> list[str]:
    return [name for name, spec in METHODS.items() if spec.hf_peft is not None]


def _head_modules(model, params, rules) -> tuple[list[str], dict]:
    """(peft modules_to_save, {full HF tensor name: torch-layout array}) for the trainable base parameters:
    they must all be task-head parameters, which peft saves whole."""
    trainable, _ = split_trainable(params, rules)
    base = {p: v for p, v in trainable.items() if not is_method_param(p)}
    others = sorted("/".join(p) for p in base if not re.fullmatch(TASK_HEADS, "/".join(p)))
    if others:
        raise ValueError(f"HF-PEFT cannot hold these trainable base parameters (only a task head): {others[:10]}")
    return names.head_tensors(model, base)


def _prefix(prompt_learning: bool) -> str:
    """peft's prefix of tensor names: prompt-learning adapters wrap the base model once, the others twice."""
    return "base_model." if prompt_learning else "base_model.model."


def export_hf(model, params, rules, directory: str, base_model_name_or_path: str | None = None) -> None:
    """Write the model's PEFT method as an HF-PEFT adapter directory (see the module docstring).

    rules: the trainable rules (the task head among the trainable parameters exports as modules_to_save).
    base_model_name_or_path: recorded in adapter_config.json (where the base model is, for peft).
    """
    from safetensors.numpy import save_file

    _, spec = exported_method(model)
    modules_to_save, head = _head_modules(model, params, rules)
    method_config, method_tensors, prompt_learning = spec.hf_peft.export(model, params)
    prefix = _prefix(prompt_learning)
    tensors = {prefix + name: value for name, value in head.items()}
    tensors |= {name if name == "prompt_embeddings" else prefix + name: value for name, value in method_tensors.items()}
    config = {
        "task_type": names.task_type(model),
        "base_model_name_or_path": base_model_name_or_path,
        "revision": None,
        "inference_mode": True,
        "modules_to_save": modules_to_save or None,
        **method_config,
    }
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, CONFIG_FILE), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    arrays = {k: np.ascontiguousarray(v, np.float32) for k, v in tensors.items()}
    save_file(arrays, os.path.join(directory, WEIGHTS_FILE))


def _read(directory: str) -> tuple[dict, dict]:
    from safetensors.numpy import load_file

    with open(os.path.join(directory, CONFIG_FILE)) as f:
        config = json.load(f)
    return config, load_file(os.path.join(directory, WEIGHTS_FILE))


def import_hf(directory: str, model, params):
    """(adapted model, params, rules): an HF-PEFT adapter directory put on the plmjax base `model` / `params`.

    Strict: a tensor the model has no place for, or a setting plmjax does not implement (trained biases, ...),
    is an error that names it.
    """
    config, tensors = _read(directory)
    specs = [spec for spec in METHODS.values() if spec.hf_peft is not None and spec.hf_peft.claims(config)]
    if not specs:
        raise ValueError(
            f"peft_type {config.get('peft_type')!r} does not import into plmjax; importable: the HF-PEFT forms of "
            f"{', '.join(hf_methods())}"
        )
    prefix = _prefix("prompt_embeddings" in tensors)
    outside = sorted(k for k in tensors if k != "prompt_embeddings" and not k.startswith(prefix))
    if outside:
        raise ValueError(f"unexpected tensors in {directory}: {outside[:10]}")
    tensors = {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in tensors.items()}
    method, values, regexes, consumed = specs[0].hf_peft.import_(model, config, tensors)
    head_values, head_consumed = names.head_in(model, tensors)
    unused = sorted(set(tensors) - consumed - head_consumed)
    if unused:
        raise ValueError(f"tensors in {directory} the model has no place for: {unused[:10]}")
    adapted = model.clone(config=model.config.replace(peft=PeftConfig((method,))))
    params = add_parameters(adapted, params, jax.random.key(0), values=values)
    if head_values:
        flat = traverse_util.flatten_dict(params)
        for path, value in head_values.items():
            if tuple(flat[path].shape) != tuple(value.shape):
                raise ValueError(f"{'/'.join(path)}: the adapter has shape {value.shape}, the model {flat[path].shape}")
            flat[path] = jnp.asarray(value, flat[path].dtype)
        params = traverse_util.unflatten_dict(flat)
    return adapted, params, build_rules(params, regexes, train_head=bool(head_values))
