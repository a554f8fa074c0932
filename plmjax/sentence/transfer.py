"""SentEval's transfer tasks: a logistic-regression probe (plmjax.sentence.logistic) on frozen sentence embeddings.

- MR, CR, SUBJ, MPQA (`<data>/senteval/<task>`, a sentence a line, one file per class): SentEval's
  InnerKFoldClassifier. 10 outer folds; in each, C is chosen by a 10-fold CV on the outer training part, then
  refitted on all of it and scored on the held-out fold. Reported: the mean of the outer test accuracies.
- MRPC (`<data>/senteval/MRPC`, msr_paraphrase_{train,test}.txt) and TREC (`<data>/trec`, TREC.{train,test}.all,
  "label sentence" with the 6 coarse classes): SentEval's KFoldClassifier. C chosen by a 10-fold CV on train,
  refitted on train, scored on test. MRPC's features are SentEval's [|u - v|, u * v] of the two sentences.

C ranges over SentEval's scikit-learn grid, 2^-2 .. 2^3. Folds are stratified and seeded (SentEval's seed 1234).
"""

import csv
import os

import numpy as np

from plmjax.data.errors import DataError, MalformedRowError
from plmjax.data.senteval import SENTEVAL, senteval_sentences
from plmjax.sentence.logistic import fit_logistic, predict, stratified_folds

C_GRID = tuple(2.0**t for t in range(-2, 4))
CV_TASKS = ("MR", "CR", "SUBJ", "MPQA")
SPLIT_TASKS = ("MRPC", "TREC")
TASKS = CV_TASKS + SPLIT_TASKS
SEED = 1234


def read_cv_task(data_root: str, task: str) -> tuple[list[str], np.ndarray]:
    folder = os.path.join(data_root, "senteval", task)
    files = SENTEVAL[task]
    texts, labels = [], []
    for label, name in enumerate(files):
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            raise DataError(f"{task}: {path} does not exist")
        sentences = senteval_sentences(folder, (name,))
        texts.extend(sentences)
        labels.extend([label] * len(sentences))
    return texts, np.asarray(labels, np.int32)


def read_mrpc(path: str) -> tuple[list[str], list[str], np.ndarray]:
    """(first, second, labels) of an MSR paraphrase file (a header; Quality, #1 ID, #2 ID, #1 String, #2 String)."""
    if not os.path.isfile(path):
        raise DataError(f"MRPC: {path} does not exist")
    first, second, labels = [], [], []
    with open(path, encoding="utf-8-sig", newline="") as f:
        for line, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
            if line == 1:
                continue
            if len(row) != 5 or row[0] not in ("0", "1"):
                raise MalformedRowError(path, line, "expected Quality (0 or 1), two ids and two sentences")
            labels.append(int(row[0]))
            first.append(row[3])
            second.append(row[4])
    return first, second, np.asarray(labels, np.int32)


def read_trec(path: str) -> tuple[list[str], np.ndarray]:
    """(questions, coarse labels 0-5) of a "label question" file."""
    if not os.path.isfile(path):
        raise DataError(f"TREC: {path} does not exist")
    texts, labels = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line, text in enumerate(f, start=1):
            label, _, question = text.strip().partition(" ")
            if not label.isdigit() or not question:
                raise MalformedRowError(path, line, "expected a label (0-5), a space and the question")
            labels.append(int(label))
            texts.append(question)
    return texts, np.asarray(labels, np.int32)


def _select_and_score(x_train, y_train, x_test, y_test, num_classes: int, k: int, seed: int) -> dict:
    """C by a k-fold CV on the training rows, then refitted on all of them and scored on the test rows."""
    folds = stratified_folds(y_train, k, seed)
    masks = np.stack([folds != fold for fold in range(k) for _ in C_GRID]).astype(np.float32)
    cs = np.asarray([c for _ in range(k) for c in C_GRID], np.float32)
    predictions = predict(fit_logistic(x_train, y_train, masks, cs, num_classes), x_train)
    held_out = 1.0 - masks
    hits = (predictions == y_train[None]) * held_out
    dev = (hits.sum(1) / held_out.sum(1)).reshape(k, len(C_GRID)).mean(0)
    best = int(np.argmax(dev))
    ones = np.ones((1, len(y_train)), np.float32)
    final = fit_logistic(x_train, y_train, ones, np.asarray([C_GRID[best]], np.float32), num_classes)
    test = float(np.mean(predict(final, x_test)[0] == y_test))
    return {"dev": float(dev[best]), "test": test, "C": C_GRID[best]}


def cv_accuracy(x, y, k: int = 10, seed: int = SEED) -> dict:
    """SentEval's InnerKFoldClassifier: the mean over k outer folds of the test accuracy, C chosen inside."""
    num_classes = int(y.max()) + 1
    folds = stratified_folds(y, k, seed)
    scores = []
    for fold in range(k):
        train, test = folds != fold, folds == fold
        scores.append(_select_and_score(x[train], y[train], x[test], y[test], num_classes, k, seed))
    return {"dev": float(np.mean([s["dev"] for s in scores])), "test": float(np.mean([s["test"] for s in scores]))}


def split_accuracy(x_train, y_train, x_test, y_test, k: int = 10, seed: int = SEED) -> dict:
    """SentEval's KFoldClassifier: C by a k-fold CV on train, test accuracy of the refit."""
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    return _select_and_score(x_train, y_train, x_test, y_test, num_classes, k, seed)


def evaluate_transfer(encode, data_root: str, tasks=TASKS, k: int = 10) -> dict:
    """{task: {"dev": accuracy, "test": accuracy}} of `encode(texts) -> [N, dim]` embeddings; "avg": the
    mean test accuracy."""
    results = {}
    for task in tasks:
        if task in CV_TASKS:
            texts, labels = read_cv_task(data_root, task)
            results[task] = cv_accuracy(np.asarray(encode(texts), np.float32), labels, k)
        elif task == "MRPC":
            folder = os.path.join(data_root, "senteval", "MRPC")
            splits = [read_mrpc(os.path.join(folder, f"msr_paraphrase_{s}.txt")) for s in ("train", "test")]
            features = []
            for first, second, _ in splits:
                u, v = np.asarray(encode(first), np.float32), np.asarray(encode(second), np.float32)
                features.append(np.concatenate([np.abs(u - v), u * v], axis=1))
            results[task] = split_accuracy(features[0], splits[0][2], features[1], splits[1][2], k)
        elif task == "TREC":
            train, test = (read_trec(os.path.join(data_root, "trec", f"TREC.{s}.all")) for s in ("train", "test"))
            x_train, x_test = (np.asarray(encode(texts), np.float32) for texts, _ in (train, test))
            results[task] = split_accuracy(x_train, train[1], x_test, test[1], k)
        else:
            raise ValueError(f"unknown transfer task {task!r}; tasks: {TASKS}")
    results["avg"] = float(np.mean([results[t]["test"] for t in tasks]))
    return results
