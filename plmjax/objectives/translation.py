"""CoVe's training task (McCann et al. 2017): an attentional LSTM seq2seq model (plmjax.models.cove.CoveSeq2Seq)
learns to produce a target sentence from a source sentence, the decoder's cross-entropy on every target word.

Batch (the text_to_text collator's): input_ids, attention_mask (the source), target_ids, target_weights,
optional weights [batch]. The decoder reads the previous target word itself (the model shifts the targets after
its bos_id). Target words past the model's target vocabulary (a word tokenizer's softmax) become `unk_id`, as
inputs to the decoder and as what it predicts.
"""

import dataclasses

import jax.numpy as jnp

from plmjax.models.init import init_params
from plmjax.objectives.base import Objective, accuracy, cross_entropy, dropout_rngs, token_weights


@dataclasses.dataclass(frozen=True)
class AttentionalTranslation(Objective):
    model: object  # a CoveSeq2Seq
    unk_id: int

    @property
    def term_weights(self):
        return {"translation": 1.0}

    def init(self, rng):
        return init_params(self.model, rng)

    def term_counts(self, batch):
        return {"translation": jnp.sum(token_weights(batch, "target_weights"))}

    def loss_and_metrics(self, params, batch, rng=None, deterministic=True):
        targets = batch["target_ids"]
        targets = jnp.where(targets < self.model.target_vocab, targets, self.unk_id)
        logits = self.model.apply(
            {"params": params}, batch["input_ids"], batch["attention_mask"], targets, deterministic,
            rngs=dropout_rngs(rng, deterministic),
        )  # fmt: skip
        weights = token_weights(batch, "target_weights")
        metrics = {"accuracy": accuracy(logits, targets, weights)}
        return {"translation": cross_entropy(logits, targets, weights)}, metrics
