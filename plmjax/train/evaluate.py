"""Evaluation: classification predictions scored with plmjax.train.metrics, or an objective's loss terms and
metrics summed over a held-out split (pretraining)."""

import jax
import numpy as np

from plmjax.objectives.base import total_loss
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


def evaluate_objective(eval_step, trainable, frozen, batches, mesh, term_weights) -> dict[str, float]:
    """The objective's loss over the whole split: every term's (sum, count) added over the batches first, so
    the means weight each token (or row) once however the split falls into batches. Returns "loss" (the
    weighted total), "<term>_loss" and every metric's ratio, and "examples" (real rows)."""
    # Dispatch every batch before fetching any result: the host builds batch k+1 while the device runs
    # batch k, and the outputs (a few scalars per batch) come back in one transfer.
    outputs = [eval_step(trainable, frozen, sharding.global_batch(mesh, local_batch)) for local_batch in batches]
    terms, metrics, examples = None, None, 0.0
    for out_terms, out_metrics, rows in jax.device_get(outputs):
        examples += float(rows)
        add = lambda a, b: (a[0] + b[0], a[1] + b[1])  # noqa: E731
        terms = out_terms if terms is None else {k: add(terms[k], v) for k, v in out_terms.items()}
        metrics = out_metrics if metrics is None else {k: add(metrics[k], v) for k, v in out_metrics.items()}
    if terms is None:
        raise ValueError("the evaluation split produced no batches")
    as_float = lambda pairs: {k: (float(s), float(c)) for k, (s, c) in pairs.items()}  # noqa: E731
    terms, metrics = as_float(terms), as_float(metrics)
    results = {"loss": float(total_loss(terms, term_weights))}
    results.update({f"{k}_loss": s / max(c, 1.0) for k, (s, c) in terms.items()})
    results.update({k: s / max(c, 1.0) for k, (s, c) in metrics.items()})
    results["examples"] = examples
    return results
