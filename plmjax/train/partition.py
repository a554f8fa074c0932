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

# The methods that only choose which existing parameters train; methods that add parameters (LoRA, adapters,
# prompts) come with the PEFT issue and plug in here with their rules.
RULES_BY_METHOD = {"full": peft.FULL_FINETUNING, "head_only": peft.HEAD_ONLY, "bitfit": peft.BITFIT}


def trainable_rules(peft_config, params=None, plan=None) -> list[tuple[str, str]]:
    """The (regex, label) rules of the config's method, after `extra_trainable` (a regex of parameters that
    train as well, e.g. the top layers). Methods that add parameters take their rules from their plan
    (plmjax.peft.adapt; see model_setup.build) over the (abstract) adapted params."""
    if plan is not None:
        return plan.rules(params)
    if peft_config.method not in RULES_BY_METHOD:
        raise ValueError(f"peft.method={peft_config.method!r}; methods: {sorted(peft.METHODS)}")
    rules = list(RULES_BY_METHOD[peft_config.method])
    if peft_config.extra_trainable:
        rules.insert(0, (peft_config.extra_trainable, peft.TRAINABLE))
    return rules


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
