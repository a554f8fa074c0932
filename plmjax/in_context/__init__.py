"""In-context learning with causal LMs: k-shot prompts, option scoring with a shared-prefix cache, contextual
calibration, demonstration selection and ordering (docs/in_context.md)."""

from plmjax.in_context.calibration import CONTENT_FREE_INPUTS, calibrate, content_free_prior, label_probabilities
from plmjax.in_context.evaluate import evaluate_icl, score_prompts
from plmjax.in_context.prompts import IclPrompt, IclPromptError, encode_options, encode_prompts
from plmjax.in_context.scoring import cached_option_scores, full_option_scores, option_scores
from plmjax.in_context.selection import orderings, random_demonstrations, similar_demonstrations

__all__ = [
    "CONTENT_FREE_INPUTS",
    "IclPrompt",
    "IclPromptError",
    "cached_option_scores",
    "calibrate",
    "content_free_prior",
    "encode_options",
    "encode_prompts",
    "evaluate_icl",
    "full_option_scores",
    "label_probabilities",
    "option_scores",
    "orderings",
    "random_demonstrations",
    "score_prompts",
    "similar_demonstrations",
]
