"""The trainable / frozen split of a parameter tree.

The PEFT rule engine (plmjax.peft.rules) labels every parameter; its trainable mask splits the parameters into
two nested dicts holding disjoint leaves, and `merge` puts them back. The train step differentiates only the
trainable one: `grad(loss)(trainable, frozen, batch)`, so frozen parameters get no gradient buffers and no
optimizer state. Full fine-tuning is the all-true mask (frozen is then empty).
"""

import jax
import numpy as np
from flax import traverse_util

from plmjax import peft


def trainable_rules(peft_config, params=None, plan=None) -> list[tuple[str, str]]:
    """The (regex, label) rules of the run's method (config.peft; `extra_trainable` first) over the (abstract)
    params: from the plan plmjax.assembly.model.build made (plmjax.peft.adapt), or, for objectives over two models, from
    a method that only selects parameters (full, head_only, bitfit)."""
    if plan is None:
        options = dict(peft_config.options.to_dict(), extra_trainable=peft_config.extra_trainable)
        plan = peft.adapting.selection_plan(peft_config.method, **options)
    return plan.rules(params)


def trainable_mask(params, rules):
    return peft.mask(params, rules, allow_unused_rules=True)


def split(params, mask):
    """(trainable, frozen): nested dicts with the leaves where mask is True and False respectively."""
    flat_params = traverse_util.flatten_dict(params)
    flat_mask = traverse_util.flatten_dict(mask)
    if set(flat_params) != set(flat_mask):
        differing = sorted("/".join(k) for k in set(flat_params) ^ set(flat_mask))
        raise ValueError(f"trainable mask and parameters differ in paths: {differing[:10]}")
    trainable = {k: v for k, v in flat_params.items() if flat_mask[k]}
    frozen = {k: v for k, v in flat_params.items() if not flat_mask[k]}
    return traverse_util.unflatten_dict(trainable), traverse_util.unflatten_dict(frozen)


def merge(trainable, frozen):
    """The full parameter tree from its two disjoint parts."""
    flat = traverse_util.flatten_dict(frozen)
    flat.update(traverse_util.flatten_dict(trainable))
    return traverse_util.unflatten_dict(flat)


def num_params(tree) -> int:
    return int(sum(np.prod(x.shape) for x in jax.tree.leaves(tree)))
