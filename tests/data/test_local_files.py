"""Local readers: GLUE-style TSV (QUOTE_NONE), CSV, JSONL and plain text; malformed rows name file and line."""

import pytest

from plmjax.data import MalformedRowError, read_csv, read_jsonl, read_text_file, read_tsv
from plmjax.data.local_files import iter_delimited_rows, iter_jsonl_rows


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return str(path)


def test_tsv_keeps_quotes_as_text_and_selects_columns_by_header(tmp_path):
    # With standard CSV quoting the first row's quotes would be eaten and the tab inside them kept as text.
    path = write(
        tmp_path,
        "dev.tsv",
        'index\tsentence1\tsentence2\tlabel\n0\t"Quoted\tsplit\n1\tHe said "hi".\tIt\'s "fine"\tentailment\n',
    )
    with pytest.raises(MalformedRowError) as error:
        read_tsv(path)
    assert error.value.line == 2 and error.value.path == path
    path = write(
        tmp_path,
        "ok.tsv",
        'index\tsentence1\tsentence2\tlabel\n0\t"Start quote only\tend" here\tnot_entailment\r\n'
        '1\tHe said "hi".\tIt\'s "fine"\tentailment\n',
    )
    rows = read_tsv(path, {"a": "sentence1", "b": "sentence2", "label": "label"})
    assert rows == [
        {"a": '"Start quote only', "b": 'end" here', "label": "not_entailment"},
        {"a": 'He said "hi".', "b": 'It\'s "fine"', "label": "entailment"},
    ]


def test_tsv_without_header_uses_positions_and_drops_a_byte_order_mark(tmp_path):
    path = write(tmp_path, "cola.tsv", "\ufeffgj04\t1\t\tThe cat sat.\ngj04\t0\t*\tCat the sat.")  # no final newline
    assert read_tsv(path, {"sentence": 3, "label": 1}, has_header=False) == [
        {"sentence": "The cat sat.", "label": "1"},
        {"sentence": "Cat the sat.", "label": "0"},
    ]
    header_path = write(tmp_path, "bom.tsv", "\ufeffQuality\t#1 String\n1\tx\n")
    assert read_tsv(header_path) == [{"Quality": "1", "#1 String": "x"}]


def test_short_row_and_missing_column_errors_name_file_and_line(tmp_path):
    path = write(tmp_path, "train.tsv", "a\tb\tlabel\nx\ty\t0\n\nx\ty\n")
    with pytest.raises(MalformedRowError, match=r"train\.tsv:4: found 2 tab-separated fields where the header's 3"):
        read_tsv(path)
    path = write(tmp_path, "cols.tsv", "a\tb\nx\ty\n")
    with pytest.raises(MalformedRowError, match=r"cols\.tsv:1: the header has no column 'label'"):
        read_tsv(path, {"label": "label"})
    path = write(tmp_path, "nohead.tsv", "x\ty\tz\nx\ty\n")
    with pytest.raises(MalformedRowError, match=r"nohead\.tsv:2: .*the first row's 3"):
        read_tsv(path, {"a": 0}, has_header=False)
    with pytest.raises(MalformedRowError, match=r"nohead\.tsv:1: column 5 does not exist"):
        read_tsv(path, {"a": 5}, has_header=False)


def test_bad_encoding_is_reported_on_its_own_line(tmp_path):
    lines = [f"row {i}\t{i}\n".encode() for i in range(3000)]  # far more than one decode buffer
    lines[2500] = b"caf\xe9\t1\n"
    path = write(tmp_path, "latin.tsv", b"text\tlabel\n" + b"".join(lines))
    with pytest.raises(MalformedRowError) as error:
        read_tsv(path)
    assert error.value.line == 2502 and "utf-8" in error.value.problem


def test_csv_reads_quoted_commas(tmp_path):
    path = write(tmp_path, "train.csv", '3,"what \'s surprising , is it ?"\n0,nice piece of work .\n')
    rows = read_csv(path, {"label": 0, "sentence": 1}, has_header=False)
    assert rows == [
        {"label": "3", "sentence": "what 's surprising , is it ?"},
        {"label": "0", "sentence": "nice piece of work ."},
    ]
    header_path = write(tmp_path, "h.csv", "label,sentence\n1,a\n2,b,c\n")
    with pytest.raises(MalformedRowError, match=r"h\.csv:3: found 3 ','-separated fields"):
        read_csv(header_path)


def test_jsonl_objects_and_errors(tmp_path):
    path = write(tmp_path, "val.jsonl", '{"text": "a", "label": true}\n\n{"text": "b", "label": false}\n')
    assert read_jsonl(path, ("text",)) == [{"text": "a", "label": True}, {"text": "b", "label": False}]
    assert [line for line, _ in iter_jsonl_rows(path)] == [1, 3]
    broken = write(tmp_path, "broken.jsonl", '{"text": "a"}\n{"text": "b"\n')
    with pytest.raises(MalformedRowError, match=r"broken\.jsonl:2: not valid JSON"):
        read_jsonl(broken)
    missing = write(tmp_path, "missing.jsonl", '{"text": "a"}\n{"body": "b"}\n')
    with pytest.raises(MalformedRowError, match=r"missing\.jsonl:2: missing field\(s\) \['text'\]"):
        read_jsonl(missing, ("text",))
    not_object = write(tmp_path, "list.jsonl", "[1, 2]\n")
    with pytest.raises(MalformedRowError, match=r"list\.jsonl:1: expected a JSON object, found list"):
        read_jsonl(not_object)


def test_text_file_lines_and_documents(tmp_path):
    path = write(tmp_path, "corpus.txt", " = Title = \r\nFirst line.\nSecond\rline.\n\n\nOther doc.\n")
    assert read_text_file(path) == [" = Title = ", "First line.", "Second\rline.", "Other doc."]
    assert read_text_file(path, documents=True) == [[" = Title = ", "First line.", "Second\rline."], ["Other doc."]]
    with pytest.raises(FileNotFoundError, match="no such text file"):
        read_text_file(str(tmp_path / "absent.txt"))


def test_delimited_rows_carry_their_line_numbers(tmp_path):
    path = write(tmp_path, "lines.tsv", "a\tb\n1\t2\n\n3\t4\n")
    assert [line for line, _ in iter_delimited_rows(path)] == [2, 4]


def test_ragged_rows_read_negative_columns_from_their_own_end(tmp_path):
    """GLUE's SNLI: one label column per annotator, so rows are wider than the header; the gold label is last."""
    path = tmp_path / "train.tsv"
    path.write_text("s1\ts2\tlabel1\tgold\na\tb\tx\ty\tz\tgold1\nc\td\tgold2\tgold2\ne\n")
    rows = iter_delimited_rows(str(path), {"s1": "s1", "label": -1}, ragged=True)
    assert next(rows) == (2, {"s1": "a", "label": "gold1"})
    assert next(rows) == (3, {"s1": "c", "label": "gold2"})
    with pytest.raises(MalformedRowError, match=r"train.tsv:4: found 1 tab-separated fields where the header's 4"):
        next(rows)
    strict = iter_delimited_rows(str(path), {"s1": "s1", "label": -1})
    with pytest.raises(MalformedRowError, match="found 6 tab-separated fields"):
        next(strict)
