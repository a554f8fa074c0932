"""Probing tasks on the shared data (`<data>`, e.g. ../shared/data): SentEval's sentence classification corpora and
TREC, read by plmjax.sentence.transfer's readers, and a word-level task built from WikiText-2.

capitalisation (WikiText-2 valid): was this word written with a capital letter? Only words inside a sentence
(never its first) made of letters count, so the label marks proper nouns and names, not sentence starts. It is a
property of the word in context for an uncased encoder (its token ids are the same either way: "may" / "May",
"bill" / "Bill"), and its word types recur across splits, as Hewitt & Liang's control tasks need.
"""

import os

import numpy as np

from plmjax.data.errors import DataError
from plmjax.probing.words import is_uncased, word_token_positions
from plmjax.sentence.logistic import stratified_folds
from plmjax.sentence.transfer import CV_TASKS, read_cv_task, read_trec

SENTENCE_TASKS = (*CV_TASKS, "TREC")


def _subsample(texts, labels, limit, rng):
    """At most `limit` rows, drawn without replacement (all of them, in order, when limit is None or larger)."""
    if limit is None or limit >= len(labels):
        return texts, labels
    rows = np.sort(rng.choice(len(labels), limit, replace=False))
    return [texts[r] for r in rows], labels[rows]


def sentence_task(data_root: str, name: str, max_train: int | None = None, max_test: int | None = None,
                  seed: int = 0) -> dict:  # fmt: skip
    """{"train": (texts, labels), "test": (texts, labels)}. TREC: its train and test files; the SentEval corpora
    (one file per class, no split): a seeded, stratified fifth held out. Each split then subsampled to max_*."""
    if name not in SENTENCE_TASKS:
        raise ValueError(f"sentence task {name!r} does not exist; choose one of {SENTENCE_TASKS}")
    if name == "TREC":
        folder = os.path.join(data_root, "trec")
        train = read_trec(os.path.join(folder, "TREC.train.all"))
        test = read_trec(os.path.join(folder, "TREC.test.all"))
    else:
        texts, labels = read_cv_task(data_root, name)
        held_out = stratified_folds(labels, 5, seed) == 0
        train = ([t for t, h in zip(texts, held_out, strict=True) if not h], labels[~held_out])
        test = ([t for t, h in zip(texts, held_out, strict=True) if h], labels[held_out])
    rng = np.random.default_rng(seed)
    return {"train": _subsample(*train, max_train, rng), "test": _subsample(*test, max_test, rng)}


def wikitext_sentences(path: str) -> list[list[str]]:
    """WikiText's paragraphs (headings skipped) cut into sentences at its " . " tokens, as word lists."""
    if not os.path.isfile(path):
        raise DataError(f"capitalisation: {path} does not exist")
    sentences = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            words = line.split()
            if not words or words[0] == "=":
                continue
            start = 0
            for index, word in enumerate(words):
                if word == "." or index == len(words) - 1:
                    sentences.append(words[start : index + 1])
                    start = index + 1
    return sentences


def capitalisation_task(data_root: str, tokenizer, train_sentences: int = 500, test_sentences: int = 200,
                        max_length: int = 128, seed: int = 0) -> dict:  # fmt: skip
    """{"train"/"test": {"ids", "positions", "labels", "types"}}: token ids of each sentence, the token position
    of each probed word (its first sub-token), its label (1: capitalised) and its type (the lower-cased word),
    words flattened sentence by sentence. Sentences are drawn at random (seeded) from WikiText-2 valid."""
    if not is_uncased(tokenizer):
        raise ValueError("the capitalisation task needs an uncased tokenizer: a cased one shows the answer in its ids")
    sentences = wikitext_sentences(os.path.join(data_root, "wikitext2", "valid.txt"))
    order = np.random.default_rng(seed).permutation(len(sentences))
    splits = {"train": order[:train_sentences], "test": order[train_sentences : train_sentences + test_sentences]}
    task = {}
    for split, rows in splits.items():
        chosen = [sentences[r] for r in rows]
        ids, positions = word_token_positions(tokenizer, chosen, max_length)
        probed, labels, types = [], [], []
        for words, where in zip(chosen, positions, strict=True):
            keep = [(p, w) for i, (p, w) in enumerate(zip(where, words, strict=True)) if i and w.isalpha() and p]
            probed.append([p for p, _ in keep])
            labels += [int(w[0].isupper()) for _, w in keep]
            types += [w.lower() for _, w in keep]
        task[split] = {"ids": ids, "positions": probed, "labels": np.asarray(labels, np.int32), "types": types}
    return task
