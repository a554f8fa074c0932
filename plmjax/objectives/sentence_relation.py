"""Next-sentence prediction (BERT) and sentence-order prediction (ALBERT), alone or with MLM.

Batch: the MLM keys (for the combined objective) plus sentence_labels [batch] (NSP: 0 = actual next,
1 = random; SOP: 0 = in order, 1 = swapped) and token_type_ids marking the two segments.
"""

import dataclasses

import jax.numpy as jnp

from plmjax.models import init_params
from plmjax.objectives.base import Objective, accuracy, cross_entropy, row_weights
from plmjax.objectives.mlm import encoder_outputs, mlm_targets


def sentence_terms(logits, batch):
    """(loss_sum, count) and (correct_sum, count) of the two-way sentence task, per row."""
    labels, weights = batch["sentence_labels"], row_weights(batch)
    return cross_entropy(logits, labels, weights), accuracy(logits, labels, weights)


@dataclasses.dataclass(frozen=True)
class SentenceRelation(Objective):
    """NSP or SOP alone: loss = mean CE over rows. model: an EncoderModel with head "nsp" or "sop"."""

    model: object

    @property
    def term_weights(self):
        return {"sentence": 1.0}

    def init(self, rng):
        return init_params(self.model, rng)

    def term_counts(self, batch):
        return {"sentence": jnp.sum(row_weights(batch))}

    def loss_and_metrics(self, params, batch, rng=None, deterministic=True):
        out = encoder_outputs(self.model, params, batch, rng, deterministic)
        loss, hits = sentence_terms(out.logits, batch)
        return {"sentence": loss}, {"sentence_accuracy": hits}


@dataclasses.dataclass(frozen=True)
class MaskedLMWithSentenceRelation(Objective):
    """BERT (MLM + NSP) and ALBERT (MLM + SOP) pretraining: loss = mean MLM CE over the selected tokens + mean
    sentence CE over rows, each term weighted 1. model: an EncoderModel with head="pretraining" (the family
    decides NSP or SOP; the collator decides what sentence_labels mean)."""

    model: object
    max_predictions: int | None = None

    @property
    def term_weights(self):
        return {"mlm": 1.0, "sentence": 1.0}

    def init(self, rng):
        return init_params(self.model, rng)

    def term_counts(self, batch):
        return {"mlm": jnp.sum(mlm_targets(batch, self.max_predictions)[2]), "sentence": jnp.sum(row_weights(batch))}

    def loss_and_metrics(self, params, batch, rng=None, deterministic=True):
        positions, labels, weights = mlm_targets(batch, self.max_predictions)
        out = encoder_outputs(self.model, params, batch, rng, deterministic, positions)
        sentence_loss, sentence_hits = sentence_terms(out.sentence_logits, batch)
        losses = {"mlm": cross_entropy(out.logits, labels, weights), "sentence": sentence_loss}
        metrics = {"mlm_accuracy": accuracy(out.logits, labels, weights), "sentence_accuracy": sentence_hits}
        return losses, metrics
