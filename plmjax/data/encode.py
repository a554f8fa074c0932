"""Tokenisation of task examples with the model's Hugging Face tokenizer.

Sentence pairs go through the tokenizer as pairs, so each model gets its own pair format (`[CLS] a [SEP] b
[SEP]` with token types 0/1 for BERT, `<s> a </s></s> b </s>` for RoBERTa). Sequences are left unpadded:
`BatchIterator` pads each batch to one of a few bucket lengths.
"""

import numpy as np

from plmjax.data.errors import DataError
from plmjax.data.tasks import TaskSpec

TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second")
_CHUNK = 1000


def _tokenize(tokenizer, firsts, seconds, max_length, truncation):
    return tokenizer(
        firsts,
        seconds,
        truncation=truncation,
        max_length=max_length,
        padding=False,
        return_token_type_ids=True,
        return_attention_mask=False,
    )


def _locate_failure(tokenizer, firsts, seconds, max_length, truncation, start, error) -> DataError:
    # A fast tokenizer fails a whole batch; find the example so the message can name it.
    for offset, first in enumerate(firsts):
        second = None if seconds is None else seconds[offset]
        try:
            _tokenize(tokenizer, [first], None if second is None else [second], max_length, truncation)
        except Exception as single_error:  # noqa: BLE001 (the tokenizer's own exception types vary)
            return DataError(
                f"example {start + offset} cannot be truncated to {max_length} tokens with truncation="
                f"{truncation!r} ({single_error}); use 'longest_first' or a larger max_length"
            )
    return DataError(f"the tokenizer failed on examples {start}..{start + len(firsts) - 1}: {error}")


def encode(tokenizer, examples: list[dict], task: TaskSpec, max_length: int, truncation: str = "longest_first"):
    """Tokenizes `examples` (from `read_examples`) into features for `BatchIterator`.

    Returns a dict: "input_ids" and "token_type_ids" (lists of int32 arrays, one per example, at most
    `max_length` long), "labels" (int32 [N], or float32 [N] for regression) and "pad_token_id" (int).
    `truncation` is "longest_first" (trim the longer text a token at a time), "only_first" or "only_second".
    """
    if truncation not in TRUNCATION_STRATEGIES:
        raise ValueError(f"truncation must be one of {TRUNCATION_STRATEGIES}, not {truncation!r}")
    if len(task.text_fields) == 1 and truncation == "only_second":
        raise ValueError(f"task {task.name} has one text, so it cannot be truncated with 'only_second'")
    if not examples:
        raise DataError(f"task {task.name}: no examples to encode")
    input_ids: list[np.ndarray] = []
    token_type_ids: list[np.ndarray] = []
    first_field = task.text_fields[0]
    second_field = task.text_fields[1] if len(task.text_fields) == 2 else None
    for start in range(0, len(examples), _CHUNK):
        chunk = examples[start : start + _CHUNK]
        firsts = [example[first_field] for example in chunk]
        seconds = None if second_field is None else [example[second_field] for example in chunk]
        try:
            encoded = _tokenize(tokenizer, firsts, seconds, max_length, truncation)
        except Exception as error:  # noqa: BLE001
            raise _locate_failure(tokenizer, firsts, seconds, max_length, truncation, start, error) from error
        types = encoded.get("token_type_ids")
        for offset, ids in enumerate(encoded["input_ids"]):
            if len(ids) > max_length:  # a slow tokenizer warns instead of raising
                raise DataError(
                    f"example {start + offset} is {len(ids)} tokens after truncation={truncation!r}, more than "
                    f"max_length {max_length}; use 'longest_first'"
                )
            input_ids.append(np.asarray(ids, dtype=np.int32))
            # Models without token types (RoBERTa, DistilBERT) get zeros, which their embeddings ignore.
            token_type_ids.append(np.asarray(types[offset] if types else np.zeros(len(ids)), dtype=np.int32))
    label_dtype = np.float32 if task.is_regression else np.int32
    pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return {
        "input_ids": input_ids,
        "token_type_ids": token_type_ids,
        "labels": np.asarray([example["label"] for example in examples], dtype=label_dtype),
        "pad_token_id": int(pad_token_id),
    }
