"""HF-PEFT adapters in and out: adapter_config.json + adapter_model.safetensors for LoRA, IA3, prompt tuning,
prefix tuning and P-tuning, named through the family's HF name map (plmjax.hf.families).

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

from plmjax.models.peft_config import PeftConfig
from plmjax.peft import hf_peft_names as names
from plmjax.peft.io import split_trainable
from plmjax.peft.method_spec import TASK_HEADS, is_method_param
from plmjax.peft.methods import add_parameters, build_rules

CONFIG_FILE, WEIGHTS_FILE = "adapter_config.json", "adapter_model.safetensors"
PROMPT_TYPES = ("PROMPT_TUNING", "P_TUNING", "PREFIX_TUNING")


def exported_method(peft: PeftConfig) -> str:
    """The one peft_type a plmjax PEFT config exports as; an error for what HF-PEFT cannot hold."""
    on = {
        "LORA": bool(peft.lora_targets),
        "IA3": bool(peft.ia3_targets),
        "PROMPT_TUNING": peft.prompt_length > 0 and not peft.prompt_encoder,
        "P_TUNING": bool(peft.prompt_encoder),
        "PREFIX_TUNING": peft.prefix_length > 0,
        "adapters": bool(peft.adapter),
    }
    active = [name for name, is_on in on.items() if is_on]
    if active == ["adapters"] or len(active) != 1:
        raise ValueError(
            f"HF-PEFT holds exactly one of LoRA, IA3, prompt tuning, P-tuning or prefix tuning; this model has "
            f"{active or 'none'}: save it with plmjax.peft.save"
        )
    if active[0] in ("PROMPT_TUNING", "P_TUNING") and peft.prompt_placement != "prefix":
        raise ValueError("HF-PEFT puts soft prompts in front of the input only; template placement does not export")
    return active[0]


def _head_modules(model, params, rules) -> tuple[list[str], dict]:
    """(peft modules_to_save, {full HF tensor name: torch-layout array}) for the trainable base parameters:
    they must all be task-head parameters, which peft saves whole."""
    trainable, _ = split_trainable(params, rules)
    base = {p: v for p, v in trainable.items() if not is_method_param(p)}
    others = sorted("/".join(p) for p in base if not re.fullmatch(TASK_HEADS, "/".join(p)))
    if others:
        raise ValueError(f"HF-PEFT cannot hold these trainable base parameters (only a task head): {others[:10]}")
    return names.head_tensors(model, base)


def export_hf(model, params, rules, directory: str, base_model_name_or_path: str | None = None) -> None:
    """Write the model's PEFT method as an HF-PEFT adapter directory (see the module docstring).

    rules: the trainable rules (the task head among the trainable parameters exports as modules_to_save).
    base_model_name_or_path: recorded in adapter_config.json (where the base model is, for peft).
    """
    from safetensors.numpy import save_file

    peft_type = exported_method(model.config.peft)
    modules_to_save, head = _head_modules(model, params, rules)
    prompt_learning = peft_type in PROMPT_TYPES
    prefix = "base_model." if prompt_learning else "base_model.model."
    tensors = {prefix + name: value for name, value in head.items()}
    config = {
        "peft_type": peft_type,
        "task_type": names.task_type(model),
        "base_model_name_or_path": base_model_name_or_path,
        "revision": None,
        "inference_mode": True,
        "modules_to_save": modules_to_save or None,
    }
    if peft_type == "LORA":
        lora_config, lora_tensors = names.lora_out(model, params)
        config |= lora_config
        tensors |= {prefix + name: value for name, value in lora_tensors.items()}
    elif peft_type == "IA3":
        ia3_config, ia3_tensors = names.ia3_out(model, params)
        config |= ia3_config
        tensors |= {prefix + name: value for name, value in ia3_tensors.items()}
    else:
        prompt_config, embeddings = names.prompt_out(model, params, peft_type)
        config |= prompt_config
        tensors["prompt_embeddings"] = embeddings
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

    Strict: a tensor the model has no place for, or a setting plmjax does not implement (DoRA, trained
    biases, per-module ranks), is an error that names it.
    """
    config, tensors = _read(directory)
    peft_type = config.get("peft_type")
    prompt_learning = peft_type in PROMPT_TYPES
    prefix = "base_model." if prompt_learning else "base_model.model."
    outside = sorted(k for k in tensors if k != "prompt_embeddings" and not k.startswith(prefix))
    if outside:
        raise ValueError(f"unexpected tensors in {directory}: {outside[:10]}")
    tensors = {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in tensors.items()}
    if peft_type == "LORA":
        changes, values, regexes, consumed = names.lora_in(model, config, tensors)
    elif peft_type == "IA3":
        changes, values, regexes, consumed = names.ia3_in(model, config, tensors)
    elif prompt_learning:
        changes, values, regexes, consumed = names.prompt_in(model, config, tensors.pop("prompt_embeddings"))
    else:
        raise ValueError(f"peft_type {peft_type!r} does not import into plmjax; importable: LORA, IA3, {PROMPT_TYPES}")
    head_values, head_consumed = names.head_in(model, tensors)
    unused = sorted(set(tensors) - consumed - head_consumed)
    if unused:
        raise ValueError(f"tensors in {directory} the model has no place for: {unused[:10]}")
    adapted = model.clone(config=model.config.replace(peft=PeftConfig(**changes)))
    params = add_parameters(adapted, params, jax.random.key(0), values=values)
    if head_values:
        flat = traverse_util.flatten_dict(params)
        for path, value in head_values.items():
            if tuple(flat[path].shape) != tuple(value.shape):
                raise ValueError(f"{'/'.join(path)}: the adapter has shape {value.shape}, the model {flat[path].shape}")
            flat[path] = jnp.asarray(value, flat[path].dtype)
        params = traverse_util.unflatten_dict(flat)
    return adapted, params, build_rules(params, regexes, train_head=bool(head_values))
