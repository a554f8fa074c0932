"""Parameter-efficient fine-tuning: every method is extra subtrees plus an ordered (regex, label) rule list.

    model, params, rules = plmjax.peft.apply("lora", model, params, rank=8, alpha=16, rng=rng)
    print(plmjax.peft.summary(params, rules))      # trainable / total, per group
    trainable_mask = plmjax.peft.mask(params, rules)

Methods (METHODS): full, head_only, bitfit, lora, ia3, houlsby, pfeiffer, prefix, prompt, p_tuning; a list
composes them. See docs/peft.md.

Import order matters here: plmjax.models imports the method modules (dense, adapter, prefix, prompt), so no
module of this package may import plmjax.models beyond models.config / models.peft_config / models.activations
at import time (plmjax.hf is imported inside the functions that need it).
"""

from plmjax.models.peft_config import PeftConfig
from plmjax.peft.hf_peft import export_hf, import_hf
from plmjax.peft.io import load, save
from plmjax.peft.merge import fold, merge, unmerge
from plmjax.peft.methods import METHODS, MethodPlan, adapt, apply
from plmjax.peft.prompt import template_ids
from plmjax.peft.rules import FROZEN, TRAINABLE, RuleError, explain, labels, mask, match
from plmjax.peft.summary import summary
from plmjax.peft.training import cast_frozen, decay_mask

FULL_FINETUNING = [(".*", TRAINABLE)]
# Linear probing: train the task head, freeze the backbone.
HEAD_ONLY = [
    (r"(classifier|token_classifier|span_head|mlm_head|sentence_head|rtd_head|lm_head)/.*", TRAINABLE),
    (".*", FROZEN),
]
# BitFit (Ben Zaken et al., 2022): biases only.
BITFIT = [(r".*/bias", TRAINABLE), (".*", FROZEN)]

__all__ = [
    "BITFIT",
    "FROZEN",
    "FULL_FINETUNING",
    "HEAD_ONLY",
    "METHODS",
    "TRAINABLE",
    "PeftConfig",
    "MethodPlan",
    "RuleError",
    "adapt",
    "apply",
    "cast_frozen",
    "decay_mask",
    "explain",
    "export_hf",
    "fold",
    "import_hf",
    "labels",
    "load",
    "mask",
    "match",
    "merge",
    "save",
    "summary",
    "template_ids",
    "unmerge",
]
