"""Masked language modelling (BERT, RoBERTa): cross-entropy of the original token at the selected positions.

Batch: input_ids (already corrupted 80/10/10 by the collator), attention_mask, optional token_type_ids,
weights [batch], mlm_labels (original id at selected positions) and mlm_weights (1.0 there).
"""

import dataclasses

import jax
import jax.numpy as jnp

from plmjax.models import init_params
from plmjax.objectives.base import Objective, accuracy, cross_entropy, dropout_rngs, token_weights


def mlm_targets(batch, max_predictions: int | None = None):
    """(positions, labels, weights) of the MLM predictions.

    max_predictions None: positions is None and labels/weights cover every position [batch, length].
    Otherwise the first max_predictions selected positions of each row (by weight, as original BERT's
    max_predictions_per_seq) [batch, max_predictions]; the model then runs its vocabulary projection there
    only. Selections beyond max_predictions are dropped from the loss and from its count alike.
    """
    labels, weights = batch["mlm_labels"], token_weights(batch, "mlm_weights")
    if max_predictions is None:
        return None, labels, weights
    # Among equal weights top_k takes the lower position first, so the choice is deterministic.
    _, positions = jax.lax.top_k(weights, max_predictions)
    take = lambda x: jnp.take_along_axis(x, positions, axis=1)
    return positions, take(labels), take(weights)


def encoder_outputs(model, params, batch, rng, deterministic: bool, masked_positions=None, **kwargs):
    """The encoder's outputs on the batch's inputs (dropout from rng unless deterministic)."""
    return model.apply(
        {"params": params},
        batch["input_ids"],
        attention_mask=batch.get("attention_mask"),
        token_type_ids=batch.get("token_type_ids"),
        deterministic=deterministic,
        masked_positions=masked_positions,
        rngs=dropout_rngs(rng, deterministic),
        **kwargs,
    )


@dataclasses.dataclass(frozen=True)
class MaskedLM(Objective):
    """loss = sum of CE(logits, mlm_labels) * weight / sum of weights over the selected positions.

    model: an EncoderModel with head="mlm". max_predictions: see mlm_targets (None: logits everywhere).
    """

    model: object
    max_predictions: int | None = None

    @property
    def term_weights(self):
        return {"mlm": 1.0}

    def init(self, rng):
        return init_params(self.model, rng)

    def term_counts(self, batch):
        return {"mlm": jnp.sum(mlm_targets(batch, self.max_predictions)[2])}

    def loss_and_metrics(self, params, batch, rng=None, deterministic=True):
        positions, labels, weights = mlm_targets(batch, self.max_predictions)
        out = encoder_outputs(self.model, params, batch, rng, deterministic, positions)
        losses = {"mlm": cross_entropy(out.logits, labels, weights)}
        return losses, {"mlm_accuracy": accuracy(out.logits, labels, weights)}
