"""Resumable pretraining batch iterators: this process's rows of each global batch, collated to fixed shapes.

- `ExampleBatches`: shuffled epochs over built examples. The masking noise of an example is seeded by
  (seed, example index) for static masking and by (seed, epoch, example index) for dynamic masking
  (plmjax.data.pretraining.example_rngs), so masks do not depend on the process count and a resumed run draws
  the same ones.
- `RandomWindows`: nanoGPT's get_batch: contiguous windows at uniformly random offsets of one token stream,
  seeded by (seed, batch number).

Both give `get_state()` / `set_state()` (a JSON-able position, checkpointed with the model).
"""

import jax
import numpy as np

from plmjax.data import pretraining as pt
from plmjax.train.evaluate import evaluate_objective
from plmjax.train.pretraining_inputs import stream, t5_tokens_length

# Collator noise seeds are derived from the run seed so that the held-out split's (static) masks differ from
# the training ones.
EVAL_SEED_OFFSET = 1_000_003


def make_collator(config, tokenizer, rows: int):
    """The objective's collator for batches of `rows` rows padded to the data.max_length."""
    o, length = config.objective, config.data.max_length
    if o.name in ("mlm", "electra", "distillation"):
        masker = pt.MlmMasker.from_tokenizer(tokenizer, unit=o.mask_unit, mask_prob=o.mask_prob)
        return pt.MlmCollator(masker, length, tokenizer.pad_token_id, batch_size=rows)
    if o.name == "clm":
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
        return pt.CausalLmCollator(length, pad, batch_size=rows)
    if o.name == "bart":
        return pt.BartDenoisingCollator.from_tokenizer(tokenizer, length, batch_size=rows, **o.bart.to_dict())
    if o.name == "t5":
        collator, tokens_length = pt.T5SpanCorruptionCollator.from_tokenizer(
            tokenizer, length, batch_size=rows, **o.t5.to_dict()
        )
        assert tokens_length == t5_tokens_length(config)
        return collator
    raise ValueError(f"objective {o.name!r} has no collator")


def _local_rows(batch_size: int) -> tuple[int, int]:
    """(rows per process, this process's first row)."""
    count = jax.process_count()
    if batch_size % count:
        raise ValueError(f"batch size {batch_size} is not a multiple of the process count {count}")
    rows = batch_size // count
    return rows, jax.process_index() * rows


class ExampleBatches:
    """Training: endless shuffled epochs, the last partial batch dropped. Evaluation (train=False): one pass in
    order (or the first `max_batches`), the last batch padded with weight-0 rows; masks static."""

    def __init__(self, examples, collator, batch_size, *, seed, dynamic, train=True, max_batches=0):
        self.examples, self.collator, self.batch_size = examples, collator, batch_size
        self.seed, self.dynamic, self.train = seed, dynamic, train
        self.rows, self.first_row = _local_rows(batch_size)
        count = len(examples) // batch_size if train else -(-len(examples) // batch_size)
        self.steps_per_epoch = min(count, max_batches) if max_batches else count
        if self.steps_per_epoch == 0:
            raise ValueError(f"{len(examples)} examples make no batch of {batch_size}")
        self.epoch, self.position = 0, 0
        self._order = None

    def __iter__(self):
        return self

    def order(self, epoch: int) -> np.ndarray:
        if self._order is None or self._order[0] != epoch:
            rng = np.random.default_rng([self.seed, epoch])
            order = rng.permutation(len(self.examples)) if self.train else np.arange(len(self.examples))
            self._order = (epoch, order)
        return self._order[1]

    def __next__(self) -> dict:
        if self.position >= self.steps_per_epoch:
            if not self.train:
                raise StopIteration
            self.epoch, self.position = self.epoch + 1, 0
        start = self.position * self.batch_size + self.first_row
        mine = self.order(self.epoch)[start : min(start + self.rows, (self.position + 1) * self.batch_size)]
        self.position += 1
        rngs = pt.example_rngs(self.seed, mine, self.epoch if self.dynamic else None)
        return self.collator([self.examples[i] for i in mine], rngs)

    def get_state(self) -> dict:
        return {"epoch": self.epoch, "position": self.position, "num_examples": len(self.examples)}

    def set_state(self, state: dict) -> None:
        if state.get("num_examples", len(self.examples)) != len(self.examples):
            raise ValueError(
                f"the saved data position is over {state['num_examples']} examples, this corpus gives "
                f"{len(self.examples)}: resuming would yield different batches"
            )
        self.epoch, self.position = int(state["epoch"]), int(state["position"])


class RandomWindows:
    """Causal-LM batches of `length`-token windows of `tokens` at random offsets: input_ids = tokens[i:i+length],
    target_ids = tokens[i+1:i+length+1] (every position predicts, as nanoGPT). `num_batches` (evaluation):
    stop after that many; else endless."""

    def __init__(self, tokens: np.ndarray, length: int, batch_size: int, *, seed: int, num_batches: int = 0):
        if len(tokens) <= length + 1:
            raise ValueError(f"a text of {len(tokens)} tokens has no window of {length} + 1")
        self.tokens, self.length, self.batch_size = np.asarray(tokens, np.int32), length, batch_size
        self.seed, self.num_batches = seed, num_batches
        self.rows, self.first_row = _local_rows(batch_size)
        self.position = 0

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        if self.num_batches and self.position >= self.num_batches:
            raise StopIteration
        rng = np.random.default_rng([self.seed, self.position])
        self.position += 1
        starts = rng.integers(0, len(self.tokens) - self.length, size=self.batch_size)
        starts = starts[self.first_row : self.first_row + self.rows]
        window = starts[:, None] + np.arange(self.length)[None]
        ones = np.ones((self.rows, self.length), np.int32)
        return {
            "input_ids": self.tokens[window],
            "attention_mask": ones,
            "target_ids": self.tokens[window + 1],
            "target_weights": ones.astype(np.float32),
            "weights": np.ones((self.rows,), np.float32),
        }

    def get_state(self) -> dict:
        return {"position": self.position}

    def set_state(self, state: dict) -> None:
        self.position = int(state["position"])


class PretrainingSource:
    """A pretraining run's batches and its held-out evaluation (the objective's loss and metrics)."""

    def __init__(self, config, data, term_weights: dict):
        self.config, self.data, self.term_weights = config, data, term_weights
        c = config.data
        self.windows = c.sampling == "random_windows"
        if c.sampling not in ("epochs", "random_windows"):
            raise ValueError(f"data.sampling={c.sampling!r}; choose epochs or random_windows")
        if self.windows:
            if config.objective.name != "clm":
                raise ValueError("data.sampling=random_windows is for the clm objective")
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
        if self.windows:
            tokens = self.streams["train" if split == "train" else "eval"]
            return RandomWindows(tokens, c.max_length, batch_size, seed=seed, num_batches=max_batches)
        examples = self.data.train_examples if split == "train" else self.data.eval_examples
        collator = make_collator(config, self.data.tokenizer, _local_rows(batch_size)[0])
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
