"""ELMo's bidirectional language modelling: a forward LM and a backward LM over the same tokens, one loss term
each (weight 1/2: the paper maximises the sum of both log likelihoods, reported as their mean per token).

Batch: char_ids [batch, tokens, max_chars] (ELMo's byte encoding, plmjax.models.elmo.elmo_char_ids; a padded
token is all 0), word_ids [batch, tokens] (the softmax vocabulary's ids), optional weights [batch]. Position t
of the forward LM predicts word t + 1 and position t of the backward LM word t - 1; a pair counts where both of
its tokens are real.
"""

import dataclasses

import jax.numpy as jnp

from plmjax.models import init_params
from plmjax.objectives.base import Objective, accuracy, cross_entropy, dropout_rngs, row_weights


def pair_weights(batch) -> jnp.ndarray:
    """[batch, tokens - 1]: 1 where tokens t and t + 1 are both real (in a real row)."""
    real = (batch["char_ids"] > 0).any(axis=-1)
    return (real[:, :-1] & real[:, 1:]).astype(jnp.float32) * row_weights(batch)[:, None]


@dataclasses.dataclass(frozen=True)
class BidirectionalLM(Objective):
    """model: a plmjax.models.elmo.ElmoBiLM."""

    model: object

    @property
    def term_weights(self):
        return {"forward_lm": 0.5, "backward_lm": 0.5}

    def init(self, rng):
        return init_params(self.model, rng)

    def term_counts(self, batch):
        count = jnp.sum(pair_weights(batch))
        return {"forward_lm": count, "backward_lm": count}

    def loss_and_metrics(self, params, batch, rng=None, deterministic=True):
        _, forward, backward = self.model.apply(
            {"params": params}, batch["char_ids"], deterministic, method=type(self.model).language_model,
            rngs=dropout_rngs(rng, deterministic),
        )  # fmt: skip
        weights, words = pair_weights(batch), batch["word_ids"]
        pairs = {"forward": (forward[:, :-1], words[:, 1:]), "backward": (backward[:, 1:], words[:, :-1])}
        losses = {f"{d}_lm": cross_entropy(logits, targets, weights) for d, (logits, targets) in pairs.items()}
        metrics = {f"{d}_accuracy": accuracy(logits, targets, weights) for d, (logits, targets) in pairs.items()}
        return losses, metrics
