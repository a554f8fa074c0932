"""Parameter-efficient fine-tuning: every method is extra subtrees plus an ordered (regex, label) rule list.

    model, params, rules = plmjax.peft.apply("lora", model, params, rank=8, alpha=16, rng=rng)
    print(plmjax.peft.summary(params, rules))      # trainable / total, per group
    trainable_mask = plmjax.peft.mask(params, rules)

Methods (METHODS): full, head_only, bitfit, lora, dora, ia3, houlsby, pfeiffer, prefix, prompt, p_tuning; a
list composes them. Each is one module of plmjax/peft/methods/ (the interface: plmjax.peft.method); the models
only expose hook points (plmjax.models.hooks). See docs/peft.md.
"""

from plmjax.models.hooks import PeftConfig
from plmjax.peft.adapting import MethodPlan, adapt, apply, selection_plan
from plmjax.peft.hf_peft import export_hf, import_hf
from plmjax.peft.io import load, save
from plmjax.peft.merge import fold, merge, unmerge
from plmjax.peft.methods import METHODS, is_method_param
from plmjax.peft.methods.prompt import template_ids
from plmjax.peft.rules import FROZEN, TRAINABLE, RuleError, explain, labels, mask, match
from plmjax.peft.shapes import abstract_params
from plmjax.peft.summary import summary
from plmjax.peft.training import cast_frozen, decay_mask

__all__ = [
    "FROZEN",
    "METHODS",
    "TRAINABLE",
    "MethodPlan",
    "PeftConfig",
    "RuleError",
    "abstract_params",
    "adapt",
    "apply",
    "cast_frozen",
    "decay_mask",
    "explain",
    "export_hf",
    "fold",
    "import_hf",
    "is_method_param",
    "labels",
    "load",
    "mask",
    "match",
    "merge",
    "save",
    "selection_plan",
    "summary",
    "template_ids",
    "unmerge",
]
