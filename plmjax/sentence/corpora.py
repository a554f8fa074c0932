"""SimCSE's training files, in the formats its repository ships, and the triplets the shared SNLI files give.

Unsupervised: a text file, one sentence a line (SimCSE's wiki1m_for_simcse.txt); blank lines are skipped.
Supervised: a CSV with a header naming sent0, sent1 and, for triplets, hard_neg (SimCSE's
nli_for_simcse.csv): (anchor, entailment, contradiction). A row with an empty field is an error naming its
file and line: a silently dropped row would change the batch's negatives.
"""

import csv
import os
from collections import defaultdict

from plmjax.data.errors import DataError, EmptyDatasetError, MalformedRowError

TRIPLET_COLUMNS = ("sent0", "sent1", "hard_neg")


def read_sentences(path: str) -> list[str]:
    """The sentences of an unsupervised file, whitespace collapsed."""
    if not os.path.isfile(path):
        raise DataError(f"sentence corpus {path} does not exist")
    with open(path, encoding="utf-8") as f:
        sentences = [" ".join(line.split()) for line in f if line.strip()]
    if not sentences:
        raise EmptyDatasetError(f"{path} holds no sentences")
    return sentences


def read_pairs_or_triplets(path: str) -> list[tuple[str, ...]]:
    """(sent0, sent1) pairs, or (sent0, sent1, hard_neg) triplets when the header has hard_neg."""
    if not os.path.isfile(path):
        raise DataError(f"sentence pair file {path} does not exist")
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or header[:2] != ["sent0", "sent1"]:
            raise MalformedRowError(path, 1, f"the header must start sent0,sent1 (SimCSE's layout), not {header}")
        columns = 3 if len(header) > 2 and header[2] == "hard_neg" else 2
        rows = []
        for line, row in enumerate(reader, start=2):
            fields = [" ".join(field.split()) for field in row[:columns]]
            if len(fields) < columns or not all(fields):
                raise MalformedRowError(path, line, f"expected {columns} non-empty fields {TRIPLET_COLUMNS[:columns]}")
            rows.append(tuple(fields))
    if not rows:
        raise EmptyDatasetError(f"{path} holds no rows")
    return rows


def write_triplets(triplets, path: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(TRIPLET_COLUMNS)
        writer.writerows(triplets)


def snli_triplets(folder: str, splits=("dev", "test")) -> list[tuple[str, str, str]]:
    """(premise, entailment, contradiction) triplets of SentEval's SNLI files (s1.<split>, s2.<split>,
    labels.<split>), as SimCSE built its NLI file: every entailed hypothesis of a premise with one of its
    contradictions (cycled when a premise has fewer of them), premises in file order."""
    triplets = []
    for split in splits:
        paths = [os.path.join(folder, f"{name}.{split}") for name in ("s1", "s2", "labels")]
        for path in paths:
            if not os.path.isfile(path):
                raise DataError(f"SNLI: {path} does not exist")
        columns = []
        for path in paths:
            with open(path, encoding="utf-8") as f:
                columns.append([" ".join(line.split()) for line in f.read().splitlines()])
        if len({len(c) for c in columns}) != 1:
            raise DataError(f"SNLI {split}: s1, s2 and labels have {[len(c) for c in columns]} lines")
        by_premise: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for premise, hypothesis, label in zip(*columns, strict=True):
            by_premise[premise][label].append(hypothesis)
        for premise, hypotheses in by_premise.items():
            entailed, contradicted = hypotheses.get("entailment", []), hypotheses.get("contradiction", [])
            if contradicted:
                triplets.extend((premise, e, contradicted[i % len(contradicted)]) for i, e in enumerate(entailed))
    return triplets
