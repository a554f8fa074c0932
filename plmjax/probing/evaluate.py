"""Per-layer probing: fit on training features, score held-out features, and compare with a control task."""

import numpy as np

from plmjax.probing.control import control_labels, selectivity
from plmjax.probing.probes import check_probe, fit_probes, predict_probes


def standardize(train_x, test_x) -> tuple[np.ndarray, np.ndarray]:
    """Each layer's features scaled to zero mean and unit variance by its training rows' statistics: hidden
    states carry a few huge outlier dimensions, and an L2 penalty or a learning rate should not depend on them."""
    mean = train_x.mean(axis=1, keepdims=True)
    std = train_x.std(axis=1, keepdims=True) + 1e-6
    return (train_x - mean) / std, (test_x - mean) / std


def layer_accuracy(train_x, train_y, test_x, test_y, probe: str = "linear", scale: bool = True, **options):
    """[layers] held-out accuracy of a probe per layer, from features [layers, rows, dim] and labels [rows]."""
    check_probe(probe)
    train_x, test_x = np.asarray(train_x, np.float32), np.asarray(test_x, np.float32)
    if train_x.ndim != 3 or test_x.ndim != 3 or train_x.shape[::2] != test_x.shape[::2]:
        raise ValueError(f"features must be [layers, rows, dim] alike; got {train_x.shape} and {test_x.shape}")
    train_y, test_y = np.asarray(train_y, np.int32), np.asarray(test_y, np.int32)
    if scale:
        train_x, test_x = standardize(train_x, test_x)
    num_classes = int(max(train_y.max(), test_y.max())) + 1
    params = fit_probes(probe, train_x, train_y, num_classes, **options)
    return (predict_probes(probe, params, test_x) == test_y[None]).mean(axis=1)


def probe_with_control(train_x, train_y, test_x, test_y, train_types, test_types, probe: str = "linear",
                       seed: int = 0, **options) -> dict:  # fmt: skip
    """{"task", "control", "selectivity"}: [layers] accuracies of the probe on the task and on its control task
    (each type's label fixed across both splits, drawn from the training labels' distribution), and their
    difference."""
    num_classes = int(max(np.max(train_y), np.max(test_y))) + 1
    control = control_labels(list(train_types) + list(test_types), train_y, seed, num_classes)
    task = layer_accuracy(train_x, train_y, test_x, test_y, probe, **options)
    control_accuracy = layer_accuracy(
        train_x, control[: len(train_y)], test_x, control[len(train_y) :], probe, **options
    )
    return {"task": task, "control": control_accuracy, "selectivity": selectivity(task, control_accuracy)}
