"""XLNet's permutation language modelling: cross-entropy of the query stream's predictions of the targets.

Batch (plmjax.data.pretraining.permutation): input_ids, attention_mask, weights [batch], perm_mask, target_mapping
[batch, predictions, length], target_ids and target_weights [batch, predictions].

With a segment memory (config.memory_length > 0), as XLNet pretrains: each train batch is the next segment of
`batch` parallel token streams (data.sampling="segments", each segment permuted on its own), and the memory of
the earlier segments is the objective's carry, passed from step to step in the train state. Evaluation reads
whole streams, with each segment's permutation arrays stacked on axis 1 (`PermutedSegments`), and walks them
segment by segment from an empty memory of eval_memory_length slots.
"""

import dataclasses

import jax.numpy as jnp

from plmjax.models import init_params
from plmjax.models.segment_memory import empty_memory
from plmjax.models.xlnet import PERMUTATION_KEYS
from plmjax.objectives.base import Objective, accuracy, cross_entropy, dropout_rngs, token_weights
from plmjax.objectives.segment_scan import memory_model, scan_segments


@dataclasses.dataclass(frozen=True)
class PermutationLM(Objective):
    """loss = sum of CE(logits of prediction m, target_ids[m]) * target_weight / sum of target weights.

    model: an XLNetModel with head="lm". eval_memory_length: memory slots at evaluation (0: the model's)."""

    model: object
    eval_memory_length: int = 0

    @property
    def term_weights(self):
        return {"plm": 1.0}

    def init(self, rng):
        return init_params(self.model, rng)

    def term_counts(self, batch):
        return {"plm": jnp.sum(token_weights(batch, "target_weights"))}

    @property
    def has_memory(self) -> bool:
        return bool(self.model.config.memory_length)

    def initial_carry(self, batch_size: int):
        return empty_memory(self.model.config, batch_size) if self.has_memory else None

    def loss_and_metrics(self, params, batch, rng=None, deterministic=True):
        return self._terms(self.model, params, batch, rng, deterministic)[:2]

    def carried_loss_and_metrics(self, params, batch, carry, rng=None, deterministic=True):
        return self._terms(self.model, params, batch, rng, deterministic, carry)

    def evaluation(self, params, batch, rng=None):
        if batch["perm_mask"].ndim == 3:  # independent rows (or one segment each)
            return super().evaluation(params, batch, rng)
        model = memory_model(self.model, self.eval_memory_length)
        terms_fn = lambda piece, memory: self._terms(model, params, piece, None, True, memory)  # noqa: E731
        segment = batch["perm_mask"].shape[-1]
        return (*scan_segments(terms_fn, model, batch, segment, PERMUTATION_KEYS), {})

    def _terms(self, model, params, batch, rng, deterministic, memory=None):
        out = model.apply(
            {"params": params},
            batch["input_ids"],
            attention_mask=batch.get("attention_mask"),
            token_type_ids=batch.get("token_type_ids"),
            perm_mask=batch["perm_mask"],
            target_mapping=batch["target_mapping"],
            memory=memory,
            deterministic=deterministic,
            rngs=dropout_rngs(rng, deterministic),
        )
        labels, weights = batch["target_ids"], token_weights(batch, "target_weights")
        terms = {"plm": cross_entropy(out.logits, labels, weights)}
        return terms, {"plm_accuracy": accuracy(out.logits, labels, weights)}, out.memory
