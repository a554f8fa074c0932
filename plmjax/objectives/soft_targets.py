"""Classification trained on soft labels: PET's final classifier, distilled from the PVP ensemble.

    loss = sum_b w_b T^2 KL(q_b || softmax(z_b / T)) / sum_b w_b

z: the classifier's logits; q: batch["soft_labels"], the ensemble's softmax(s / T) (plmjax.prompting.pet.
soft_labels at the same T). This is PET's distillation_loss (timoschick/pet, pet/utils.py):
kl_div(log_softmax(z / T), softmax(s / T), reduction="sum") * T^2 / batch size, which PET applies to the merged
logits s. It differs from the soft cross-entropy T^2 sum_l -q_l log softmax(z / T)_l by q's entropy, a constant:
the gradients are the same.

Batch: input_ids, attention_mask, optional token_type_ids, soft_labels [batch, classes] (float), weights [batch]
(0 for padding rows), optional labels [batch]. A batch without soft_labels (a validation split) is scored
against its labels as one-hot targets.
"""

import dataclasses

import jax
import jax.numpy as jnp

from plmjax.models import init_params
from plmjax.objectives.base import Objective, row_weights
from plmjax.objectives.classification import classifier_logits


def distillation_losses(logits, targets, temperature: float):
    """Per-example T^2 KL(targets || softmax(logits / T)), in float32 (0 log 0 = 0)."""
    targets = targets.astype(jnp.float32)
    log_probs = jax.nn.log_softmax(logits.astype(jnp.float32) / temperature)
    return jnp.sum(jax.scipy.special.xlogy(targets, targets) - targets * log_probs, axis=-1) * temperature**2


def soft_targets(batch, num_labels: int):
    """batch["soft_labels"] in float32, or one-hot batch["labels"]; zero on padding rows, whose values (often
    uninitialised) must not reach the loss or its gradient."""
    if "soft_labels" in batch:
        targets = batch["soft_labels"].astype(jnp.float32)
    else:
        targets = jax.nn.one_hot(batch["labels"], num_labels, dtype=jnp.float32)
    return jnp.where(row_weights(batch)[:, None] > 0, targets, 0.0)


@dataclasses.dataclass(frozen=True)
class SoftTargetClassification(Objective):
    """PET's distillation loss (module docstring) on a model with head="classification"; metrics:
    soft_label_accuracy (argmax z == argmax q) and, when the batch has labels, accuracy."""

    model: object
    num_labels: int
    temperature: float = 2.0  # PET's --temperature

    @property
    def term_weights(self):
        return {"distillation": 1.0}

    def init(self, rng):
        return init_params(self.model, rng)

    def term_counts(self, batch):
        return {"distillation": jnp.sum(row_weights(batch))}

    def class_scores(self, params, batch):
        return classifier_logits(self.model, params, batch)

    def loss_and_metrics(self, params, batch, rng=None, deterministic=True):
        logits = classifier_logits(self.model, params, batch, rng, deterministic)
        return self._terms(logits, batch)

    def evaluation(self, params, batch, rng=None):
        logits = classifier_logits(self.model, params, batch)
        terms, metrics = self._terms(logits, batch)
        labels = batch["labels"] if "labels" in batch else jnp.argmax(soft_targets(batch, self.num_labels), -1)
        return terms, metrics, {"predictions": jnp.argmax(logits, axis=-1), "labels": labels}

    def _terms(self, logits, batch):
        weights = row_weights(batch)
        targets = soft_targets(batch, self.num_labels)
        losses = distillation_losses(logits, targets, self.temperature)
        predicted = jnp.argmax(logits, axis=-1)
        count = jnp.sum(weights)
        metrics = {"soft_label_accuracy": (jnp.sum((predicted == jnp.argmax(targets, -1)) * weights), count)}
        if "labels" in batch:
            metrics["accuracy"] = (jnp.sum((predicted == batch["labels"].astype(jnp.int32)) * weights), count)
        return {"distillation": (jnp.sum(losses * weights), count)}, metrics
