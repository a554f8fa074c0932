"""Sequence classification and regression as an objective, so fine-tuning and pretraining share one train step.

Batch: input_ids, attention_mask, optional token_type_ids, labels [batch] (int, or float for regression) and
weights [batch] (0 for padding rows).
"""

import dataclasses

import jax.numpy as jnp
import optax

from plmjax.models import init_params
from plmjax.models.decoder import DecoderModel
from plmjax.objectives.base import Objective, dropout_rngs, row_weights


def example_losses(logits, labels, num_labels: int):
    """Per-example cross-entropy, or squared error when num_labels == 1 (regression); in float32."""
    logits = logits.astype(jnp.float32)
    if num_labels == 1:
        return jnp.square(logits[..., 0] - labels.astype(jnp.float32))
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels.astype(jnp.int32))


def predictions(logits, num_labels: int):
    logits = logits.astype(jnp.float32)
    return logits[..., 0] if num_labels == 1 else jnp.argmax(logits, axis=-1)


def classifier_outputs(model, params, batch, rng=None, deterministic: bool = True, **kwargs):
    """The classifier's outputs on the batch's inputs. A decoder (GPT-2) takes no token types: its classifier
    reads the last non-pad token, as transformers' GPT2ForSequenceClassification called without them."""
    inputs = {"attention_mask": batch.get("attention_mask")}
    if not isinstance(model, DecoderModel):
        inputs["token_type_ids"] = batch.get("token_type_ids")
    return model.apply(
        {"params": params},
        batch["input_ids"],
        **inputs,
        deterministic=deterministic,
        rngs=dropout_rngs(rng, deterministic),
        **kwargs,
    )


def classifier_logits(model, params, batch, rng=None, deterministic: bool = True):
    return classifier_outputs(model, params, batch, rng, deterministic).logits


@dataclasses.dataclass(frozen=True)
class Classification(Objective):
    """loss = sum_b CE(logits_b, label_b) w_b / sum_b w_b (squared error for regression, num_labels == 1).

    model: a model with head="classification"."""

    model: object
    num_labels: int

    @property
    def term_weights(self):
        return {"classification": 1.0}

    def init(self, rng):
        return init_params(self.model, rng)

    def term_counts(self, batch):
        return {"classification": jnp.sum(row_weights(batch))}

    def class_scores(self, params, batch):
        """[batch, classes] logits in evaluation (what a trained run labels other examples with)."""
        return classifier_logits(self.model, params, batch)

    def loss_and_metrics(self, params, batch, rng=None, deterministic=True):
        logits = classifier_logits(self.model, params, batch, rng, deterministic)
        return class_terms(logits, batch, self.num_labels)

    def evaluation(self, params, batch, rng=None):
        logits = classifier_logits(self.model, params, batch)
        terms, metrics = class_terms(logits, batch, self.num_labels)
        return terms, metrics, {"predictions": predictions(logits, self.num_labels), "labels": batch["labels"]}


def class_terms(logits, batch, num_labels: int, term: str = "classification"):
    """({term: (loss sum, count)}, {"accuracy": (hits, count)}) of class logits [batch, classes] (squared
    error and no accuracy for regression, num_labels == 1), padding rows weighing 0."""
    weights = row_weights(batch)
    losses = {term: (jnp.sum(example_losses(logits, batch["labels"], num_labels) * weights), jnp.sum(weights))}
    if num_labels == 1:
        return losses, {}
    hits = predictions(logits, num_labels) == batch["labels"].astype(jnp.int32)
    return losses, {"accuracy": (jnp.sum(hits * weights), jnp.sum(weights))}
