"""Host-side collators for masked LM (with NSP/SOP labels when the examples carry them) and causal LM.

Every batch is a dict of numpy arrays padded to a fixed `max_length` (one shape, one compilation): `input_ids`,
`attention_mask` (1 = real token), `token_type_ids` when the examples have them, and `weights` [batch] (1 for
real rows, 0 for the padding rows added when `batch_size` is larger than the number of examples).

An example is a list of token ids (special tokens included, as a tokenizer or `examples.py` builds them) or a
dict with `input_ids` and optionally `token_type_ids`, `word_ids` (a fast tokenizer's, for whole-word masking)
and `sentence_label` (NSP/SOP). `rng` is one `numpy.random.Generator` for the whole batch, or one per example
(`masking.example_rngs`: static or dynamic masking).
"""

from collections.abc import Mapping

import numpy as np

from plmjax.data.pretraining.masking import MlmMasker, per_example_generators


def _as_dict(example) -> Mapping:
    return example if isinstance(example, Mapping) else {"input_ids": example}


def pad_batch(examples, max_length: int, pad_token_id: int, *, batch_size: int | None = None) -> dict:
    """`input_ids`, `attention_mask`, `weights`, and `token_type_ids` / `sentence_labels` when the examples have
    them, padded to `[batch_size or len(examples), max_length]`. An example longer than `max_length` is an error
    (truncating it would cut its final separator: build examples for the length instead)."""
    examples = [_as_dict(example) for example in examples]
    rows = batch_size if batch_size is not None else len(examples)
    if rows < len(examples):
        raise ValueError(f"{len(examples)} examples do not fit in a batch of {rows}")
    batch = {
        "input_ids": np.full((rows, max_length), pad_token_id, dtype=np.int32),
        "attention_mask": np.zeros((rows, max_length), dtype=np.int32),
        "weights": np.zeros((rows,), dtype=np.float32),
    }
    with_types = any("token_type_ids" in example for example in examples)
    if with_types:
        batch["token_type_ids"] = np.zeros((rows, max_length), dtype=np.int32)
    with_labels = any("sentence_label" in example for example in examples)
    if with_labels:
        batch["sentence_labels"] = np.zeros((rows,), dtype=np.int32)
    for row, example in enumerate(examples):
        ids = example["input_ids"]
        if len(ids) > max_length:
            raise ValueError(f"example {row} has {len(ids)} tokens, more than max_length={max_length}")
        batch["input_ids"][row, : len(ids)] = ids
        batch["attention_mask"][row, : len(ids)] = 1
        batch["weights"][row] = 1.0
        if with_types:
            batch["token_type_ids"][row, : len(ids)] = example.get("token_type_ids", 0)
        if with_labels:
            batch["sentence_labels"][row] = example["sentence_label"]
    return batch


class MlmCollator:
    """Masked-LM batches: `pad_batch`'s keys plus `mlm_labels` (original id at selected positions, 0 elsewhere)
    and `mlm_weights` (1.0 at selected positions); `input_ids` carry the 80/10/10 corruption. Examples built by
    `create_segment_pairs` also give `token_type_ids` and `sentence_labels` (BERT's MLM + NSP, ALBERT's MLM + SOP).
    """

    def __init__(self, masker: MlmMasker, max_length: int, pad_token_id: int, *, batch_size: int | None = None):
        self.masker = masker
        self.max_length = max_length
        self.pad_token_id = pad_token_id
        self.batch_size = batch_size

    @classmethod
    def from_tokenizer(cls, tokenizer, max_length: int, *, batch_size: int | None = None, **masking):
        """`masking`: `MlmMasker` options (`unit`, `mask_prob`, ...)."""
        masker = MlmMasker.from_tokenizer(tokenizer, **masking)
        return cls(masker, max_length, tokenizer.pad_token_id, batch_size=batch_size)

    def __call__(self, examples, rng) -> dict:
        examples = [_as_dict(example) for example in examples]
        batch = pad_batch(examples, self.max_length, self.pad_token_id, batch_size=self.batch_size)
        batch["mlm_labels"] = np.zeros_like(batch["input_ids"])
        batch["mlm_weights"] = np.zeros(batch["input_ids"].shape, dtype=np.float32)
        rngs = per_example_generators(rng, len(examples))
        for row, (example, example_rng) in enumerate(zip(examples, rngs, strict=True)):
            corrupted, labels, weights = self.masker.mask(example["input_ids"], example_rng, example.get("word_ids"))
            length = len(corrupted)
            batch["input_ids"][row, :length] = corrupted
            batch["mlm_labels"][row, :length] = labels
            batch["mlm_weights"][row, :length] = weights
        return batch


class CausalLmCollator:
    """Causal-LM batches: `input_ids`, `attention_mask`, `weights`, and `target_ids[t] = input_ids[t + 1]` with
    `target_weights` 0 at the last position of a row and at padding. Rows are usually `pack_documents` rows."""

    def __init__(self, max_length: int, pad_token_id: int, *, batch_size: int | None = None):
        self.max_length = max_length
        self.pad_token_id = pad_token_id
        self.batch_size = batch_size

    def __call__(self, examples, rng=None) -> dict:
        """`rng` is unused (causal LM has no noise); it is accepted so every collator is called the same way."""
        batch = pad_batch(examples, self.max_length, self.pad_token_id, batch_size=self.batch_size)
        batch["target_ids"] = np.full_like(batch["input_ids"], self.pad_token_id)
        batch["target_ids"][:, :-1] = batch["input_ids"][:, 1:]
        batch["target_weights"] = np.zeros(batch["input_ids"].shape, dtype=np.float32)
        batch["target_weights"][:, :-1] = batch["attention_mask"][:, 1:]
        return batch


def empty_seq2seq_batch(rows: int, inputs_length: int, targets_length: int, pad_token_id: int) -> dict:
    """The seq2seq batch layout (T5 span corruption, BART denoising, text-to-text), all padding: `input_ids`,
    `attention_mask` [rows, inputs_length], `decoder_input_ids`, `decoder_attention_mask`, `target_ids`,
    `target_weights` [rows, targets_length], `weights` [rows]."""
    inputs, targets = (rows, inputs_length), (rows, targets_length)
    return {
        "input_ids": np.full(inputs, pad_token_id, dtype=np.int32),
        "attention_mask": np.zeros(inputs, dtype=np.int32),
        "decoder_input_ids": np.full(targets, pad_token_id, dtype=np.int32),
        "decoder_attention_mask": np.zeros(targets, dtype=np.int32),
        "target_ids": np.full(targets, pad_token_id, dtype=np.int32),
        "target_weights": np.zeros(targets, dtype=np.float32),
        "weights": np.zeros((rows,), dtype=np.float32),
    }


def put_seq2seq_row(batch: dict, row: int, inputs, targets, decoder_start_token_id: int) -> None:
    """Row `row` of a seq2seq batch: the encoder reads `inputs`, the decoder `targets` shifted right after the
    start token and learns `targets`."""
    batch["input_ids"][row, : len(inputs)] = inputs
    batch["attention_mask"][row, : len(inputs)] = 1
    batch["target_ids"][row, : len(targets)] = targets
    batch["target_weights"][row, : len(targets)] = 1.0
    batch["decoder_input_ids"][row, : len(targets)] = [decoder_start_token_id, *targets[:-1]]
    batch["decoder_attention_mask"][row, : len(targets)] = 1
    batch["weights"][row] = 1.0
