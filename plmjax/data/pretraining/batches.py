"""Resumable pretraining batch iterators: this process's rows of each global batch, collated to fixed shapes.

- `ExampleBatches`: shuffled epochs over built examples. The masking noise of an example is seeded by
  (seed, example index) for static masking and by (seed, epoch, example index) for dynamic masking
  (plmjax.data.pretraining.example_rngs), so masks do not depend on the process count and a resumed run draws
  the same ones.
- `RandomWindows`: nanoGPT's get_batch: contiguous windows at uniformly random offsets of one token stream,
  seeded by (seed, batch number).

Both give `get_state()` / `set_state()` (a JSON-able position, checkpointed with the model).
"""

import functools
import json
import os

import jax
import numpy as np

from plmjax.data import pretraining as pt
from plmjax.data.pretraining.knowledge_masking import KNOWLEDGE_UNITS
from plmjax.data.pretraining.permutation import PermutationLmCollator
from plmjax.data.pretraining.run_data import t5_tokens_length
from plmjax.data.pretraining.text_pairs import TextToTextCollator

# Collator noise seeds are derived from the run seed so that the held-out split's (static) masks differ from
# the training ones.
EVAL_SEED_OFFSET = 1_000_003


def make_collator(config, tokenizer, rows: int):
    """The objective's collator for batches of `rows` rows padded to the data.max_length."""
    o, length = config.objective, config.data.max_length
    if o.name in ("mlm", "electra", "distillation"):
        knowledge = None
        if o.mask_unit in KNOWLEDGE_UNITS:
            phrases, entities = corpus_lexicons(config.data.corpus_files, config.data.corpus_layout)
            knowledge = pt.KnowledgeSpans(pt.piece_texts(tokenizer), phrases, entities)
        masker = pt.MlmMasker.from_tokenizer(tokenizer, unit=o.mask_unit, mask_prob=o.mask_prob, knowledge=knowledge)
        return pt.MlmCollator(masker, length, tokenizer.pad_token_id, batch_size=rows)
    if o.name == "clm":
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
        return pt.CausalLmCollator(length, pad, batch_size=rows)
    if o.name == "plm":
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        return PermutationLmCollator(length, pad, o.partial_prediction, batch_size=rows)
    if o.name == "bart":
        return pt.BartDenoisingCollator.from_tokenizer(tokenizer, length, batch_size=rows, **o.bart.to_dict())
    if o.name == "t5":
        collator, tokens_length = pt.T5SpanCorruptionCollator.from_tokenizer(
            tokenizer, length, batch_size=rows, **o.t5.to_dict()
        )
        assert tokens_length == t5_tokens_length(config)
        return collator
    if o.name in ("text_to_text", "cove"):
        # cove's decoder shifts its targets itself (after bos); text_to_text's starts as its HF model says.
        default = tokenizer.bos_token_id if o.name == "cove" else tokenizer.pad_token_id
        start = decoder_start_token_id(config.model.name_or_path, default)
        return TextToTextCollator(length, o.text_to_text.target_length, tokenizer.pad_token_id, start, batch_size=rows)
    raise ValueError(f"objective {o.name!r} has no collator")


@functools.cache
def corpus_lexicons(corpus_files: str, layout: str) -> tuple[frozenset, frozenset]:
    """ERNIE's units for data.corpus_files: (phrases, entities) computed from the corpus's sentences."""
    if not corpus_files:
        raise ValueError("phrase/entity masking learns its phrases and entities from data.corpus_files: set them")
    texts = [s for path in corpus_files.split(",") for doc in pt.read_documents(path, layout) for s in doc]
    return frozenset(pt.phrase_lexicon(texts)), frozenset(pt.entity_gazetteer(texts))


def decoder_start_token_id(model_path: str, default: int) -> int:
    """The decoder's first input: the HF model directory's decoder_start_token_id (BART: EOS), else `default`
    (T5: the pad id)."""
    path = os.path.join(model_path, "config.json")
    if os.path.isfile(path):
        with open(path) as f:
            start = json.load(f).get("decoder_start_token_id")
        if start is not None:
            return int(start)
    return default


def local_rows(batch_size: int) -> tuple[int, int]:
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
        self.rows, self.first_row = local_rows(batch_size)
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


class ConsecutiveSegments:
    """Transformer-XL's batches: `tokens` cut into batch_size parallel streams of equal length (the tail that does
    not divide dropped), and batch k the k-th `length`-token segment of every stream (input_ids, and target_ids
    one token later), so row r of consecutive batches continues the same text and a segment memory carries
    over. Training cycles through the segments endlessly; evaluation (train=False) gives one batch holding
    every stream whole (a multiple of `length` tokens), which the objective walks segment by segment."""

    def __init__(self, tokens: np.ndarray, length: int, batch_size: int, *, train: bool = True):
        tokens = np.asarray(tokens, np.int32)
        per_stream = len(tokens) // batch_size
        self.segments = (per_stream - 1) // length
        if self.segments < 1:
            raise ValueError(
                f"{len(tokens)} tokens in {batch_size} streams leave no {length}-token segment (and its next token)"
            )
        self.streams = tokens[: per_stream * batch_size].reshape(batch_size, per_stream)
        self.length, self.train = length, train
        rows, self.first_row = local_rows(batch_size)
        self.streams = self.streams[self.first_row : self.first_row + rows]
        self.position = 0

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        if self.train:
            start, size = (self.position % self.segments) * self.length, self.length
        elif self.position:
            raise StopIteration
        else:
            start, size = 0, self.segments * self.length
        self.position += 1
        ones = np.ones((len(self.streams), size), np.int32)
        return {
            "input_ids": self.streams[:, start : start + size],
            "attention_mask": ones,
            "target_ids": self.streams[:, start + 1 : start + size + 1],
            "target_weights": ones.astype(np.float32),
            "weights": np.ones((len(self.streams),), np.float32),
        }

    def get_state(self) -> dict:
        return {"position": self.position}

    def set_state(self, state: dict) -> None:
        self.position = int(state["position"])


class RandomWindows:
    """Causal-LM batches of `length`-token windows of `tokens` at random offsets: input_ids = tokens[i:i+length],
    target_ids = tokens[i+1:i+length+1] (every position predicts, as nanoGPT). `num_batches` (evaluation):
    stop after that many; else endless."""

    def __init__(self, tokens: np.ndarray, length: int, batch_size: int, *, seed: int, num_batches: int = 0):
        if len(tokens) <= length + 1:
            raise ValueError(f"a text of {len(tokens)} tokens has no window of {length} + 1")
        self.tokens, self.length, self.batch_size = np.asarray(tokens, np.int32), length, batch_size
        self.seed, self.num_batches = seed, num_batches
        self.rows, self.first_row = local_rows(batch_size)
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


class CharacterWordBatches:
    """A word LM's windows (RandomWindows over a WordTokenizer's ids) as ELMo's biLM reads them: char_ids
    [rows, length, max_chars] (each word's characters, looked up in the vocabulary's table) and word_ids (the
    softmax's targets, <unk> past its vocabulary). Position and state are the windows'."""

    def __init__(self, windows, tokenizer, max_chars: int):
        self.windows, self.tokenizer = windows, tokenizer
        self.table = tokenizer.char_table(max_chars)

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        batch = next(self.windows)
        ids = batch["input_ids"]
        return {"char_ids": self.table[ids], "word_ids": self.tokenizer.softmax_ids(ids), "weights": batch["weights"]}

    def get_state(self) -> dict:
        return self.windows.get_state()

    def set_state(self, state: dict) -> None:
        self.windows.set_state(state)
