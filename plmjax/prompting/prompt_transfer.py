"""SPoT (Vu et al. 2022): soft prompts as task embeddings, and the retrieval of source tasks for a target.

A prompt-tuned run's learned prompt ([length, embed]) starts a target task's prompt (peft.options.init =
"saved", plmjax.peft.prompt_init); its mean over tokens is the task's embedding. SPoT ranks the source tasks by
the cosine similarity of their embeddings to the target's, the target's taken from a prompt trained briefly on
the target; how well that ranking predicts the transfer gain is the rank correlation of similarity and gain.
"""

import numpy as np
from flax import traverse_util

from plmjax.peft.prompt_init import PROMPT_PATH


def learned_prompt(params) -> np.ndarray:
    """The soft prompt [length, embed] in a parameter tree (the model's, or a run's trainable part)."""
    found = [v for k, v in traverse_util.flatten_dict(params).items() if tuple(k[-len(PROMPT_PATH) :]) == PROMPT_PATH]
    if len(found) != 1:
        raise ValueError(f"expected one soft prompt ({'/'.join(PROMPT_PATH)}) in the parameters, found {len(found)}")
    return np.asarray(found[0], np.float32)


def task_embedding(prompt) -> np.ndarray:
    """SPoT's task embedding: the prompt's mean over its tokens."""
    return np.asarray(prompt, np.float64).mean(axis=0)


def rank_sources(target_embedding, source_embeddings: dict) -> list[tuple[str, float]]:
    """(source, cosine similarity to the target) pairs, most similar first (ties: name order)."""
    target = np.asarray(target_embedding, np.float64)
    target = target / np.linalg.norm(target)
    scored = []
    for name, embedding in source_embeddings.items():
        embedding = np.asarray(embedding, np.float64)
        scored.append((name, float(embedding @ target / np.linalg.norm(embedding))))
    return sorted(scored, key=lambda pair: (-pair[1], pair[0]))


def average_ranks(values) -> np.ndarray:
    """1-based ranks, ties sharing their mean rank (scipy.stats.rankdata's "average")."""
    values = np.asarray(values, np.float64)
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(x, y) -> float:
    """Spearman's rank correlation: Pearson's correlation of the average ranks."""
    rx, ry = average_ranks(x), average_ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denominator = np.sqrt((rx**2).sum() * (ry**2).sum())
    if denominator == 0:
        raise ValueError("a rank correlation needs values that are not all equal")
    return float((rx * ry).sum() / denominator)
