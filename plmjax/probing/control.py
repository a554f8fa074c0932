"""Control tasks (Hewitt & Liang 2019, "Designing and Interpreting Probes with Control Tasks").

A control task gives every type (a word type for word-level tasks) one random label, drawn once from the real
task's empirical label distribution and then fixed: it can be solved only by memorising types, not by reading
the property out of the representation. A probe's selectivity is its task accuracy minus its control accuracy:
high where the representation, not the probe's capacity, carries the property.
"""

import numpy as np


def control_labels(types, labels, seed: int = 0, num_classes: int | None = None) -> np.ndarray:
    """[len(types)] the control label of each row's type: one draw per distinct type (in order of first
    appearance) from the label frequencies of `labels` (the task's labels, e.g. its training rows')."""
    labels = np.asarray(labels)
    num_classes = num_classes or int(labels.max()) + 1
    frequencies = np.bincount(labels, minlength=num_classes) / len(labels)
    distinct, first, inverse = np.unique(np.asarray(types, dtype=object), return_index=True, return_inverse=True)
    # Draws follow first appearance, not sorted order, so adding a later type changes no earlier type's label.
    rank = np.empty(len(distinct), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(distinct))
    draws = np.random.default_rng(seed).choice(num_classes, size=len(distinct), p=frequencies)
    return draws[rank][inverse.reshape(-1)].astype(np.int32)


def selectivity(task_accuracy, control_accuracy) -> np.ndarray:
    """Per layer: task accuracy minus control accuracy."""
    return np.asarray(task_accuracy, np.float64) - np.asarray(control_accuracy, np.float64)
