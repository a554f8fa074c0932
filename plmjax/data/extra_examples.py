"""Training examples beyond a task's train split, from JSONL files (data.extra_train_files): what the
semi-supervised methods add, examples labelled by other models (iPET, self-training) or with soft labels (PET's
final classifier).

Each line is an object with the task's text fields and either "label" (a class index or name) or
"soft_labels" (one probability per class). A row that breaks this is a MalformedRowError naming the file and
line. When any training example has soft labels, every one gets them (one-hot for a label), as `soft_labels`
[examples, classes] beside the labels (each soft example's label: its most likely class).
"""

import math

import numpy as np

from plmjax.data import local_files
from plmjax.data.errors import MalformedRowError
from plmjax.data.sources import RowProblem, parse_label


def _soft_labels(raw, num_labels: int) -> list[float]:
    if not isinstance(raw, list) or len(raw) != num_labels:
        raise RowProblem(f"soft_labels must be a list of {num_labels} probabilities, not {raw!r}")
    values = [float(v) for v in raw]
    if not all(math.isfinite(v) and v >= 0 for v in values) or abs(sum(values) - 1.0) > 1e-3:
        raise RowProblem(f"soft_labels {raw} are not probabilities (non-negative, summing to 1)")
    return values


def read_extra_examples(path: str, task) -> list[dict]:
    examples = []
    for line, row in local_files.iter_jsonl_rows(path, task.text_fields):
        try:
            example = {field: row[field] for field in task.text_fields}
            if not all(isinstance(example[field], str) for field in task.text_fields):
                raise RowProblem(f"the text fields {task.text_fields} must be strings")
            if "soft_labels" in row:
                example["soft_labels"] = _soft_labels(row["soft_labels"], task.num_labels)
                example["label"] = int(np.argmax(example["soft_labels"]))
            elif "label" in row:
                example["label"] = parse_label(row["label"], task)
            else:
                raise RowProblem('each example needs a "label" or "soft_labels"')
        except RowProblem as problem:
            raise MalformedRowError(path, line, str(problem)) from None
        examples.append(example)
    return examples


def soft_label_array(examples: list[dict], num_labels: int) -> np.ndarray | None:
    """[examples, classes] float32 when any example has soft labels (one-hot for the others), else None."""
    if not any("soft_labels" in e for e in examples):
        return None
    array = np.zeros((len(examples), num_labels), np.float32)
    for row, example in enumerate(examples):
        if "soft_labels" in example:
            array[row] = example["soft_labels"]
        else:
            array[row, example["label"]] = 1.0
    return array
