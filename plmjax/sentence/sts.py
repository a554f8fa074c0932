"""Semantic textual similarity, SimCSE's protocol: the cosine of two sentences' embeddings against the gold score,
Spearman's correlation. STS12-16 in SentEval's layout (STS.input.<subset>.txt: sentence pairs, tab-separated;
STS.gs.<subset>.txt: the gold scores, a blank line for a pair without one, which SentEval drops), SICK-R
(SICK_test_annotated.txt: relatedness) and STS-B (GLUE's TSV: score last).

SentEval's "all" setting, which SimCSE reports: one Spearman over every subset of a year together; "mean": the
average of the subsets' (SentEval's other aggregate). Sentences are whitespace-normalised as SentEval's loader
and SimCSE's batcher leave them (split, then joined by single spaces).
"""

import csv
import os

import numpy as np
from scipy import stats

from plmjax.data.errors import DataError, MalformedRowError

STS_SUBSETS = {
    "STS12": ("MSRpar", "MSRvid", "SMTeuroparl", "surprise.OnWN", "surprise.SMTnews"),
    "STS13": ("FNWN", "headlines", "OnWN"),  # SentEval's SMT subset is not distributed
    "STS14": ("deft-forum", "deft-news", "headlines", "images", "OnWN", "tweet-news"),
    "STS15": ("answers-forums", "answers-students", "belief", "headlines", "images"),
    "STS16": ("answer-answer", "headlines", "plagiarism", "postediting", "question-question"),
}


def _normalise(text: str) -> str:
    return " ".join(text.split())


def read_sts_subset(folder: str, subset: str) -> tuple[list[str], list[str], np.ndarray]:
    """(first sentences, second sentences, gold scores) of one STS subset, pairs without a gold score dropped."""
    inputs, gold = (os.path.join(folder, f"STS.{kind}.{subset}.txt") for kind in ("input", "gs"))
    for path in (inputs, gold):
        if not os.path.isfile(path):
            raise DataError(f"STS subset {subset}: {path} does not exist")
    with open(inputs, encoding="utf-8") as f:
        pairs = f.read().splitlines()
    with open(gold, encoding="utf-8") as f:
        scores = f.read().splitlines()
    if len(pairs) != len(scores):
        raise DataError(f"{inputs} has {len(pairs)} lines but {gold} has {len(scores)}")
    first, second, kept = [], [], []
    for line, (pair, score) in enumerate(zip(pairs, scores, strict=True), start=1):
        if not score.strip():
            continue
        parts = pair.split("\t")
        if len(parts) < 2:
            raise MalformedRowError(inputs, line, f"expected two tab-separated sentences, found {len(parts)} field")
        first.append(_normalise(parts[0]))
        second.append(_normalise(parts[1]))
        kept.append(float(score))
    return first, second, np.asarray(kept)


def read_sts_year(root: str, year: str) -> dict:
    """{subset: (first, second, gold)} of STS12..STS16 under root (SentEval's STS/<year>-en-test)."""
    folder = os.path.join(root, f"{year}-en-test")
    return {subset: read_sts_subset(folder, subset) for subset in STS_SUBSETS[year]}


def _read_scored_pairs(path: str, columns: tuple[int, int, int], what: str) -> tuple[list[str], list[str], np.ndarray]:
    """(first sentences, second sentences, scores) of a tab-separated file with a header; `columns` are the
    positions of the two sentences and the score."""
    with open(path, encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    first, second, gold = [], [], []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) < max(c + 1 if c >= 0 else -c for c in columns):
            raise MalformedRowError(path, line, f"expected {what}, found {len(row)} fields")
        first.append(_normalise(row[columns[0]]))
        second.append(_normalise(row[columns[1]]))
        gold.append(float(row[columns[2]]))
    return first, second, np.asarray(gold)


def read_sick(path: str) -> tuple[list[str], list[str], np.ndarray]:
    """SICK-R: (sentence A, sentence B, relatedness score) of SICK's annotated file (a header, tab-separated)."""
    return _read_scored_pairs(path, (1, 2, 3), "pair_ID, two sentences and a score")


def read_stsb(path: str) -> tuple[list[str], list[str], np.ndarray]:
    """STS-B in GLUE's layout (a header; sentence1, sentence2 and score the last three columns)."""
    return _read_scored_pairs(path, (-3, -2, -1), "sentence1, sentence2 and score as the last columns")


def cosine(a, b) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def spearman(predicted, gold) -> float:
    return float(stats.spearmanr(predicted, gold).statistic)


def sts_scores(encode, subsets: dict) -> dict:
    """{"all": Spearman over the subsets together, "mean": the subsets' average, subset: its Spearman} with
    `encode(sentences) -> [n, dim]` embeddings."""
    predicted, golds, each = [], [], {}
    for subset, (first, second, gold) in subsets.items():
        similarity = cosine(encode(first), encode(second))
        each[subset] = spearman(similarity, gold)
        predicted.append(similarity)
        golds.append(gold)
    return {"all": spearman(np.concatenate(predicted), np.concatenate(golds)),
            "mean": float(np.mean(list(each.values()))), **each}  # fmt: skip
