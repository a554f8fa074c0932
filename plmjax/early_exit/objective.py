"""Training a classifier with an exit after every layer, as an objective of the standard trainer.

Schemes (how the layers' losses L_1 .. L_L combine into the "classification" term; L = the number of exits):
- joint (PABEE): sum_i i L_i / sum_i i, every head and the backbone together;
- internal (DeeBERT's second stage): sum_{i<L} L_i with the backbone and the final classifier frozen (the run's
  leading rules); its first stage is ordinary fine-tuning (objective classification), exported and loaded as
  this run's model (configs/early_exit.py: stage=1, then stage=2);
- alternating (BERxiT): at even steps L_L alone, at odd steps sum_i L_i.

The "confidence" term trains BERxiT's learning-to-exit predictor: the mean over exits of (u_i - c_i)^2, u_i its
output and c_i 1 when exit i's prediction is right, else 0 (regression: exp(-(prediction - label)^2), so 1 at no
error). It reads the layers and heads through stop_gradient: it learns to judge them without changing them.

Evaluation logs each exit's accuracy ("layer_<i>_accuracy", 1-based), and under the configured criterion the
exits' accuracy ("exit_accuracy") and mean exit layer ("exit_layer"); the predictions the task metrics score
are the final layer's (the full model: checkpoint selection stays the ordinary one).
"""

import dataclasses

import jax
import jax.numpy as jnp

from plmjax.early_exit import criteria
from plmjax.early_exit.heads import add_exit_params, check_model, check_reads, num_exits
from plmjax.early_exit.layerwise import all_confidences, all_exits
from plmjax.models import init_params
from plmjax.objectives.base import Objective, row_weights
from plmjax.objectives.classification import example_losses, predictions

SCHEMES = ("joint", "internal", "alternating")


def layer_loss_weights(scheme: str, exits: int, step=None):
    """[exits] weights of the layers' losses in the "classification" term (step: the train step, traced)."""
    depth = jnp.arange(1, exits + 1, dtype=jnp.float32)
    if scheme == "joint":
        return depth / jnp.sum(depth)
    if scheme == "internal":
        return (depth < exits).astype(jnp.float32)
    if scheme == "alternating":
        final_only = (depth == exits).astype(jnp.float32)
        if step is None:  # evaluation: the loss of the odd steps, every layer
            return jnp.ones_like(depth)
        return jnp.where(step % 2 == 0, final_only, jnp.ones_like(depth))
    raise ValueError(f"early exit scheme {scheme!r}; schemes: {list(SCHEMES)}")


def correctness(logits, labels, num_labels: int):
    """[exits, rows]: what the confidence predictor learns: 1.0 where the exit is right (regression: the
    closeness exp(-error^2))."""
    if num_labels == 1:
        return jnp.exp(-jnp.square(logits[..., 0].astype(jnp.float32) - labels.astype(jnp.float32)))
    return (predictions(logits, num_labels) == labels.astype(jnp.int32)).astype(jnp.float32)


@dataclasses.dataclass(frozen=True)
class EarlyExit(Objective):
    """model: an encoder with head="classification"; criterion: the one the evaluation reports."""

    model: object
    num_labels: int
    scheme: str = "joint"
    criterion: criteria.Criterion | None = None
    confidence_weight: float = 1.0
    reads: str = "classifier"  # what the internal exits read of their layer (heads.exit_reads)
    step: object = None  # the train step (traced), set by at_step: the alternating scheme reads its parity

    def __post_init__(self):
        check_model(self.model)
        check_reads(self.reads)
        layer_loss_weights(self.scheme, 2)  # an unknown scheme: the error now

    @property
    def term_weights(self):
        return {"classification": 1.0, "confidence": self.confidence_weight}

    def at_step(self, step):
        return dataclasses.replace(self, step=step)

    def add_exit_params(self, params, rng):
        return add_exit_params(self.model, params, rng)

    def init(self, rng):
        model_rng, exit_rng = jax.random.split(rng)
        return self.add_exit_params(init_params(self.model, model_rng), exit_rng)

    def term_counts(self, batch):
        rows = jnp.sum(row_weights(batch))
        return {"classification": rows, "confidence": rows}

    def _terms(self, params, batch, rng, deterministic):
        """(terms, metrics, every exit's logits, confidences)."""
        logits, first_tokens = all_exits(self.model, params, batch, rng, deterministic, self.reads)
        weights = row_weights(batch)
        labels = batch["labels"]
        losses = jax.vmap(lambda layer_logits: example_losses(layer_logits, labels, self.num_labels))(logits)
        layer_weights = layer_loss_weights(self.scheme, logits.shape[0], self.step)
        loss_sum = jnp.sum(layer_weights[:, None] * losses * weights)
        confidences = all_confidences(params, jax.lax.stop_gradient(first_tokens), jax.lax.stop_gradient(logits))
        target = correctness(logits, labels, self.num_labels)
        confidence_sum = jnp.sum(jnp.mean(jnp.square(confidences - target), axis=0) * weights)
        rows = jnp.sum(weights)
        terms = {"classification": (loss_sum, rows), "confidence": (confidence_sum, rows)}
        metrics = {}
        if self.num_labels > 1:
            metrics["accuracy"] = (jnp.sum(target[-1] * weights), rows)
            for i in range(logits.shape[0]):
                metrics[f"layer_{i + 1}_accuracy"] = (jnp.sum(target[i] * weights), rows)
        return terms, metrics, logits, confidences

    def loss_and_metrics(self, params, batch, rng=None, deterministic=True):
        terms, metrics, _, _ = self._terms(params, batch, rng, deterministic)
        return terms, metrics

    def evaluation(self, params, batch, rng=None):
        terms, metrics, logits, confidences = self._terms(params, batch, None, True)
        rows = terms["classification"][1]
        weights = row_weights(batch)
        if self.criterion is not None:
            exit_layers, exit_logits = criteria.simulate(self.criterion, logits, confidences)
            metrics["exit_layer"] = (jnp.sum(exit_layers * weights), rows)
            if self.num_labels > 1:
                right = predictions(exit_logits, self.num_labels) == batch["labels"].astype(jnp.int32)
                metrics["exit_accuracy"] = (jnp.sum(right * weights), rows)
        outputs = {"predictions": predictions(logits[-1], self.num_labels), "labels": batch["labels"]}
        return terms, metrics, outputs

    @classmethod
    def from_config(cls, model, num_labels: int, settings) -> "EarlyExit":
        """From config.objective.early_exit (scheme, criterion, threshold, tolerance, confidence_weight, reads)."""
        check_model(model)
        criterion = criteria.make_criterion(
            settings.criterion, settings.threshold, num_labels, num_exits(model), settings.tolerance
        )
        return cls(model, num_labels, settings.scheme, criterion, settings.confidence_weight, settings.reads)
