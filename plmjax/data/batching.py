"""Batches of encoded examples: length buckets, seeded shuffling, a resumable position, per-process shards.

Every process builds the same plan for an epoch from the same inputs (all examples' lengths, the seed, the
epoch): a seeded permutation of the examples, cut into global batches bucket by bucket, in a seeded batch
order. A batch's padded length is the bucket it was cut from, so all processes agree on every step's shape
without talking to each other, and only `len(length_buckets)` shapes ever reach the compiler. Each process then
materialises only its rows of each global batch (rows `process_index * B/P` to `(process_index + 1) * B/P`),
so P processes together yield exactly the batches one process yields.

Every process is therefore given the same `features` (the whole split): the plan needs every example's length.
For fine-tuning data that is cheap; streaming pretraining corpora shard at the source instead (`tfds_source`).
"""

import math

import numpy as np

from plmjax.data.errors import DataError, EmptyDatasetError

DEFAULT_LENGTH_BUCKETS = (32, 64, 128, 256, 512)
# Per-example arrays carried into the batch when the features have them, zeros in padding rows: the mask's
# position in a prompt (plmjax.prompting), soft labels [classes] (PET's distillation, self-training), each row's
# task in a mixture (multi-task prompted training).
ROW_FEATURES = ("mask_positions", "soft_labels", "task_ids")


class BatchIterator:
    """Yields dicts of numpy arrays: input_ids, attention_mask, token_type_ids [B/P, L] int32, labels [B/P]
    (int32, or float32 for regression) and weights [B/P] float32 (0 for padding rows of a final partial batch).

    `length_buckets=()` pads every batch to the longest example (one shape).
    `repeat` (default: `drop_remainder`) iterates over epochs forever, reshuffling each epoch; otherwise one
    pass, whose last global batch (drop_remainder=False) is padded to `batch_size` rows with weight 0.
    `get_state()`/`set_state()` save and restore the position; the state is global, so a run may resume with a
    different process count.
    """

    def __init__(
        self,
        features: dict,
        batch_size: int,
        *,
        seed: int,
        shuffle: bool = True,
        drop_remainder: bool = True,
        repeat: bool | None = None,
        length_buckets: tuple[int, ...] = DEFAULT_LENGTH_BUCKETS,
        process_index: int = 0,
        process_count: int = 1,
    ):
        if batch_size < 1 or batch_size % process_count:
            raise ValueError(f"batch_size {batch_size} must be a positive multiple of process_count {process_count}")
        if not 0 <= process_index < process_count:
            raise ValueError(f"process_index {process_index} is not in [0, {process_count})")
        if seed < 0:
            raise ValueError(f"seed must be >= 0, not {seed}")
        self._input_ids = features["input_ids"]
        self._token_type_ids = features["token_type_ids"]
        self._labels = np.asarray(features["labels"])
        self._pad_token_id = int(features.get("pad_token_id", 0))
        self._row_features = {k: np.asarray(features[k]) for k in ROW_FEATURES if k in features}
        self.num_examples = len(self._input_ids)
        if self.num_examples == 0:
            raise EmptyDatasetError("BatchIterator was given no examples")
        if not len(self._token_type_ids) == len(self._labels) == self.num_examples:
            raise ValueError("features have different numbers of input_ids, token_type_ids and labels")
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.drop_remainder = drop_remainder
        self.repeat = drop_remainder if repeat is None else repeat
        self.process_index = process_index
        self.process_count = process_count
        lengths = np.asarray([len(ids) for ids in self._input_ids])
        # No buckets: one shape, the longest example's length.
        self.length_buckets = tuple(sorted(set(length_buckets))) or (int(lengths.max()),)
        longest = int(lengths.argmax())
        if lengths[longest] > self.length_buckets[-1]:
            raise DataError(
                f"example {longest} has {lengths[longest]} tokens, more than the largest length bucket "
                f"{self.length_buckets[-1]}: encode with a smaller max_length or add a bucket >= max_length"
            )
        # Index of the smallest bucket that holds each example.
        self._bucket_of = np.searchsorted(self.length_buckets, lengths, side="left")
        rounding = math.floor if drop_remainder else math.ceil
        self.steps_per_epoch = rounding(self.num_examples / batch_size)
        if self.steps_per_epoch == 0:
            raise EmptyDatasetError(
                f"{self.num_examples} examples make no full batch of {batch_size}: lower the batch size or use "
                "drop_remainder=False"
            )
        self._epoch = 0
        self._position = 0
        self._cached_plan: tuple[int, list[tuple[np.ndarray, int]]] | None = None

    def __len__(self) -> int:
        return self.steps_per_epoch

    def __iter__(self):
        return self

    @property
    def epoch(self) -> int:
        return self._epoch

    def epoch_plan(self, epoch: int) -> list[tuple[np.ndarray, int]]:
        """The global batches of `epoch` in order: (example indices, padded length). Same on every process."""
        if self._cached_plan is not None and self._cached_plan[0] == epoch:
            return self._cached_plan[1]
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(self.num_examples) if self.shuffle else np.arange(self.num_examples)
        bucket_of_ordered = self._bucket_of[order]
        batches = []
        # Examples left over from a shorter bucket join the next one (they fit its length), so an epoch loses
        # or pads at most one partial batch however many buckets there are.
        carry = np.empty(0, dtype=order.dtype)
        for bucket, length in enumerate(self.length_buckets):
            pool = np.concatenate([carry, order[bucket_of_ordered == bucket]])
            full = len(pool) - len(pool) % self.batch_size
            batches.extend((pool[start : start + self.batch_size], length) for start in range(0, full, self.batch_size))
            carry = pool[full:]
        if len(carry) and not self.drop_remainder:
            batches.append((carry, self.length_buckets[int(self._bucket_of[carry].max())]))
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        self._cached_plan = (epoch, batches)
        return batches

    def __next__(self) -> dict[str, np.ndarray]:
        if self._position >= self.steps_per_epoch:
            if not self.repeat:
                raise StopIteration
            self._epoch += 1
            self._position = 0
        indices, length = self.epoch_plan(self._epoch)[self._position]
        self._position += 1
        return self._materialise(indices, length)

    def local_indices(self, global_indices: np.ndarray) -> np.ndarray:
        """This process's rows of a global batch: example indices, -1 for the padding rows of a partial batch."""
        rows = self.batch_size // self.process_count
        padded = np.full(self.batch_size, -1, dtype=np.int64)
        padded[: len(global_indices)] = global_indices
        return padded[self.process_index * rows : (self.process_index + 1) * rows]

    def _materialise(self, global_indices: np.ndarray, length: int) -> dict[str, np.ndarray]:
        mine = self.local_indices(global_indices)
        rows = len(mine)
        batch = {
            "input_ids": np.full((rows, length), self._pad_token_id, dtype=np.int32),
            "attention_mask": np.zeros((rows, length), dtype=np.int32),
            "token_type_ids": np.zeros((rows, length), dtype=np.int32),
            "labels": np.zeros(rows, dtype=np.float32 if self._labels.dtype.kind == "f" else np.int32),
            "weights": np.zeros(rows, dtype=np.float32),
        }
        for key, values in self._row_features.items():
            real = (mine >= 0).reshape((-1,) + (1,) * (values.ndim - 1))
            batch[key] = np.where(real, values[np.maximum(mine, 0)], 0).astype(values.dtype)
        for row, index in enumerate(mine):
            if index < 0:
                continue  # a padding row: all padding, masked out, weight 0
            ids = self._input_ids[index]
            batch["input_ids"][row, : len(ids)] = ids
            batch["attention_mask"][row, : len(ids)] = 1
            batch["token_type_ids"][row, : len(ids)] = self._token_type_ids[index]
            batch["labels"][row] = self._labels[index]
            batch["weights"][row] = 1.0
        return batch

    def get_state(self) -> dict:
        """A JSON-serialisable position: the epoch and the number of its batches already yielded."""
        return {
            "epoch": self._epoch,
            "position": self._position,
            "seed": self.seed,
            "num_examples": self.num_examples,
            "batch_size": self.batch_size,
        }

    def set_state(self, state: dict) -> None:
        """Resumes from `get_state()`'s dict; the next batch is the one that would have followed it."""
        for key in ("seed", "num_examples", "batch_size"):
            if key in state and state[key] != getattr(self, key):
                raise ValueError(
                    f"the saved data position has {key}={state[key]} but this iterator has {getattr(self, key)}: "
                    "resuming would yield a different sequence of batches"
                )
        epoch, position = int(state["epoch"]), int(state["position"])
        if epoch < 0 or not 0 <= position <= self.steps_per_epoch:
            raise ValueError(f"invalid data position {state} for {self.steps_per_epoch} batches per epoch")
        self._epoch, self._position = epoch, position
