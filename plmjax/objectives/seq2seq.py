"""Sequence-to-sequence denoising (BART) and span corruption (T5): the decoder's cross-entropy on the targets.

The two differ only in their collators. Batch: input_ids, attention_mask, decoder_input_ids,
decoder_attention_mask, target_ids, target_weights, weights [batch].
"""

import dataclasses

import jax.numpy as jnp

from plmjax.models import init_params
from plmjax.objectives.base import Objective, accuracy, cross_entropy, dropout_rngs, token_weights


@dataclasses.dataclass(frozen=True)
class Seq2SeqLM(Objective):
    """loss = sum of CE(decoder logits, target_ids) * target_weight / sum of target weights.

    model: a Seq2SeqModel (BART or T5) with head="lm"."""

    model: object

    @property
    def term_weights(self):
        return {"lm": 1.0}

    def init(self, rng):
        return init_params(self.model, rng)

    def term_counts(self, batch):
        return {"lm": jnp.sum(token_weights(batch, "target_weights"))}

    def loss_and_metrics(self, params, batch, rng=None, deterministic=True):
        out = self.model.apply(
            {"params": params},
            batch["input_ids"],
            attention_mask=batch.get("attention_mask"),
            decoder_input_ids=batch["decoder_input_ids"],
            decoder_attention_mask=batch.get("decoder_attention_mask"),
            deterministic=deterministic,
            rngs=dropout_rngs(rng, deterministic),
        )
        labels, weights = batch["target_ids"], token_weights(batch, "target_weights")
        losses = {"lm": cross_entropy(out.logits, labels, weights)}
        return losses, {"lm_accuracy": accuracy(out.logits, labels, weights)}
