"""Causal language modelling (GPT): next-token cross-entropy.

Batch: input_ids, optional attention_mask, weights [batch], target_ids (input_ids shifted left by one) and
target_weights (0 at the last position and at padding).
"""

import dataclasses

import jax.numpy as jnp

from plmjax.models import init_params
from plmjax.objectives.base import Objective, accuracy, cross_entropy, dropout_rngs, token_weights


@dataclasses.dataclass(frozen=True)
class CausalLM(Objective):
    """loss = sum of CE(logits, target_ids) * target_weight / sum of target weights.

    model: a DecoderModel with head="lm"."""

    model: object

    @property
    def term_weights(self):
        return {"lm": 1.0}

    def init(self, rng):
        return init_params(self.model, rng)

    def term_counts(self, batch):
        return {"lm": jnp.sum(token_weights(batch, "target_weights"))}

    def model_inputs(self, batch) -> dict:
        """Keyword inputs of the model besides input_ids."""
        return {"attention_mask": batch.get("attention_mask")}

    def loss_and_metrics(self, params, batch, rng=None, deterministic=True):
        out = self.model.apply(
            {"params": params},
            batch["input_ids"],
            **self.model_inputs(batch),
            deterministic=deterministic,
            rngs=dropout_rngs(rng, deterministic),
        )
        labels, weights = batch["target_ids"], token_weights(batch, "target_weights")
        losses = {"lm": cross_entropy(out.logits, labels, weights)}
        return losses, {"lm_accuracy": accuracy(out.logits, labels, weights)}
