"""Readers for local data files: GLUE-style TSV, CSV, JSONL and plain text.

Every reader reports a row it cannot parse as a `MalformedRowError` naming the file and the 1-based line, and
never skips one silently (a silently dropped row changes a benchmark number). Blank lines are not rows.
The `iter_*` readers yield `(line, row)` pairs so that later checks (an unknown label) can name the line too.
"""

import csv
import json
import os
from collections.abc import Iterator, Mapping

from plmjax.data.errors import MalformedRowError


def decoded_lines(path: str, handle, encoding: str) -> Iterator[str]:
    """Decodes a binary file line by line (split on "\\n" only), so a bad byte is reported on its own line.

    A UTF-8 byte-order mark on the first line is dropped (MRPC's files carry one before their header).
    """
    for line, raw in enumerate(handle, start=1):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as error:
            raise MalformedRowError(path, line, f"not valid {encoding}: {error}") from error
        yield text[1:] if line == 1 and text.startswith("\ufeff") else text


# A column is named by its header text, or by its 0-based position in a file without a header (GLUE's CoLA).
ColumnRef = str | int


def iter_delimited_rows(
    path: str,
    columns: Mapping[str, ColumnRef] | None = None,
    *,
    delimiter: str = "\t",
    quoting: int = csv.QUOTE_NONE,
    has_header: bool = True,
    encoding: str = "utf-8",
    ragged: bool = False,
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yields `(line, {field: text})` for each row; `columns` maps field names to header names or positions.

    With `columns=None` every header column is returned under its own name. Each row must have as many fields
    as the header (or, without a header, as the first row): a short or long row is a malformed one. ragged:
    rows may have more fields than the header (GLUE's SNLI: one label column per annotator), and a negative
    position counts from each row's own end (-1: its last field, SNLI's gold label).
    """
    if columns is None and not has_header:
        raise ValueError(f"{path}: a file without a header needs `columns` (field name -> column position)")
    with open(path, "rb") as handle:
        reader = csv.reader(decoded_lines(path, handle, encoding), delimiter=delimiter, quoting=quoting)
        expected_width = None
        positions: dict[str, int] = {}
        header: list[str] | None = None
        while True:
            start_line = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise MalformedRowError(path, start_line, f"cannot parse the row: {error}") from error
            if not fields:
                continue
            if has_header and header is None:
                header = fields
                expected_width = len(header)
                positions = _positions_from_header(path, start_line, header, columns)
                continue
            if expected_width is None:
                expected_width = len(fields)
                positions = _positions_without_header(path, start_line, expected_width, columns)
            if ragged and len(fields) >= expected_width:
                row_positions = {name: (columns[name] if isinstance(columns.get(name), int) and columns[name] < 0
                                        else position) for name, position in positions.items()}  # fmt: skip
                yield start_line, {name: fields[position] for name, position in row_positions.items()}
                continue
            if len(fields) != expected_width:
                what = f"the header's {expected_width}" if has_header else f"the first row's {expected_width}"
                sep = "tab" if delimiter == "\t" else repr(delimiter)
                raise MalformedRowError(
                    path, start_line, f"found {len(fields)} {sep}-separated fields where {what} were expected"
                )
            yield start_line, {name: fields[position] for name, position in positions.items()}


def _positions_from_header(
    path: str, line: int, header: list[str], columns: Mapping[str, ColumnRef] | None
) -> dict[str, int]:
    if columns is None:
        return {name: position for position, name in enumerate(header)}
    positions = {}
    for field, ref in columns.items():
        if isinstance(ref, int):
            positions[field] = _check_position(path, line, ref, len(header))
        elif ref in header:
            positions[field] = header.index(ref)
        else:
            raise MalformedRowError(path, line, f"the header has no column {ref!r} (it has {header})")
    return positions


def _positions_without_header(path: str, line: int, width: int, columns: Mapping[str, ColumnRef]) -> dict[str, int]:
    positions = {}
    for field, ref in columns.items():
        if not isinstance(ref, int):
            raise ValueError(f"{path}: the file has no header, so column {ref!r} must be given as a position")
        positions[field] = _check_position(path, line, ref, width)
    return positions


def _check_position(path: str, line: int, position: int, width: int) -> int:
    if not -width <= position < width:
        raise MalformedRowError(path, line, f"column {position} does not exist in a row of {width} fields")
    return position % width


def read_tsv(path: str, columns: Mapping[str, ColumnRef] | None = None, *, has_header: bool = True) -> list[dict]:
    """A GLUE-style tab-separated file, read with QUOTE_NONE: quote characters are part of the text."""
    return [row for _, row in iter_delimited_rows(path, columns, has_header=has_header)]


def read_csv(path: str, columns: Mapping[str, ColumnRef] | None = None, *, has_header: bool = True) -> list[dict]:
    """A comma-separated file with standard CSV quoting (LM-BFF's `label,sentence` files)."""
    rows = iter_delimited_rows(path, columns, delimiter=",", quoting=csv.QUOTE_MINIMAL, has_header=has_header)
    return [row for _, row in rows]


def iter_jsonl_rows(
    path: str, required_fields: tuple[str, ...] = (), *, encoding: str = "utf-8"
) -> Iterator[tuple[int, dict]]:
    """Yields `(line, object)` for each line of a JSON-lines file; each must be an object with `required_fields`."""
    with open(path, "rb") as handle:
        for line, text in enumerate(decoded_lines(path, handle, encoding), start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as error:
                raise MalformedRowError(path, line, f"not valid JSON: {error}") from error
            if not isinstance(row, dict):
                raise MalformedRowError(path, line, f"expected a JSON object, found {type(row).__name__}")
            missing = [field for field in required_fields if field not in row]
            if missing:
                raise MalformedRowError(path, line, f"missing field(s) {missing} (the row has {sorted(row)})")
            yield line, row


def read_jsonl(path: str, required_fields: tuple[str, ...] = ()) -> list[dict]:
    """A JSON-lines file as a list of objects (for pretraining text: `read_jsonl(path, ("text",))`)."""
    return [row for _, row in iter_jsonl_rows(path, required_fields)]


def read_text_file(path: str, *, encoding: str = "utf-8", documents: bool = False) -> list[str] | list[list[str]]:
    """The non-blank lines of a plain text file (trailing newline removed, text otherwise untouched).

    With `documents=True`, blank lines separate documents and the result is a list of documents, each a list of
    lines (the layout of BERT's pretraining corpora, where next-sentence pairs never cross a document).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such text file: {path}")
    lines: list[str] = []
    grouped: list[list[str]] = []
    with open(path, "rb") as handle:
        for raw in decoded_lines(path, handle, encoding):
            text = raw.rstrip("\r\n")
            if text.strip():
                lines.append(text)
            elif documents and lines:
                grouped.append(lines)
                lines = []
    if not documents:
        return lines
    if lines:
        grouped.append(lines)
    return grouped
