"""Threshold sweeps: accuracy against the average exit layer (from every exit's outputs, computed once) and
against wall-clock (the inference that stops, timed beside the full model in the same process)."""

import math
import time

import jax
import numpy as np

from plmjax.early_exit import criteria
from plmjax.early_exit.heads import split_params
from plmjax.early_exit.inference import exit_batched, exit_one
from plmjax.objectives.classification import classifier_logits


def default_thresholds(name: str, num_labels: int, num_exits: int) -> list[float]:
    """A grid over the criterion's whole range."""
    if name == "entropy":
        # Rounded down: ln(num_labels) rounded to nearest can land above the range make_criterion accepts.
        return [math.floor(x * 1e4) / 1e4 for x in np.linspace(0.0, math.log(num_labels), 21)]
    if name == "patience":
        return list(range(1, num_exits))
    return [round(x, 4) for x in np.linspace(0.0, 1.0, 21)]


def accuracy_sweep(name, thresholds, logits, confidences, labels, num_labels: int, tolerance: float = 0.0):
    """[{criterion, threshold, accuracy (None for regression), exit_layer (mean), layer_speedup}] from every
    exit's logits [exits, rows, classes], confidences [exits, rows] and labels [rows]."""
    num_exits = logits.shape[0]
    simulate = jax.jit(criteria.simulate)
    rows = []
    for threshold in thresholds:
        criterion = criteria.make_criterion(name, threshold, num_labels, num_exits, tolerance)
        layers, exit_logits = jax.device_get(simulate(criterion, logits, confidences))
        accuracy = None
        if num_labels > 1:
            accuracy = float(np.mean(np.argmax(exit_logits, -1) == np.asarray(labels)))
        mean_layer = float(np.mean(layers))
        rows.append(dict(criterion=name, threshold=threshold, accuracy=accuracy, exit_layer=mean_layer,
                         layer_speedup=num_exits / mean_layer))  # fmt: skip
    return rows


def operating_point(rows, full_accuracy: float, within: float = 0.01):
    """The row with the lowest mean exit layer whose accuracy is within `within` of the full model's."""
    kept = [r for r in rows if r["accuracy"] is not None and r["accuracy"] >= full_accuracy - within]
    return min(kept, key=lambda r: r["exit_layer"]) if kept else None


def _best_of(repeats: int, run) -> float:
    """The fastest of `repeats` runs (after one warm-up run that compiles), in seconds."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def wall_clock(
    model, params, batches, criterion, batch_size: int, repeats: int = 3, reads: str = "classifier"
) -> tuple[float, float]:
    """(early-exit seconds, full-model seconds) over `batches` ([rows, length] dicts, padding rows dropped):
    batch_size 1 runs each row alone (exit_one), otherwise each batch as it is (exit_batched); the full model
    is one jitted call per example or batch."""
    full = jax.jit(lambda p, b: classifier_logits(model, p, b))
    backbone, _ = split_params(params)  # the full model runs without the exit subtree
    if batch_size == 1:
        units = [{k: v[i : i + 1] for k, v in b.items()} for b in batches for i in range(len(b["input_ids"]))]
        exit_run = lambda: [exit_one(model, params, u, criterion, reads) for u in units]  # noqa: E731
    else:
        units = batches
        exit_run = lambda: [exit_batched(model, params, u, criterion, reads) for u in units]  # noqa: E731
    full_run = lambda: jax.block_until_ready([full(backbone, u) for u in units])  # noqa: E731
    return _best_of(repeats, exit_run), _best_of(repeats, full_run)


def markdown_table(rows, columns) -> str:
    def cell(value):
        return "-" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)
