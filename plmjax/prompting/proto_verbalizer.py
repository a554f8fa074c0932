"""PrototypicalVerbalizer (ProtoVerb, Cui et al. 2022): classes as prototypes learned by contrastive losses on
the masked LM's last hidden state at the mask, as OpenPrompt's ProtoVerbalizer computes them.

With h_r the hidden state of row r, W [hidden, mid_dim] a projection without bias, prototypes P [classes, mid_dim],
normalize(x) = x / max(|x|, 1e-12) (torch's F.normalize) and s(a, b) = normalize(a) . normalize(b):

    z_r = h_r @ W                        scores[r, c] = s(z_r, P_c)

With label_words (OpenPrompt's multi_verb="multi") the scores are the mean of the standardised manual class
logits m (ManualVerbalizer's) and the standardised similarities, over classes, with torch.std's unbiased std:

    scores = (std(m) + std(s)) / 2,      std(x) = (x - mean_c x) / sqrt(sum_c (x - mean_c x)^2 / (classes - 1))

Loss terms over a batch with labels y and weights w (padding rows 0), C classes, e = exp(s):

    instance_prototype   sum  = sum_r w_r (logsumexp_c s(z_r, P_c) - s(z_r, P_{y_r}))
                         count = C * sum_r w_r
    instance_instance    neg_r = sum_{t: y_t != y_r} w_t e(z_t, z_r)
                         sum  = sum_{r, q: y_q = y_r} w_r w_q (log(e(z_q, z_r) + neg_r) - s(z_q, z_r))  (q = r too)
                         count = C * sum_c (sum_{r: y_r = c} w_r)^2

On a batch of C classes x K shots (weights 1) sum / count is OpenPrompt's pcl_loss term for term: its normalisers
C^2 K and C^2 K^2 (the paper's 1/N^2K and 1/N^2K^2). Not trained by cross-entropy: the objective adds these terms.
"""

import jax
import jax.numpy as jnp
import numpy as np

from plmjax.prompting.template import PromptError
from plmjax.prompting.verbalizer import ManualVerbalizer


def _normalize(x):
    return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _standardise(x):
    """OpenPrompt's scaler: over classes, with the unbiased std (torch.std's default)."""
    return (x - x.mean(-1, keepdims=True)) / x.std(-1, ddof=1, keepdims=True)


class PrototypicalVerbalizer:
    """num_classes prototypes in a mid_dim space (64: OpenPrompt's default); label_words (with `tokenizer`, as
    ManualVerbalizer takes them): score as OpenPrompt's multi_verb="multi" ensemble with the manual logits."""

    def __init__(
        self,
        num_classes: int,
        mid_dim: int = 64,
        label_words=None,
        tokenizer=None,
        leading_space=None,
        instance_prototype_weight: float = 1.0,
        instance_instance_weight: float = 1.0,
    ):
        if num_classes < 2:
            raise PromptError(f"a PrototypicalVerbalizer needs num_classes >= 2, got {num_classes}")
        if mid_dim < 1:
            raise PromptError(f"mid_dim must be positive, got {mid_dim}")
        self.num_classes, self.mid_dim = num_classes, mid_dim
        self.manual = None
        # The model's gather needs one word; prototype scores read `hidden`, not the word logits.
        self.word_ids = np.zeros(1, np.int32)
        if label_words is not None:
            if tokenizer is None:
                raise PromptError("label_words need their tokenizer")
            self.manual = ManualVerbalizer(label_words, tokenizer, leading_space)
            if self.manual.num_classes != num_classes:
                raise PromptError(f"num_classes {num_classes} but label_words has {self.manual.num_classes} classes")
            self.word_ids = self.manual.word_ids
        # OpenPrompt adds the two terms unweighted.
        self.term_weights = {
            "instance_prototype": instance_prototype_weight,
            "instance_instance": instance_instance_weight,
        }

    uses_cross_entropy = False

    def init(self, rng, model, params) -> dict:
        """{"projection": [hidden, mid_dim], "prototypes": [classes, mid_dim]}: torch.nn.Linear's default
        U(+-1/sqrt(hidden)) and xavier_uniform, as OpenPrompt initialises them."""
        projection_rng, prototype_rng = jax.random.split(rng)
        hidden = model.config.hidden_size
        bound = 1.0 / np.sqrt(hidden)
        projection = jax.random.uniform(projection_rng, (hidden, self.mid_dim), jnp.float32, -bound, bound)
        prototypes = jax.nn.initializers.xavier_uniform()(prototype_rng, (self.num_classes, self.mid_dim))
        return {"projection": projection, "prototypes": prototypes.astype(jnp.float32)}

    def _instances(self, own_params, outputs):
        """normalize(z) [batch, mid_dim]."""
        return _normalize(outputs.hidden.astype(jnp.float32) @ own_params["projection"])

    def scores(self, own_params, outputs):
        similarity = self._instances(own_params, outputs) @ _normalize(own_params["prototypes"]).T
        if self.manual is None:
            return similarity
        manual = self.manual.class_logits(outputs.word_logits.astype(jnp.float32))
        return (_standardise(manual) + _standardise(similarity)) / 2

    def loss_terms(self, own_params, outputs, labels, weights) -> dict:
        z = self._instances(own_params, outputs)
        labels = jnp.asarray(labels)
        weights = jnp.asarray(weights, jnp.float32)
        counts = self.term_counts(labels, weights)

        to_prototypes = z @ _normalize(own_params["prototypes"]).T  # [batch, classes]
        # A one-hot rather than a gather: a padding row's label may be out of range (-1), never a NaN.
        own = jnp.sum(jax.nn.one_hot(labels, self.num_classes) * to_prototypes, axis=-1)
        prototype_sum = jnp.sum(weights * (jax.nn.logsumexp(to_prototypes, axis=-1) - own))

        similarity = z @ z.T  # [q, r], symmetric
        same = labels[:, None] == labels[None, :]
        # Each anchor r's negatives: every row of another class (weighted, so padding rows drop out).
        negatives = jnp.sum(jnp.where(same, 0.0, weights[:, None] * jnp.exp(similarity)), axis=0)  # [r]
        pair_losses = jnp.log(jnp.exp(similarity) + negatives[None, :]) - similarity
        pair_weights = jnp.where(same, weights[:, None] * weights[None, :], 0.0)
        instance_sum = jnp.sum(pair_weights * pair_losses)
        return {
            "instance_prototype": (prototype_sum, counts["instance_prototype"]),
            "instance_instance": (instance_sum, counts["instance_instance"]),
        }

    def term_counts(self, labels, weights) -> dict:
        weights = jnp.asarray(weights, jnp.float32)
        per_class = jax.nn.one_hot(jnp.asarray(labels), self.num_classes, dtype=jnp.float32).T @ weights
        return {
            "instance_prototype": self.num_classes * jnp.sum(weights),
            "instance_instance": self.num_classes * jnp.sum(per_class**2),
        }
