"""Parameter-efficient fine-tuning: extra subtrees plus an ordered (regex, label) rule list.

Now: the rule engine (rules.py) and the trainable-parameter summary; the methods arrive with the PEFT issue.
"""

from plmjax.peft.rules import FROZEN, TRAINABLE, RuleError, explain, labels, mask, match
from plmjax.peft.summary import summary

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
    "TRAINABLE",
    "RuleError",
    "explain",
    "labels",
    "mask",
    "match",
    "summary",
]
