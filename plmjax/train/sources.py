"""What the loop trains on: a run's batches and its evaluation, over the data plmjax.data builds.

ClassificationSource (a task: plmjax.data.task_inputs) and PretrainingSource (a corpus:
plmjax.data.pretraining.run_data and .batches) give the loop the same things: train_batches(), evaluate(...)
on the validation (and, for pretraining, training) split, the sizes, steps per epoch and selection metric.
"""

from plmjax.data.pretraining.batches import (
    EVAL_SEED_OFFSET,
    CharacterWordBatches,
    ConsecutiveSegments,
    ExampleBatches,
    RandomWindows,
    local_rows,
    make_collator,
)
from plmjax.data.pretraining.permutation import PermutedSegments
from plmjax.data.pretraining.run_data import stream
from plmjax.data.task_inputs import RunData, batch_iterator
from plmjax.train.evaluate import evaluate_objective


class ClassificationSource:
    """A classification run's batches and its evaluation: the objective's loss and the task's metrics over
    every prediction, on the validation split (or another labelled split, e.g. LM-BFF's "test")."""

    def __init__(self, config, data: RunData, num_outputs: int, term_weights: dict):
        self.config, self.data, self.term_weights = config, data, term_weights
        self.num_train, self.num_eval = data.num_train, data.num_eval
        self.steps_per_epoch = data.num_train // config.data.batch_size
        self.has_validation = data.eval_features is not None
        self.selection_metric = data.task.metrics[0]
        self.description = (
            f"task {data.task.name}: {data.num_train:,} train / {data.num_eval:,} validation examples, "
            f"{num_outputs} outputs, metrics {list(data.task.metrics)}"
        )

    def train_batches(self):
        c = self.config
        return batch_iterator(
            self.data.train_features, c.data.batch_size, seed=c.seed, train=True, length_buckets=c.data.length_buckets
        )

    def encode_examples(self, examples: list[dict]) -> dict:
        """Any examples with the task's text fields, as this run's inputs (labels unused)."""
        return self.data.encode_examples(examples)

    def eval_batches(self, split: str = "validation"):
        c = self.config.data
        features = self.data.eval_features if split == "validation" else self.data.split_features(split)
        return batch_iterator(features, c.eval_batch_size, seed=0, train=False, length_buckets=c.length_buckets)

    def evaluate(self, eval_step, trainable, frozen, mesh, split: str = "validation") -> dict | None:
        """The split's loss, objective metrics and task metrics; None for "train" (pretraining's training-split
        estimate) and for a missing validation split."""
        if split == "train" or (split == "validation" and not self.has_validation):
            return None
        batches = self.eval_batches(split)
        return evaluate_objective(
            eval_step, trainable, frozen, batches, mesh, self.term_weights, self.data.task.metrics
        )


# The objectives that train on samples of one token stream, per data.sampling.
WINDOW_OBJECTIVES = {"random_windows": ("clm", "bilm"), "segments": ("clm", "plm")}


class PretrainingSource:
    """A pretraining run's batches and its held-out evaluation (the objective's loss and metrics)."""

    def __init__(self, config, data, term_weights: dict):
        self.config, self.data, self.term_weights = config, data, term_weights
        c = config.data
        self.sampling = c.sampling
        self.windows = c.sampling in ("random_windows", "segments")  # samples of one token stream
        if c.sampling not in ("epochs", "random_windows", "segments"):
            raise ValueError(f"data.sampling={c.sampling!r}; choose epochs, random_windows or segments")
        if config.objective.name == "bilm" and c.sampling != "random_windows":
            raise ValueError("objective bilm trains on word windows: data.sampling=random_windows")
        if self.windows:
            if config.objective.name not in WINDOW_OBJECTIVES[c.sampling]:
                raise ValueError(f"data.sampling={c.sampling} is for the objectives {WINDOW_OBJECTIVES[c.sampling]}")
            separator = data.tokenizer.eos_token_id
            self.streams = {
                "train": stream(data.train_documents, separator),
                "eval": stream(data.eval_documents, separator),
            }
            self.num_train, self.num_eval = len(self.streams["train"]), len(self.streams["eval"])
            self.steps_per_epoch = max(1, self.num_train // (c.batch_size * c.max_length))
            unit = "tokens"
        else:
            self.num_train, self.num_eval = data.num_train, data.num_eval
            self.steps_per_epoch = self.num_train // c.batch_size
            unit = "examples"
        corpus = c.corpus_files or f"tfds {c.corpus_tfds}"
        self.description = (
            f"objective {config.objective.name} on {corpus}: {self.num_train:,} train / {self.num_eval:,} held-out "
            f"{unit}, vocabulary {len(data.tokenizer):,}"
        )

    has_validation = True
    selection_metric = "loss"

    def _batches(self, split: str, train: bool, max_batches: int = 0):
        c, config = self.config.data, self.config
        batch_size = c.batch_size if train else c.eval_batch_size
        seed = config.seed if train else config.seed + EVAL_SEED_OFFSET
        if self.sampling == "segments":
            tokens = self.streams["train" if split == "train" else "eval"]
            segments = ConsecutiveSegments(tokens, c.max_length, batch_size, train=train)
            if config.objective.name == "plm":  # XLNet: each segment permuted (PermutedSegments)
                return PermutedSegments(
                    segments, make_collator(config, self.data.tokenizer, len(segments.streams)), seed
                )
            return segments
        if self.windows:
            tokens = self.streams["train" if split == "train" else "eval"]
            windows = RandomWindows(tokens, c.max_length, batch_size, seed=seed, num_batches=max_batches)
            if config.objective.name == "bilm":
                return CharacterWordBatches(windows, self.data.tokenizer, config.model.elmo.max_chars)
            return windows
        examples = self.data.train_examples if split == "train" else self.data.eval_examples
        collator = make_collator(config, self.data.tokenizer, local_rows(batch_size)[0])
        dynamic = train and config.objective.masking == "dynamic"
        return ExampleBatches(
            examples, collator, batch_size, seed=seed, dynamic=dynamic, train=train, max_batches=max_batches
        )

    def train_batches(self):
        if self.config.objective.masking not in ("static", "dynamic"):
            raise ValueError(f"objective.masking={self.config.objective.masking!r}; choose static or dynamic")
        return self._batches("train", train=True)

    def evaluate(self, eval_step, trainable, frozen, mesh, split: str = "validation") -> dict | None:
        """split "validation": the held-out split (data.eval_batches batches; 0: all of it, random windows: 20);
        "train": data.eval_train_batches batches of the training split (None when 0), masks static."""
        c = self.config.data
        if split == "train":
            if not c.eval_train_batches:
                return None
            batches = self._batches("train", train=False, max_batches=c.eval_train_batches)
        else:
            batches = self._batches("eval", train=False, max_batches=c.eval_batches or (20 if self.windows else 0))
        return evaluate_objective(eval_step, trainable, frozen, batches, mesh, self.term_weights)
