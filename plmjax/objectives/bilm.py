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

# Per direction: the positions that predict and the words they predict (forward t -> t + 1, backward t -> t - 1).
PREDICTING = {"forward": slice(None, -1), "backward": slice(1, None)}
PREDICTED = {"forward": slice(1, None), "backward": slice(None, -1)}


def pair_weights(batch) -> jnp.ndarray:
    """[batch, tokens - 1]: 1 where tokens t and t + 1 are both real (in a real row)."""
    real = (batch["char_ids"] > 0).any(axis=-1)
    return (real[:, :-1] & real[:, 1:]).astype(jnp.float32) * row_weights(batch)[:, None]


@dataclasses.dataclass(frozen=True)
class BidirectionalLM(Objective):
    """model: a plmjax.models.elmo.ElmoBiLM (with bidirectional=False, a forward LM: its one term, weight 1)."""

    model: object

    @property
    def term_weights(self):
        directions = self.model.directions
        return {f"{d}_lm": 1 / len(directions) for d in directions}

    def init(self, rng):
        return init_params(self.model, rng)

    def term_counts(self, batch):
        count = jnp.sum(pair_weights(batch))
        return {f"{d}_lm": count for d in self.model.directions}

    def loss_and_metrics(self, params, batch, rng=None, deterministic=True):
        _, *logits = self.model.apply(
            {"params": params}, batch["char_ids"], deterministic, method=type(self.model).language_model,
            rngs=dropout_rngs(rng, deterministic),
        )  # fmt: skip
        weights, words = pair_weights(batch), batch["word_ids"]
        pairs = {
            d: (out[:, PREDICTING[d]], words[:, PREDICTED[d]])
            for d, out in zip(self.model.directions, logits, strict=True)
        }
        losses = {f"{d}_lm": cross_entropy(out, targets, weights) for d, (out, targets) in pairs.items()}
        metrics = {f"{d}_accuracy": accuracy(out, targets, weights) for d, (out, targets) in pairs.items()}
        return losses, metrics
