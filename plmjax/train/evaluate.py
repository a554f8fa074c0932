"""Evaluation: predictions over a split, gathered from every process, scored with plmjax.train.metrics."""

import numpy as np

from plmjax.train import sharding
from plmjax.train.metrics import compute_metrics


def evaluate(eval_step, trainable, frozen, batches, mesh, metric_names) -> dict[str, float]:
    """Run the jitted eval step over `batches` (this process's shares of each global batch).

    eval_step returns replicated outputs, so every process sees the global predictions, labels and weights.
    """
    predictions, labels, weights, loss_sum, weight_sum = [], [], [], 0.0, 0.0
    for local_batch in batches:
        batch = sharding.global_batch(mesh, local_batch)
        out = eval_step(trainable, frozen, batch)
        predictions.append(np.asarray(out["predictions"]))
        labels.append(np.asarray(out["labels"]))
        weights.append(np.asarray(out["weights"]))
        loss_sum += float(out["loss_sum"])
        weight_sum += float(out["weight_sum"])
    if not predictions:
        raise ValueError("the evaluation split produced no batches")
    predictions, labels, weights = map(np.concatenate, (predictions, labels, weights))
    keep = weights > 0
    results = compute_metrics(list(metric_names), predictions[keep], labels[keep])
    results["loss"] = loss_sum / max(weight_sum, 1.0)
    results["examples"] = float(keep.sum())
    return results
