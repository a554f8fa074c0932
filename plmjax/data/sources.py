"""`read_examples`: one split of a task as a list of `{text fields..., "label": int | float}` dicts.

The three sources (a builder function, local files, the tfds catalog) yield raw rows with a description of where
each came from; this module turns them into examples the same way for all three, so that a bad label or a
missing text is reported with its file and line (or tfds split and position) whatever the source.
"""

import csv
import math
import os
from collections.abc import Iterator

from plmjax.data import local_files
from plmjax.data.errors import DataError, EmptyDatasetError, MalformedRowError
from plmjax.data.tasks import TaskSpec
from plmjax.data.tfds_source import tfds_source


class RowProblem(Exception):
    """A problem with one row, raised where the row's position is not known and re-raised with it."""


def parse_label(raw, task: TaskSpec):
    """A source's label (an index, a class name, "0"/"1", True/False, a score) -> int class index or float."""
    if task.is_regression:
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise RowProblem(f"label {raw!r} is not a number (task {task.name} is a regression)") from None
        if not math.isfinite(value):
            raise RowProblem(f"label {raw!r} is not a finite number")
        return value
    if isinstance(raw, bool):
        raw = str(raw)  # BoolQ's JSON labels; its class names are "False" and "True"
    if isinstance(raw, str) and raw in task.label_names:
        return task.label_names.index(raw)
    try:
        index = int(raw.strip()) if isinstance(raw, str) else int(raw)
    except (TypeError, ValueError):
        raise RowProblem(f"label {raw!r} is neither a class index nor one of {list(task.label_names)}") from None
    if index != raw and not isinstance(raw, str):
        raise RowProblem(f"label {raw!r} is not an integer class index")
    if not 0 <= index < task.num_labels:
        hint = " (tfds marks unlabelled test examples with -1)" if index == -1 else ""
        raise RowProblem(f"label {raw!r} is not a class index in [0, {task.num_labels}){hint}")
    return index


def _example(task: TaskSpec, row: dict) -> dict:
    if task.preprocess is not None:
        try:
            row = task.preprocess(row)
        except KeyError as error:
            raise RowProblem(f"missing field {error} (the row has {sorted(row)})") from None
    example = {}
    for field in task.text_fields:
        if field not in row:
            raise RowProblem(f"missing text field {field!r} (the row has {sorted(row)})")
        if not isinstance(row[field], str):
            raise RowProblem(f"text field {field!r} is {type(row[field]).__name__}, not a string")
        example[field] = row[field]
    if task.label_field not in row:
        raise RowProblem(f"missing label field {task.label_field!r} (the row has {sorted(row)})")
    example["label"] = parse_label(row[task.label_field], task)
    return example


def _local_rows(task: TaskSpec, source_split: str, split: str) -> tuple[str, Iterator[tuple[int, dict]]]:
    file_name = task.local_files.get(source_split)
    if file_name is None:
        if os.path.isfile(os.path.join(task.data_dir, split)):
            file_name = split  # a file named directly, e.g. LM-BFF's labelled "test.tsv"
        else:
            raise DataError(
                f"task {task.name} has no split {split!r} in {task.data_dir}: its splits are "
                f"{sorted(task.splits)} (files {dict(task.local_files)}), or name a file there"
            )
    path = os.path.join(task.data_dir, file_name)
    if not os.path.isfile(path):
        raise DataError(f"task {task.name}, split {split!r}: no file {path}")
    if task.local_format == "jsonl":
        return path, local_files.iter_jsonl_rows(path)
    columns = task.local_columns
    if columns is None:
        columns = {**{field: field for field in task.text_fields}, task.label_field: task.label_field}
    # GLUE's TSVs are read with QUOTE_NONE (their quotes are text); CSV files use standard quoting.
    delimiter, quoting = ("\t", csv.QUOTE_NONE) if task.local_format == "tsv" else (",", csv.QUOTE_MINIMAL)
    rows = local_files.iter_delimited_rows(
        path,
        columns,
        delimiter=delimiter,
        quoting=quoting,
        has_header=task.local_has_header,
        ragged=task.local_ragged_rows,
    )
    return path, rows


def read_examples(task: TaskSpec, split: str) -> list[dict]:
    """The examples of `split` ("train", "validation", "validation_mismatched", ...) of `task`.

    Each is `{field: str for field in task.text_fields} | {"label": int}` (class index in `task.label_names`
    order) or `{"label": float}` for regression. A malformed row raises `MalformedRowError` naming the file and
    line; an empty split raises `EmptyDatasetError`.
    """
    source_split = task.splits.get(split, split)
    examples = []
    if task.source == "local":
        where, rows = _local_rows(task, source_split, split)
        for line, row in rows:
            try:
                examples.append(_example(task, row))
            except RowProblem as problem:
                raise MalformedRowError(where, line, str(problem)) from None
    else:
        if task.source == "builder":
            where, rows = f"the {task.name} builder", task.build_examples(source_split)
        else:
            rows = tfds_source(task.tfds_name, source_split, data_dir=task.tfds_data_dir)
            where = f"tfds {task.tfds_name} split {source_split!r}"
        for position, row in enumerate(rows):
            try:
                examples.append(_example(task, row))
            except RowProblem as problem:
                raise DataError(f"{where}, example {position}: {problem}") from None
    if not examples:
        raise EmptyDatasetError(f"task {task.name}, split {split!r}: {where} has no examples")
    return examples
