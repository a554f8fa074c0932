"""Prompt-based classification as a trainer objective (LM-BFF, PET): the masked LM read at each prompt's mask,
scored by a verbalizer, trained with cross-entropy over the classes (and the verbalizer's own loss terms).

Parameters: the model's at the root (so HF import and export, PEFT rules and checkpoints see the same tree
as any run of that model), plus "verbalizer" when the verbalizer trains parameters of its own (soft,
prototypical). Batches are prompts (plmjax.prompting.prompt_data): input_ids, attention_mask, token_type_ids
[batch, length], mask_positions, labels, weights [batch]; in evaluation with several demonstration sets,
[batch, sets, length] and [batch, sets], whose class logits are averaged (LM-BFF's ensemble).
"""

import dataclasses

import jax
import jax.numpy as jnp

from plmjax.models import init_params
from plmjax.objectives.base import Objective, dropout_rngs, row_weights
from plmjax.objectives.classification import class_terms, predictions
from plmjax.objectives.mlm import MaskedLM
from plmjax.prompting.mask_outputs import mask_outputs

VERBALIZER = "verbalizer"  # the params key of a verbalizer's own parameters
UNLABELED = "unlabeled_"  # the batch keys of PET's auxiliary MLM batch start with this


def unlabeled_batch(batch: dict) -> dict:
    """The auxiliary MLM batch inside a training batch (keys without their "unlabeled_" prefix)."""
    return {key[len(UNLABELED) :]: value for key, value in batch.items() if key.startswith(UNLABELED)}


def model_params(params: dict) -> dict:
    return {name: value for name, value in params.items() if name != VERBALIZER}


@dataclasses.dataclass(frozen=True)
class PromptClassification(Objective):
    """model: an encoder with head="mlm"; verbalizer: any of plmjax.prompting's (the interface in verbalizer.py)."""

    model: object
    verbalizer: object
    # PET's auxiliary language modelling: loss = (1 - a) CE + a MLM on a batch of unlabeled prompts (PET: 1e-4).
    auxiliary_mlm: float = 0.0

    @property
    def term_weights(self):
        weights = {"classification": 1.0 - self.auxiliary_mlm} if self.verbalizer.uses_cross_entropy else {}
        if self.auxiliary_mlm:
            weights["mlm"] = self.auxiliary_mlm
        return {**weights, **self.verbalizer.term_weights}

    def _mlm(self) -> MaskedLM:
        return MaskedLM(self.model)

    def add_verbalizer_params(self, params, rng):
        """The model's parameters plus the verbalizer's (initialised from them, e.g. from label word rows)."""
        own = self.verbalizer.init(rng, self.model, params)
        return params if own is None else {**params, VERBALIZER: own}

    def init(self, rng):
        model_rng, verbalizer_rng = jax.random.split(rng)
        return self.add_verbalizer_params(init_params(self.model, model_rng), verbalizer_rng)

    def term_counts(self, batch):
        counts = {"classification": jnp.sum(row_weights(batch))} if self.verbalizer.uses_cross_entropy else {}
        if self.auxiliary_mlm:
            counts.update(self._mlm().term_counts(unlabeled_batch(batch)))
        return {**counts, **self.verbalizer.term_counts(batch["labels"], row_weights(batch))}

    def scores(self, params, batch, rng=None, deterministic=True):
        """([batch, classes] class scores, the MaskOutputs they came from); with [batch, sets, length] inputs,
        the scores averaged over the sets."""
        sets = batch["input_ids"].shape[1] if batch["input_ids"].ndim == 3 else None
        flat = batch
        if sets is not None:
            keys = ("input_ids", "attention_mask", "token_type_ids", "mask_positions")
            flat = {k: batch[k].reshape(-1, *batch[k].shape[2:]) for k in keys if k in batch}
        outputs = mask_outputs(
            self.model,
            model_params(params),
            flat,
            self.verbalizer.word_ids,
            deterministic,
            dropout_rngs(rng, deterministic),
        )
        scores = self.verbalizer.scores(params.get(VERBALIZER), outputs)
        if sets is not None:
            scores = jnp.mean(scores.reshape(-1, sets, scores.shape[-1]), axis=1)
        return scores, outputs

    def class_scores(self, params, batch):
        """[batch, classes] in evaluation (what a trained run labels other examples with)."""
        return self.scores(params, batch)[0]

    def _terms(self, params, batch, scores, outputs):
        terms, metrics = class_terms(scores, batch, self.verbalizer.num_classes)
        if not self.verbalizer.uses_cross_entropy:
            terms = {}
        if self.verbalizer.term_weights:
            if batch["input_ids"].ndim == 3:  # PromptSource refuses the combination before a run starts
                raise ValueError("a verbalizer with loss terms of its own cannot score demonstration ensembles")
            own = params.get(VERBALIZER)
            terms.update(self.verbalizer.loss_terms(own, outputs, batch["labels"], row_weights(batch)))
        return terms, metrics

    def loss_and_metrics(self, params, batch, rng=None, deterministic=True):
        scores, outputs = self.scores(params, batch, rng, deterministic)
        terms, metrics = self._terms(params, batch, scores, outputs)
        if self.auxiliary_mlm:
            mlm_rng = None if rng is None else jax.random.fold_in(rng, 1)
            mlm_terms, mlm_metrics = self._mlm().loss_and_metrics(
                model_params(params), unlabeled_batch(batch), mlm_rng, deterministic
            )
            terms, metrics = {**terms, **mlm_terms}, {**metrics, **mlm_metrics}
        return terms, metrics

    def evaluation(self, params, batch, rng=None):
        scores, outputs = self.scores(params, batch)
        terms, metrics = self._terms(params, batch, scores, outputs)
        if self.auxiliary_mlm:  # evaluation splits have no unlabeled batch: the term counts nothing there
            terms["mlm"] = (jnp.zeros((), jnp.float32), jnp.zeros((), jnp.float32))
        labels = batch["labels"]
        return terms, metrics, {"predictions": predictions(scores, self.verbalizer.num_classes), "labels": labels}
