"""Fold method parameters into plain parameters: LoRA and IA3 into the kernels (merge / unmerge), and the
reparameterisations (prefix MLP, P-tuning prompt encoder) into their outputs (fold).

A merged model computes as the adapted one (up to float rounding) with no extra work per token.
"""

import dataclasses

import jax.numpy as jnp
from flax import traverse_util

from plmjax.models.peft_config import PeftConfig
from plmjax.peft import lora

DENSE_METHOD_LEAVES = ("lora_a", "lora_b", "ia3_scale")


LORA_FIELDS = ("lora_targets", "lora_rank", "lora_alpha", "lora_dropout", "lora_rslora")
IA3_FIELDS = ("ia3_targets", "ia3_input_targets")


def _with_peft(model, **changes):
    peft = dataclasses.replace(model.config.peft, **changes)
    return model.clone(config=model.config.replace(peft=peft))


def _defaults(*fields) -> dict:
    """The PeftConfig defaults of fields: a method turned off leaves no settings behind (models compare equal)."""
    return {name: getattr(PeftConfig(), name) for name in fields}


def _adapted_modules(flat) -> list[tuple[str, ...]]:
    """Module paths of the Dense layers that carry LoRA or IA3 parameters."""
    return sorted({path[:-1] for path in flat if path[-1] in DENSE_METHOD_LEAVES})


def _factors(peft, module, leaves):
    """(input scale or None, LoRA delta or None, output scale or None) of one adapted Dense, in float32."""
    ia3 = peft.ia3_scales("/".join(module) + "/kernel")
    scale = leaves.get((*module, "ia3_scale"))
    scale = None if scale is None else jnp.asarray(scale, jnp.float32)
    delta = None
    if (*module, "lora_a") in leaves:
        a = jnp.asarray(leaves[(*module, "lora_a")], jnp.float32)
        b = jnp.asarray(leaves[(*module, "lora_b")], jnp.float32)
        delta = lora.delta(a, b, peft.lora_scale)
    return (scale if ia3 == "input" else None), delta, (scale if ia3 == "output" else None)


def merge(model, params):
    """(model without LoRA/IA3, params with them folded into the kernels).

    Per Dense: y = ((x * s_in) W + b + scale * x A B) * s_out becomes y = x W' + b' with
    W' = (s_in[:, None] * W + scale * A B) * s_out and b' = b * s_out. Other methods stay as they are.
    """
    flat = traverse_util.flatten_dict(params)
    peft = model.config.peft
    for module in _adapted_modules(flat):
        kernel_path, bias_path = (*module, "kernel"), (*module, "bias")
        s_in, delta, s_out = _factors(peft, module, flat)
        kernel = jnp.asarray(flat[kernel_path], jnp.float32)
        if s_in is not None:
            kernel = s_in[:, None] * kernel
        if delta is not None:
            kernel = kernel + delta
        if s_out is not None:
            kernel = kernel * s_out[None, :]
            if bias_path in flat:
                flat[bias_path] = (jnp.asarray(flat[bias_path], jnp.float32) * s_out).astype(flat[bias_path].dtype)
        flat[kernel_path] = kernel.astype(flat[kernel_path].dtype)
        for leaf in DENSE_METHOD_LEAVES:
            flat.pop((*module, leaf), None)
    merged = _with_peft(model, **_defaults(*LORA_FIELDS, *IA3_FIELDS))
    return merged, traverse_util.unflatten_dict(flat)


def unmerge(model, merged_params, adapter_params):
    """The adapted model's params from merged ones: the inverse of merge.

    model: the adapted model (LoRA/IA3 on). adapter_params: a tree holding the lora_a, lora_b and ia3_scale
    leaves (the adapted params, or the trainable subtree plmjax.peft.load/save handle); they go back in.
    """
    flat = traverse_util.flatten_dict(merged_params)
    leaves = {p: v for p, v in traverse_util.flatten_dict(adapter_params).items() if p[-1] in DENSE_METHOD_LEAVES}
    peft = model.config.peft
    for module in _adapted_modules(leaves):
        kernel_path, bias_path = (*module, "kernel"), (*module, "bias")
        s_in, delta, s_out = _factors(peft, module, leaves)
        kernel = jnp.asarray(flat[kernel_path], jnp.float32)
        if s_out is not None:
            kernel = kernel / s_out[None, :]
            if bias_path in flat:
                flat[bias_path] = (jnp.asarray(flat[bias_path], jnp.float32) / s_out).astype(flat[bias_path].dtype)
        if delta is not None:
            kernel = kernel - delta
        if s_in is not None:
            kernel = kernel / s_in[:, None]
        flat[kernel_path] = kernel.astype(flat[kernel_path].dtype)
    flat.update(leaves)
    return traverse_util.unflatten_dict(flat)


def _stacks(params) -> list[str]:
    return [name for name in ("encoder", "decoder") if name in params and "prefix_encoder" in params[name]]


def fold(model, params):
    """(model, params) with the reparameterisations replaced by what they produce: the prefix MLP by plain
    per-layer prefix_key / prefix_value, the P-tuning prompt encoder by a plain soft prompt (prompt tuning).
    The outputs stay the same; the trainable rules of the folded parameters change accordingly."""
    peft = model.config.peft
    flat = traverse_util.flatten_dict(params)
    bound = model.bind({"params": params})
    changes = {}
    for stack in _stacks(params):
        prefixes = getattr(bound, stack).prefix_encoder()
        for index in range(prefixes.shape[0]):
            attention = (stack, f"layers_{index}", "attention")
            flat[(*attention, "prefix_key")] = prefixes[index, 0]
            flat[(*attention, "prefix_value")] = prefixes[index, 1]
        flat = {p: v for p, v in flat.items() if p[:2] != (stack, "prefix_encoder")}
        changes["prefix_hidden_size"] = 0
    if peft.prompt_encoder:
        prompt = bound.soft_prompt()
        flat = {p: v for p, v in flat.items() if p[0] != "soft_prompt"}
        flat[("soft_prompt", "embedding")] = prompt
        changes.update(_defaults("prompt_encoder", "prompt_encoder_hidden_size", "prompt_encoder_layers"))
    return _with_peft(model, **changes), traverse_util.unflatten_dict(flat)
