"""Contextual calibration (Zhao et al. 2021, "Calibrate Before Use"): a prompt's bias towards some labels,
measured on content-free inputs ("N/A", "", "[MASK]") in the same prompt, divided out.

As the paper's code (tonyzhaozh/few-shot-learning) computes it: p_cf is the mean over the content-free inputs of
the label probabilities, renormalised to sum to 1; each example's label probabilities are renormalised, then
mapped by W p + b with W = diag(p_cf)^-1, b = 0 ("diagonal_W", the paper's) or W = I, b = -p_cf
("identity_W"); the prediction is the argmax. Works on any class scores: a causal LM's option log-likelihoods
(plmjax.in_context.scoring) or a masked LM's prompt logits (plmjax.prompting).
"""

import numpy as np

CONTENT_FREE_INPUTS = ("N/A", "", "[MASK]")
MODES = ("diagonal_W", "identity_W")


def label_probabilities(log_scores) -> np.ndarray:
    """[..., classes] probabilities from log-scores (log-likelihoods or logits), each row summing to 1."""
    log_scores = np.asarray(log_scores, np.float64)
    shifted = np.exp(log_scores - log_scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def content_free_prior(content_free_log_scores) -> np.ndarray:
    """p_cf [classes]: the mean of the content-free inputs' label probabilities ([inputs, classes] log-scores,
    exponentiated as they are: the paper averages unnormalised probabilities), renormalised."""
    probs = np.exp(np.asarray(content_free_log_scores, np.float64))
    prior = probs.mean(axis=0)
    return prior / prior.sum()


def calibrate(log_scores, prior, mode: str = "diagonal_W") -> np.ndarray:
    """[examples, classes] calibrated label scores W p + b (renormalised to sum to 1 where they are
    positive, i.e. for diagonal_W); their argmax is the calibrated prediction."""
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}; choose one of {MODES}")
    prior = np.asarray(prior, np.float64)
    probs = label_probabilities(log_scores)
    if mode == "identity_W":
        return probs - prior
    scores = probs / prior
    return scores / scores.sum(axis=-1, keepdims=True)
