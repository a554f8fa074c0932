"""Supervised text-to-text data (objective.name = "text_to_text"): (source, target) pairs for a seq2seq model,
as T5 fine-tunes on any task cast as text, e.g. STraTA's NLI data generator ("entailment: <premise>" ->
"<hypothesis>"; plmjax.train.task_augmentation).

A pairs file is JSON lines, each an object with string "source" and "target" fields; a row that breaks this is a
MalformedRowError naming the file and line. Each side is tokenised without special tokens, cut to its length
less one and ended with EOS (the T5 convention: the model learns to stop).
"""

from plmjax.data import local_files
from plmjax.data.errors import DataError, MalformedRowError
from plmjax.data.pretraining.collators import empty_seq2seq_batch, put_seq2seq_row

FIELDS = ("source", "target")


def read_text_pairs(path: str) -> list[tuple[str, str]]:
    pairs = []
    for line, row in local_files.iter_jsonl_rows(path, FIELDS):
        if not all(isinstance(row[field], str) for field in FIELDS):
            raise MalformedRowError(path, line, f'"source" and "target" must be strings, not {row!r}')
        pairs.append((row["source"], row["target"]))
    if not pairs:
        raise DataError(f"{path}: no (source, target) pairs")
    return pairs


def encode_text_pairs(tokenizer, pairs, source_length: int, target_length: int) -> list[tuple[list, list]]:
    """(source ids, target ids) of each pair, each at most its length and ending with EOS."""
    if tokenizer.eos_token_id is None:
        raise ValueError("text-to-text training needs a tokenizer with an EOS token")

    def encode(texts, length):
        ids = tokenizer(list(texts), add_special_tokens=False)["input_ids"] if texts else []
        return [list(row[: length - 1]) + [tokenizer.eos_token_id] for row in ids]

    sources = encode([s for s, _ in pairs], source_length)
    targets = encode([t for _, t in pairs], target_length)
    return list(zip(sources, targets, strict=True))


class TextToTextCollator:
    """Seq2seq batches of encoded pairs, padded to (source_length, target_length): `input_ids`,
    `attention_mask`, `decoder_input_ids` (the targets shifted right after `decoder_start_token_id`; T5: the pad
    id), `decoder_attention_mask`, `target_ids`, `target_weights`, `weights` [batch] (0: a padding row)."""

    def __init__(self, source_length: int, target_length: int, pad_token_id: int, decoder_start_token_id=None,
                 *, batch_size: int | None = None):  # fmt: skip
        self.source_length, self.target_length, self.pad = source_length, target_length, pad_token_id
        self.start = pad_token_id if decoder_start_token_id is None else decoder_start_token_id
        self.batch_size = batch_size

    def __call__(self, examples, rng=None) -> dict:
        """`rng` is unused (no noise); accepted so every collator is called the same way."""
        rows = self.batch_size if self.batch_size is not None else len(examples)
        if rows < len(examples):
            raise ValueError(f"{len(examples)} examples do not fit in a batch of {rows}")
        s, t = self.source_length, self.target_length
        batch = empty_seq2seq_batch(rows, s, t, self.pad)
        for row, (source, target) in enumerate(examples):
            if len(source) > s or len(target) > t:
                raise ValueError(f"example {row} ({len(source)}/{len(target)} tokens) is longer than {s}/{t}")
            put_seq2seq_row(batch, row, source, target, self.start)
        return batch
