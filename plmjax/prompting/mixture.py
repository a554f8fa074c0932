"""Sampling a mixture of tasks (multi-task prompted training, T0 / T5 style).

Examples-proportional mixing with an artificial limit (T5, Raffel et al. 2020, section 3.5.2): task i is drawn
with rate r_i = min(n_i, K) / sum_j min(n_j, K), K = `cap` (0: no limit); temperature mixing raises each
capped size to 1/T first (T = 1: proportional; T -> infinity: uniform). T0 (Sanh et al. 2022) mixes
examples-proportionally with a cap of 500,000 examples per dataset.

Draws are stateless: the tasks and examples of global step s come from default_rng([seed, s]), so a resumed run
draws exactly what an uninterrupted one would, whatever happened before.
"""

import numpy as np


def mixing_rates(sizes, cap: int = 0, temperature: float = 1.0) -> np.ndarray:
    sizes = np.asarray(sizes, np.float64)
    if sizes.ndim != 1 or not len(sizes) or np.any(sizes < 1):
        raise ValueError(f"task sizes must be positive counts, not {sizes.tolist()}")
    if temperature <= 0:
        raise ValueError(f"mixing temperature must be > 0, not {temperature}")
    capped = np.minimum(sizes, cap) if cap else sizes
    weights = capped ** (1.0 / temperature)
    return weights / weights.sum()


class MixtureSampler:
    """(task, example index) pairs of each global batch: the task by the mixing rates, the example uniformly
    among that task's, with replacement."""

    def __init__(self, sizes, rates, seed: int):
        self.sizes, self.rates, self.seed = np.asarray(sizes), np.asarray(rates, np.float64), seed
        if len(self.sizes) != len(self.rates) or abs(self.rates.sum() - 1) > 1e-9:
            raise ValueError("one rate per task, summing to 1")

    def draw(self, step: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, step])
        tasks = rng.choice(len(self.sizes), size=batch_size, p=self.rates)
        examples = np.floor(rng.random(batch_size) * self.sizes[tasks]).astype(np.int64)
        return tasks, examples
