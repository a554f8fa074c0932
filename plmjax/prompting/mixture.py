"""Sampling a mixture of tasks (multi-task prompted training, T0 / T5 style).

Examples-proportional mixing with an artificial limit (T5, Raffel et al. 2020, section 3.5.2): task i is drawn
with rate r_i = min(n_i, K) / sum_j min(n_j, K), K = `cap` (0: no limit); temperature mixing raises each
capped size to 1/T first (T = 1: proportional; T -> infinity: uniform). T0 (Sanh et al. 2022) mixes
examples-proportionally with a cap of 500,000 examples per dataset.

Draws are stateless: the tasks and examples of global step s come from default_rng([seed, s]), so a resumed run
draws exactly what an uninterrupted one would, whatever happened before.
"""

import numpy as np

from plmjax.data.batching import BatchIterator

# T0's held-out protocol keeps whole task clusters out of training: a held-out task's cluster may not be trained.
TASK_CLUSTERS = {
    "sentiment": ("lmbff/mr", "lmbff/cr", "lmbff/mpqa", "lmbff/sst-5", "glue/sst2"),
    "topic": ("lmbff/trec", "lmbff/subj"),
    "nli": ("lmbff/rte", "lmbff/snli", "lmbff/mnli", "lmbff/qnli", "glue/rte", "glue/mnli", "glue/qnli"),
    "paraphrase": ("lmbff/qqp", "glue/qqp", "glue/mrpc"),
}
CLUSTER_OF = {task: cluster for cluster, tasks in TASK_CLUSTERS.items() for task in tasks}


def check_held_out(trained, held_out) -> None:
    """A ValueError naming the task when a held-out task, or another task of its cluster, is in training."""
    for task in held_out:
        if task in trained:
            raise ValueError(f"task {task} is both in the training mixture and held out")
        cluster = CLUSTER_OF.get(task)
        shared = sorted(t for t in trained if cluster is not None and CLUSTER_OF.get(t) == cluster)
        if shared:
            raise ValueError(f"held-out task {task} is in cluster {cluster!r}, which training has: {shared}")


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


def join_task_features(task_features: list[dict]) -> tuple[dict, np.ndarray]:
    """One feature set (encode_prompts') of every task's examples, in task order, with "task_ids"; and each
    task's first index in it."""
    offsets = np.cumsum([0] + [len(f["input_ids"]) for f in task_features[:-1]])
    joined = {
        "input_ids": [ids for f in task_features for ids in f["input_ids"]],
        "token_type_ids": [ids for f in task_features for ids in f["token_type_ids"]],
        "mask_positions": np.concatenate([f["mask_positions"] for f in task_features]),
        "labels": np.concatenate([f["labels"] for f in task_features]),
        "task_ids": np.concatenate([np.full(len(f["input_ids"]), t, np.int32) for t, f in enumerate(task_features)]),
        "pad_token_id": task_features[0]["pad_token_id"],
    }
    return joined, offsets


class MixtureBatches(BatchIterator):
    """Training batches of a task mixture: global step s holds MixtureSampler.draw(s)'s examples, padded to the
    smallest length bucket that holds the longest; this process materialises its rows. An "epoch" is as many
    steps as the joined examples make full batches (it only numbers positions: draws do not depend on it)."""

    def __init__(self, task_features: list[dict], rates, batch_size: int, *, seed: int, length_buckets=(),
                 process_index: int = 0, process_count: int = 1):  # fmt: skip
        features, self.offsets = join_task_features(task_features)
        super().__init__(features, batch_size, seed=seed, shuffle=True, drop_remainder=True,
                         length_buckets=length_buckets, process_index=process_index,
                         process_count=process_count)  # fmt: skip
        self.sampler = MixtureSampler([len(f["input_ids"]) for f in task_features], rates, seed)

    def epoch_plan(self, epoch: int) -> list[tuple[np.ndarray, int]]:
        if self._cached_plan is not None and self._cached_plan[0] == epoch:
            return self._cached_plan[1]
        batches = []
        for position in range(self.steps_per_epoch):
            tasks, examples = self.sampler.draw(epoch * self.steps_per_epoch + position, self.batch_size)
            indices = self.offsets[tasks] + examples
            batches.append((indices, self.length_buckets[int(self._bucket_of[indices].max())]))
        self._cached_plan = (epoch, batches)
        return batches
