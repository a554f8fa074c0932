"""Fold method parameters into plain parameters: the Dense-layer methods (LoRA, DoRA, IA3) into the kernels
(merge / unmerge), and the reparameterisations (prefix MLP, P-tuning prompt encoder) into their outputs (fold).

A merged model computes as the adapted one (up to float rounding) with no extra work per token. The arithmetic
is each method's (plmjax.peft.dense_merge.DenseMerge, and a settings object's `fold`); this module applies it.
"""

import jax.numpy as jnp
from flax import traverse_util

from plmjax.models.hooks import PeftConfig
from plmjax.peft.dense_merge import DenseMerge


def _with_methods(model, methods):
    return model.clone(config=model.config.replace(peft=PeftConfig(tuple(methods))))


def _dense_methods(model) -> list[DenseMerge]:
    return [method for method in model.config.peft.methods if isinstance(method, DenseMerge)]


def _adapted_modules(flat, methods) -> list[tuple[str, ...]]:
    """Module paths of the Dense layers that carry parameters of these methods."""
    leaves = {leaf for method in methods for leaf in method.dense_leaves}
    return sorted({path[:-1] for path in flat if path[-1] in leaves})


def _leaves(flat, module, method) -> dict | None:
    """{leaf: float32 array} of one method in one Dense module, or None when it has none there."""
    found = {leaf: flat.get((*module, leaf)) for leaf in method.dense_leaves}
    if all(value is None for value in found.values()):
        return None
    return {leaf: jnp.asarray(value, jnp.float32) for leaf, value in found.items()}


def merge(model, params):
    """(model without its Dense-layer methods, params with them folded into the kernels and biases).

    Per Dense layer: every method's input stage, then weight stage, then output stage
    (plmjax.peft.dense_merge). Other methods (adapters, prompts, prefixes) stay as they are.
    """
    methods = _dense_methods(model)
    flat = traverse_util.flatten_dict(params)
    for module in _adapted_modules(flat, methods):
        kernel_path, bias_path = (*module, "kernel"), (*module, "bias")
        path = "/".join(kernel_path)
        present = [(method, leaves) for method in methods if (leaves := _leaves(flat, module, method)) is not None]
        kernel = jnp.asarray(flat[kernel_path], jnp.float32)
        bias = jnp.asarray(flat[bias_path], jnp.float32) if bias_path in flat else None
        for method, leaves in present:
            kernel = method.merge_input(path, leaves, kernel)
        for method, leaves in present:
            kernel = method.merge_weight(path, leaves, kernel)
        for method, leaves in present:
            kernel, bias = method.merge_output(path, leaves, kernel, bias)
        flat[kernel_path] = kernel.astype(flat[kernel_path].dtype)
        if bias is not None:
            flat[bias_path] = bias.astype(flat[bias_path].dtype)
        for method, _ in present:
            for leaf in method.dense_leaves:
                flat.pop((*module, leaf), None)
    merged = _with_methods(model, [m for m in model.config.peft.methods if not isinstance(m, DenseMerge)])
    return merged, traverse_util.unflatten_dict(flat)


def unmerge(model, merged_params, adapter_params):
    """The adapted model's params from merged ones: the inverse of merge.

    model: the adapted model (its Dense-layer methods on). adapter_params: a tree holding those methods'
    parameters (the adapted params, or the trainable subtree plmjax.peft.load/save handle); they go back in.
    """
    methods = _dense_methods(model)
    flat = traverse_util.flatten_dict(merged_params)
    names = {leaf for method in methods for leaf in method.dense_leaves}
    adapter = {p: v for p, v in traverse_util.flatten_dict(adapter_params).items() if p[-1] in names}
    for module in _adapted_modules(adapter, methods):
        kernel_path, bias_path = (*module, "kernel"), (*module, "bias")
        path = "/".join(kernel_path)
        present = [(method, leaves) for method in methods if (leaves := _leaves(adapter, module, method)) is not None]
        kernel = jnp.asarray(flat[kernel_path], jnp.float32)
        bias = jnp.asarray(flat[bias_path], jnp.float32) if bias_path in flat else None
        for method, leaves in reversed(present):
            kernel, bias = method.unmerge_output(path, leaves, kernel, bias)
        for method, leaves in reversed(present):
            kernel = method.unmerge_weight(path, leaves, kernel)
        for method, leaves in reversed(present):
            kernel = method.unmerge_input(path, leaves, kernel)
        flat[kernel_path] = kernel.astype(flat[kernel_path].dtype)
        if bias is not None:
            flat[bias_path] = bias.astype(flat[bias_path].dtype)
    flat.update(adapter)
    return traverse_util.unflatten_dict(flat)


def fold(model, params):
    """(model, params) with the reparameterisations replaced by what they produce: the prefix MLP by plain
    per-layer prefix_key / prefix_value, the P-tuning prompt encoder by a plain soft prompt (prompt tuning).
    The outputs stay the same; the trainable rules of the folded parameters change accordingly."""
    methods = []
    for method in model.config.peft.methods:
        if hasattr(method, "fold"):
            method, params = method.fold(model, params)
        methods.append(method)
    return _with_methods(model, methods), params
