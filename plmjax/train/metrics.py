"""Evaluation metrics of GLUE and SuperGLUE, in numpy (no scikit-learn or scipy at run time).

Each is defined as scikit-learn / scipy define it (tests compare them on random inputs), with one deliberate
difference: a correlation with a constant input is 0.0, not NaN, so that an early checkpoint whose predictions
are all equal still logs a number and loses checkpoint selection instead of poisoning it. Every metric is
higher-is-better.
"""

import numpy as np


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(predictions == labels))


def _f1_of_class(predictions: np.ndarray, labels: np.ndarray, positive) -> float:
    true_positives = np.sum((predictions == positive) & (labels == positive))
    false_positives = np.sum((predictions == positive) & (labels != positive))
    false_negatives = np.sum((predictions != positive) & (labels == positive))
    denominator = 2 * true_positives + false_positives + false_negatives
    # No positive predicted or present: scikit-learn's zero_division default also gives 0.
    return float(2 * true_positives / denominator) if denominator else 0.0


def f1(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Binary F1 of class 1 (MRPC's "equivalent", QQP's "duplicate")."""
    return _f1_of_class(predictions, labels, 1)


def f1_macro(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Unweighted mean of per-class F1 over the classes present in labels or predictions (SuperGLUE's CB)."""
    classes = np.union1d(labels, predictions)
    return float(np.mean([_f1_of_class(predictions, labels, c) for c in classes]))


def matthews_corrcoef(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Matthews correlation (CoLA), in its multi-class form (Gorodkin's R_K), which is MCC for two classes."""
    _, codes = np.unique(np.concatenate([labels, predictions]), return_inverse=True)
    true_codes, predicted_codes = codes[: len(labels)], codes[len(labels) :]
    num_classes = int(codes.max()) + 1
    confusion = np.zeros((num_classes, num_classes), dtype=np.float64)
    np.add.at(confusion, (true_codes, predicted_codes), 1.0)
    true_counts, predicted_counts = confusion.sum(axis=1), confusion.sum(axis=0)
    correct, total = np.trace(confusion), confusion.sum()
    covariance = correct * total - true_counts @ predicted_counts
    scale = np.sqrt((total**2 - predicted_counts @ predicted_counts) * (total**2 - true_counts @ true_counts))
    return float(covariance / scale) if scale else 0.0


def pearson(predictions: np.ndarray, labels: np.ndarray) -> float:
    x = predictions.astype(np.float64) - predictions.mean(dtype=np.float64)
    y = labels.astype(np.float64) - labels.mean(dtype=np.float64)
    scale = np.sqrt(np.sum(x * x) * np.sum(y * y))
    return float(np.clip(np.sum(x * y) / scale, -1.0, 1.0)) if scale else 0.0


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing the mean of their ranks (scipy.stats.rankdata's "average")."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts_group = np.concatenate([[True], ordered[1:] != ordered[:-1]])
    group = np.cumsum(starts_group) - 1
    starts = np.flatnonzero(starts_group)
    ends = np.append(starts[1:], len(values))
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = ((starts + ends + 1) / 2.0)[group]
    return ranks


def spearman(predictions: np.ndarray, labels: np.ndarray) -> float:
    return pearson(average_ranks(predictions), average_ranks(labels))


def accuracy_and_f1(predictions: np.ndarray, labels: np.ndarray) -> float:
    """GLUE's MRPC and QQP score: the mean of accuracy and F1."""
    return (accuracy(predictions, labels) + f1(predictions, labels)) / 2


def pearson_and_spearman(predictions: np.ndarray, labels: np.ndarray) -> float:
    """GLUE's STS-B score: the mean of the Pearson and Spearman correlations."""
    return (pearson(predictions, labels) + spearman(predictions, labels)) / 2


METRICS = {
    "accuracy": accuracy,
    "f1": f1,
    "f1_macro": f1_macro,
    "matthews_corrcoef": matthews_corrcoef,
    "pearson": pearson,
    "spearman": spearman,
    "accuracy_and_f1": accuracy_and_f1,
    "pearson_and_spearman": pearson_and_spearman,
}


def compute_metrics(names, predictions, labels, weights=None) -> dict[str, float]:
    """{name: value} for each metric name in `names` (see METRICS).

    `predictions` are class indices [N], class scores [N, C] (their argmax is taken), or regression values [N]
    or [N, 1]. `weights` [N] are 0/1: examples weighted 0 (padding rows of the last eval batch) are left out.
    """
    unknown = [name for name in names if name not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; the metrics are {sorted(METRICS)}")
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if predictions.ndim == 2:
        predictions = predictions[:, 0] if predictions.shape[1] == 1 else predictions.argmax(axis=-1)
    if predictions.ndim != 1 or labels.shape != predictions.shape:
        raise ValueError(f"predictions {predictions.shape} and labels {labels.shape} must both be [N]")
    if weights is not None:
        weights = np.asarray(weights)
        if weights.shape != labels.shape or not np.all((weights == 0) | (weights == 1)):
            raise ValueError(f"weights must be 0/1 of shape {labels.shape}")
        keep = weights > 0
        predictions, labels = predictions[keep], labels[keep]
    if len(labels) == 0:
        raise ValueError("no examples to score (all weights are 0, or the split is empty)")
    return {name: METRICS[name](predictions, labels) for name in names}
