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

import jax
import jax.numpy as jnp

from plmjax.models import init_params
from plmjax.models.segment_memory import empty_memory
from plmjax.objectives.base import Objective, accuracy, cross_entropy, dropout_rngs, token_weights


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
        if length % segment:
            raise ValueError(f"an evaluation batch of {length} tokens is not whole {segment}-token segments")
        slots = self.eval_memory_length or self.model.config.memory_length
        model = self.model.clone(config=self.model.config.replace(memory_length=slots))
        rows = batch["input_ids"].shape[0]
        # [segments, rows, segment] pieces of every [rows, length] array; row weights stay as they are.
        pieces = {
            k: jnp.moveaxis(v.reshape(rows, length // segment, segment), 1, 0)
            for k, v in batch.items()
            if v.ndim == 2 and v.shape[1] == length
        }
        rest = {k: v for k, v in batch.items() if k not in pieces}

        def one_segment(memory, piece):
            terms, metrics, memory = self._terms(model, params, {**rest, **piece}, None, True, memory)
            return memory, (terms, metrics)

        _, (terms, metrics) = jax.lax.scan(one_segment, empty_memory(model.config, rows), pieces)
        total = lambda pairs: {k: (jnp.sum(s), jnp.sum(c)) for k, (s, c) in pairs.items()}  # noqa: E731
        return total(terms), total(metrics), {}
