"""LM-BFF's demonstrations (Gao et al., 2021, section 6): after the query's prompt, one training example per
class, each filled in with its class's label word where the query has the mask.

Selection: "random" (uniform within each class) or "similar" (uniform within the top `top_fraction` of each
class by cosine similarity to the query, LM-BFF's filtering with sentence embeddings, e.g. plmjax's MiniLM
encoder). Sampling is seeded by (seed, step, query index): the demonstrations change at every training step and
are the same again for the same step, so a resumed run sees what the uninterrupted one saw. At inference,
`ensemble` averages the class logits over several demonstration sets (LM-BFF samples 16).
"""

import math

import numpy as np

from plmjax.prompting.template import PromptError


class DemonstrationPool:
    """The training examples demonstrations are drawn from.

    labels: each example's class; embeddings: [examples, dim] sentence embeddings, needed for "similar".
    """

    def __init__(self, examples: list[dict], labels, num_classes: int, *, selection: str = "random",
                 embeddings=None, top_fraction: float = 0.5, seed: int = 0):  # fmt: skip
        if selection not in ("random", "similar"):
            raise PromptError(f"demonstration selection={selection!r}; choose random or similar")
        if selection == "similar" and embeddings is None:
            raise PromptError("similar demonstrations need the pool's sentence embeddings")
        self.examples, self.labels = examples, np.asarray(labels)
        self.num_classes, self.selection, self.top_fraction, self.seed = num_classes, selection, top_fraction, seed
        missing = [c for c in range(num_classes) if not np.any(self.labels == c)]
        if missing:
            raise PromptError(f"no training example of classes {missing} to demonstrate them")
        if embeddings is not None:
            embeddings = np.asarray(embeddings, np.float32)
            self.embeddings = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)

    def sample(self, query: int | None, step: int, query_embedding=None, outside_index: int = 0) -> list[int]:
        """One pool index per class, in class order, for the query: its pool index (never chosen for itself),
        or None for a query outside the pool (an evaluation example), then outside_index (its index in its own
        split) seeds its draw and query_embedding gives its embedding for "similar"."""
        key = [0, query] if query is not None else [1, outside_index]
        rng = np.random.default_rng([self.seed, step, *key])
        if self.selection == "similar":
            if query_embedding is None:
                query_embedding = self.embeddings[query]
            query_embedding = np.asarray(query_embedding, np.float32)
            similarity = self.embeddings @ (query_embedding / np.linalg.norm(query_embedding))
        chosen = []
        for label in range(self.num_classes):
            candidates = np.flatnonzero((self.labels == label) & (np.arange(len(self.labels)) != query))
            if not len(candidates):
                raise PromptError(f"class {label} has no training example to demonstrate but the query itself")
            if self.selection == "similar":
                keep = max(1, math.ceil(self.top_fraction * len(candidates)))
                candidates = candidates[np.argsort(-similarity[candidates], kind="stable")[:keep]]
            chosen.append(int(rng.choice(candidates)))
        return chosen


def ensemble(class_logits) -> np.ndarray:
    """[sets, batch, classes] class logits over several demonstration sets -> their mean [batch, classes]."""
    return np.mean(np.asarray(class_logits), axis=0)
