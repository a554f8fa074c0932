"""XLNet's permutation language modelling: cross-entropy of the query stream's predictions of the targets.

Batch (plmjax.data.pretraining.permutation): input_ids, attention_mask, weights [batch], perm_mask, target_mapping
[batch, predictions, length], target_ids and target_weights [batch, predictions].
"""

import dataclasses

import jax.numpy as jnp

from plmjax.models import init_params
from plmjax.objectives.base import Objective, accuracy, cross_entropy, dropout_rngs, token_weights


@dataclasses.dataclass(frozen=True)
class PermutationLM(Objective):
    """loss = sum of CE(logits of prediction m, target_ids[m]) * target_weight / sum of target weights.

    model: an XLNetModel with head="lm"."""

    model: object

    @property
    def term_weights(self):
        return {"plm": 1.0}

    def init(self, rng):
        return init_params(self.model, rng)

    def term_counts(self, batch):
        return {"plm": jnp.sum(token_weights(batch, "target_weights"))}

    def loss_and_metrics(self, params, batch, rng=None, deterministic=True):
        out = self.model.apply(
            {"params": params},
            batch["input_ids"],
            attention_mask=batch.get("attention_mask"),
            token_type_ids=batch.get("token_type_ids"),
            perm_mask=batch["perm_mask"],
            target_mapping=batch["target_mapping"],
            deterministic=deterministic,
            rngs=dropout_rngs(rng, deterministic),
        )
        labels, weights = batch["target_ids"], token_weights(batch, "target_weights")
        terms = {"plm": cross_entropy(out.logits, labels, weights)}
        return terms, {"plm_accuracy": accuracy(out.logits, labels, weights)}
