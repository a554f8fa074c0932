"""Documents from raw text: local text files and the tfds catalog (`wikipedia`, `c4`), split into sentences.

A document is a list of sentences (strings). Documents matter to pretraining because next-sentence pairs never
cross one and packed causal-LM rows mark where one ends.
"""

import os
import re
from collections.abc import Iterator

from plmjax.data.errors import DataError
from plmjax.data.tfds_source import tfds_source

DOCUMENT_LAYOUTS = ("blocks", "lines", "wikitext")

# A sentence ends at ".", "!" or "?" (optionally followed by closing quotes or brackets) when whitespace and then
# an uppercase letter, a digit or an opening quote/bracket follow. Deliberately simple (no abbreviation list, no
# nltk data to download): "Dr. Smith" is split, "e.g. this" is not. WikiText's spaced-out " . " matches too.
_SENTENCE_END = re.compile(r"""(?<=[.!?])["')\]]*\s+(?=["'(\[]?[A-Z0-9])""")

# WikiText marks an article title ` = Title = ` and its sections ` = = Section = = ` (more "=" = deeper).
_WIKITEXT_TITLE = re.compile(r"^ ?= [^=].*[^=] = ?$")
_WIKITEXT_SECTION = re.compile(r"^ ?= = .* = = ?$")


def split_sentences(text: str) -> list[str]:
    """Splits text into sentences with one regular expression (see `_SENTENCE_END`); blank pieces are dropped."""
    pieces = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        pieces.append(text[start : match.end()].strip())
        start = match.end()
    pieces.append(text[start:].strip())
    return [piece for piece in pieces if piece]


def _lines(path: str, encoding: str) -> Iterator[str]:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such text file: {path}")
    with open(path, encoding=encoding) as handle:
        for line in handle:
            yield line.rstrip("\r\n")


def read_documents(path: str, layout: str = "blocks", *, sentences: bool = True, encoding: str = "utf-8"):
    """The documents of a local text file, each a list of sentences (or of its lines, with `sentences=False`).

    `layout`: "blocks": blank lines separate documents (BERT's corpus layout); "lines": every non-blank line is a
    document; "wikitext": a ` = Title = ` line starts a new document, section headings (` = = Name = = `) are
    dropped and blank lines are ignored (WikiText-2/103 files). Empty documents are dropped.
    """
    if layout not in DOCUMENT_LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {DOCUMENT_LAYOUTS}")
    documents: list[list[str]] = []
    current: list[str] = []

    def finish():
        if current:
            documents.append(list(current))
            current.clear()

    for line in _lines(path, encoding):
        text = line.strip()
        if layout == "wikitext" and _WIKITEXT_TITLE.match(line):
            finish()
            continue
        if layout == "wikitext" and _WIKITEXT_SECTION.match(line):
            continue
        if not text:
            if layout == "blocks":
                finish()
            continue
        current.extend(split_sentences(text) if sentences else [text])
        if layout == "lines":
            finish()
    finish()
    if not documents:
        raise DataError(f"{path}: no documents (the file holds no non-blank text)")
    return documents


def text_to_document(text: str, *, sentences: bool = True) -> list[str]:
    """One document from a text whose paragraphs or lines are separated by newlines (tfds' wikipedia and c4)."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if not sentences:
        return lines
    return [sentence for line in lines for sentence in split_sentences(line)]


def tfds_documents(
    name: str,
    split: str = "train",
    *,
    text_field: str = "text",
    sentences: bool = True,
    data_dir: str | None = None,
    download: bool = True,
    process_index: int = 0,
    process_count: int = 1,
) -> Iterator[list[str]]:
    """Yields the documents of a tfds catalog dataset (`wikipedia/20230601.en`, `c4/en`, ...), lazily.

    Reads through `plmjax.data.tfds_source` (no TensorFlow); with `process_count > 1` only this process's shard.
    Every record's `text_field` is one document; empty ones are skipped (they hold no sentence to train on).
    """
    records = tfds_source(
        name, split, data_dir=data_dir, download=download, process_index=process_index, process_count=process_count
    )
    for record in records:
        if text_field not in record:
            raise DataError(f"tfds dataset {name!r} has no field {text_field!r} (it has {sorted(record)})")
        document = text_to_document(record[text_field], sentences=sentences)
        if document:
            yield document


def tokenize_documents(tokenizer, documents, *, batch_size: int = 1000) -> list[list[list[int]]]:
    """Each sentence of each document as token ids, without special tokens (the example builders add them).

    `tokenizer` is an HF tokenizer (fast ones encode a batch of sentences in parallel). Empty sentences (all
    characters normalised away) are dropped.
    """
    flat = [(doc_index, sentence) for doc_index, document in enumerate(documents) for sentence in document]
    tokenized: list[list[list[int]]] = [[] for _ in documents]
    for start in range(0, len(flat), batch_size):
        chunk = flat[start : start + batch_size]
        ids = tokenizer([sentence for _, sentence in chunk], add_special_tokens=False)["input_ids"]
        for (doc_index, _), sentence_ids in zip(chunk, ids, strict=True):
            if sentence_ids:
                tokenized[doc_index].append(list(sentence_ids))
    return [document for document in tokenized if document]
