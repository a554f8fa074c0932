"""Causal language modelling (GPT, Transformer-XL): next-token cross-entropy.

Batch: input_ids, optional attention_mask, weights [batch], target_ids (input_ids shifted left by one) and
target_weights (0 at the last position and at padding).

A model with a segment memory (config.memory_length > 0: Transformer-XL) reads each train batch as the next
segment of `batch` parallel token streams (data.sampling="segments"): the memory is the objective's carry,
passed from step to step in the train state. Evaluation reads a batch of whole streams and walks them segment
by segment (segment_length tokens each) from an empty memory of eval_memory_length slots, which may be longer
than training's (the paper evaluates with a longer memory).
"""

import dataclasses

import jax.numpy as jnp

from plmjax.models import init_params
from plmjax.models.segment_memory import empty_memory
from plmjax.objectives.base import Objective, accuracy, cross_entropy, dropout_rngs, token_weights
from plmjax.objectives.segment_scan import memory_model, scan_segments


@dataclasses.dataclass(frozen=True)
class CausalLM(Objective):
    """loss = sum of CE(logits, target_ids) * target_weight / sum of target weights.

    model: a DecoderModel with head="lm". segment_length, eval_memory_length: evaluation of a model with a
    segment memory (0: the batch's length, the model's memory_length)."""

    model: object
    segment_length: int = 0
    eval_memory_length: int = 0

    @property
    def term_weights(self):
        return {"lm": 1.0}

    @property
    def has_memory(self) -> bool:
        return bool(self.model.config.memory_length)

    def init(self, rng):
        return init_params(self.model, rng)

    def term_counts(self, batch):
        return {"lm": jnp.sum(token_weights(batch, "target_weights"))}

    def model_inputs(self, batch) -> dict:
        """Keyword inputs of the model besides input_ids."""
        return {"attention_mask": batch.get("attention_mask")}

    def initial_carry(self, batch_size: int):
        return empty_memory(self.model.config, batch_size) if self.has_memory else None

    def _terms(self, model, params, batch, rng, deterministic, memory=None):
        extra = {"memory": memory} if memory is not None else {}
        out = model.apply(
            {"params": params},
            batch["input_ids"],
            **self.model_inputs(batch),
            **extra,
            deterministic=deterministic,
            rngs=dropout_rngs(rng, deterministic),
        )
        labels, weights = batch["target_ids"], token_weights(batch, "target_weights")
        losses = {"lm": cross_entropy(out.logits, labels, weights)}
        return losses, {"lm_accuracy": accuracy(out.logits, labels, weights)}, out.memory

    def loss_and_metrics(self, params, batch, rng=None, deterministic=True):
        return self._terms(self.model, params, batch, rng, deterministic)[:2]

    def carried_loss_and_metrics(self, params, batch, carry, rng=None, deterministic=True):
        return self._terms(self.model, params, batch, rng, deterministic, carry)

    def evaluation(self, params, batch, rng=None):
        length = batch["input_ids"].shape[1]
        segment = self.segment_length or length
        if not self.has_memory or segment >= length:
            return super().evaluation(params, batch, rng)
        model = memory_model(self.model, self.eval_memory_length)
        terms_fn = lambda piece, memory: self._terms(model, params, piece, None, True, memory)  # noqa: E731
        return (*scan_segments(terms_fn, model, batch, segment), {})
