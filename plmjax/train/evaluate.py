"""Evaluation, one path for every objective: the objective's loss terms and metrics summed over a split, and,
where the objective returns each row's prediction (classification, prompting), the task's metrics over them."""

import jax
import numpy as np

from plmjax.objectives.base import total_loss
from plmjax.train import sharding
from plmjax.train.metrics import compute_metrics


def evaluate_objective(eval_step, trainable, frozen, batches, mesh, term_weights, task_metrics=()) -> dict[str, float]:
    """Run the jitted eval step (plmjax.train.step.make_objective_eval_step) over `batches` (this process's
    shares of each global batch; its outputs are replicated, so every process sees the whole split).

    Every term's (sum, count) is added over the batches first, so the means weight each token (or row) once
    however the split falls into batches. Returns "loss" (the weighted total), "<term>_loss", every metric's
    ratio, "examples" (real rows) and `task_metrics` (plmjax.train.metrics) over the real rows' predictions.
    """
    # Dispatch every batch before fetching any result: the host builds batch k+1 while the device runs
    # batch k, and the outputs come back in one transfer.
    outputs = [eval_step(trainable, frozen, sharding.global_batch(mesh, local_batch)) for local_batch in batches]
    terms, metrics, examples, per_example = None, None, 0.0, []
    for out_terms, out_metrics, rows, out_examples in jax.device_get(outputs):
        examples += float(rows)
        add = lambda a, b: (a[0] + b[0], a[1] + b[1])  # noqa: E731
        terms = out_terms if terms is None else {k: add(terms[k], v) for k, v in out_terms.items()}
        metrics = out_metrics if metrics is None else {k: add(metrics[k], v) for k, v in out_metrics.items()}
        per_example.append(out_examples)
    if terms is None:
        raise ValueError("the evaluation split produced no batches")
    as_float = lambda pairs: {k: (float(s), float(c)) for k, (s, c) in pairs.items()}  # noqa: E731
    terms, metrics = as_float(terms), as_float(metrics)
    results = {}
    if any(c for _, c in terms.values()):  # SimCSE scores STS pairs: predictions, no loss
        results["loss"] = float(total_loss(terms, term_weights))
        results.update({f"{k}_loss": s / max(c, 1.0) for k, (s, c) in terms.items()})
    results.update({k: s / max(c, 1.0) for k, (s, c) in metrics.items()})
    if task_metrics:
        if not per_example[0]:
            raise ValueError(f"metrics {list(task_metrics)} need per-example predictions; this objective has none")
        joined = {k: np.concatenate([np.asarray(out[k]) for out in per_example]) for k in per_example[0]}
        keep = joined["weights"] > 0
        results.update(compute_metrics(list(task_metrics), joined["predictions"][keep], joined["labels"][keep]))
    results["examples"] = examples
    return results
