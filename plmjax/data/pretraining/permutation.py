"""XLNet's permutation-LM batches (Yang et al. 2019, section 2.3 "partial prediction").

Each row draws a factorisation order of its real tokens. The last 1/K of the order are the targets; the rest
is context that every position sees (XLNet's data pipeline gives context tokens rank -1). A target sees the
context and the targets before it in the order, never itself or later ones: `perm_mask[i, j] = 1` where j is
a target ranked at or after i (a context i ranks before every target). The content stream adds each position
itself (plmjax.models.xlnet); the query stream predicts target m at position `target_positions[m]` through
`target_mapping[m, position] = 1`.
"""

import numpy as np

from plmjax.data.pretraining.collators import pad_batch
from plmjax.data.pretraining.masking import per_example_generators
from plmjax.models.xlnet import PERMUTATION_KEYS


def permutation_targets(length: int, partial_prediction: int, rng: np.random.Generator):
    """(perm_mask [length, length] bool, target positions in prediction order) for one row of `length` real
    tokens: ceil(length / partial_prediction) targets, the last of a uniformly random order."""
    order = rng.permutation(length)
    count = -(-length // partial_prediction)
    targets = order[length - count :]
    rank = np.full(length, -1)
    rank[targets] = np.arange(count)
    # A context position ranks before every target (0 <= every target's rank), a target at its own rank.
    own_rank = np.maximum(rank, 0)
    is_target = rank >= 0
    perm_mask = is_target[None, :] & (rank[None, :] >= own_rank[:, None])
    return perm_mask, targets


class PermutationLmCollator:
    """Permutation-LM batches: `pad_batch`'s keys plus perm_mask [rows, L, L] (1: may not see), target_mapping
    [rows, P, L], target_ids and target_weights [rows, P], with P = ceil(L / partial_prediction) predictions
    per row (fewer for shorter rows: weight 0). Rows are usually `pack_documents` rows."""

    def __init__(self, max_length: int, pad_token_id: int, partial_prediction: int, *, batch_size: int | None = None):
        if partial_prediction < 1:
            raise ValueError(f"partial_prediction={partial_prediction}: predict 1/K of the tokens with K >= 1")
        self.max_length, self.pad_token_id = max_length, pad_token_id
        self.partial_prediction, self.batch_size = partial_prediction, batch_size
        self.predictions = -(-max_length // partial_prediction)

    def __call__(self, examples, rng) -> dict:
        batch = pad_batch(examples, self.max_length, self.pad_token_id, batch_size=self.batch_size)
        rows, length = batch["input_ids"].shape
        batch["perm_mask"] = np.zeros((rows, length, length), np.float32)
        batch["target_mapping"] = np.zeros((rows, self.predictions, length), np.float32)
        batch["target_ids"] = np.zeros((rows, self.predictions), np.int32)
        batch["target_weights"] = np.zeros((rows, self.predictions), np.float32)
        for row, row_rng in enumerate(per_example_generators(rng, len(examples))):
            real = int(batch["attention_mask"][row].sum())
            perm_mask, targets = permutation_targets(real, self.partial_prediction, row_rng)
            batch["perm_mask"][row, :real, :real] = perm_mask
            batch["target_mapping"][row, np.arange(len(targets)), targets] = 1.0
            batch["target_ids"][row, : len(targets)] = batch["input_ids"][row, targets]
            batch["target_weights"][row, : len(targets)] = 1.0
        return batch


class PermutedSegments:
    """XLNet's pretraining batches with a segment memory: the segments of `segments` (ConsecutiveSegments), each
    row of each segment given its own factorisation order by `collator` (a PermutationLmCollator), seeded by
    (seed, step, global row) so the orders do not depend on the process count.

    Training: one segment per step. Evaluation (segments.train False): one batch of whole streams, input_ids and
    attention_mask [rows, segments * length], and PERMUTATION_KEYS with every segment's arrays on axis 1
    (plmjax.objectives.PermutationLM walks them with the memory)."""

    def __init__(self, segments, collator: PermutationLmCollator, seed: int):
        self.segments, self.collator, self.seed = segments, collator, seed

    def __iter__(self):
        return self

    def _permuted(self, ids, step: int) -> dict:
        rows = range(self.segments.first_row, self.segments.first_row + len(ids))
        return self.collator(list(ids), [np.random.default_rng([self.seed, step, row]) for row in rows])

    def __next__(self) -> dict:
        step = self.segments.position
        ids = next(self.segments)["input_ids"]
        if self.segments.train:
            return self._permuted(ids, step)
        length = self.segments.length
        pieces = [self._permuted(ids[:, s : s + length], s // length) for s in range(0, ids.shape[1], length)]
        batch = {key: np.stack([piece[key] for piece in pieces], axis=1) for key in PERMUTATION_KEYS}
        return {**batch, "input_ids": ids, "attention_mask": np.ones_like(ids), "weights": pieces[0]["weights"]}

    def get_state(self) -> dict:
        return self.segments.get_state()

    def set_state(self, state: dict) -> None:
        self.segments.set_state(state)
