"""What every pretraining objective exposes, and the loss arithmetic they share.

An objective holds its model(s) and hyperparameters, no state. It builds its parameters (`init(rng)`, one
pytree) and splits its loss into named terms, each a float32 (loss_sum, count) pair:

    total = sum over terms t of term_weights[t] * loss_sum_t / max(count_t, 1)

Counts depend on the batch only (`term_counts(batch)`), never on the model, so a trainer can count the whole
global batch first, then add up the loss sums of its micro-batches (or devices) and get the exact mean.
Metrics are (correct_sum, count) pairs in the same way.
"""

import jax
import jax.numpy as jnp
import optax

Terms = dict[str, tuple[jax.Array, jax.Array]]


class Objective:
    """Base class: subclasses are frozen dataclasses that define `term_weights`, `init`, `term_counts` and
    `loss_and_metrics`."""

    term_weights: dict[str, float]

    def init(self, rng: jax.Array):
        """Fresh parameters (one pytree) for everything the objective trains."""
        raise NotImplementedError

    def term_counts(self, batch) -> dict[str, jax.Array]:
        """What each term's loss sum is divided by; a function of the batch alone."""
        raise NotImplementedError

    def loss_and_metrics(self, params, batch, rng=None, deterministic: bool = True) -> tuple[Terms, Terms]:
        """({term: (loss_sum, count)}, {metric: (correct_sum, count)}); rng drives dropout (and sampling)."""
        raise NotImplementedError

    def evaluation(self, params, batch, rng=None) -> tuple[Terms, Terms, dict]:
        """(terms, metrics, per-example outputs) of a batch, without dropout: the one evaluation path of every
        objective. The per-example outputs ({"predictions", "labels"} [batch]) are for task metrics that need
        every prediction (F1, correlations); objectives without them (pretraining) return {}."""
        terms, metrics = self.loss_and_metrics(params, batch, rng, deterministic=True)
        return terms, metrics, {}

    def initial_carry(self, batch_size: int):
        """What the objective carries from one train step to the next, for a global batch of batch_size rows
        (Transformer-XL's segment memory; each leaf has the batch on its first axis); None: nothing."""
        return None

    def carried_loss_and_metrics(self, params, batch, carry, rng=None, deterministic: bool = True):
        """(terms, metrics, the next step's carry): the train step's call. Objectives without a carry pass it
        through."""
        terms, metrics = self.loss_and_metrics(params, batch, rng, deterministic)
        return terms, metrics, carry

    def at_step(self, step) -> "Objective":
        """The objective of train step `step` (traced): itself, unless its loss changes with the step (BERxiT's
        alternating early-exit fine-tuning)."""
        return self

    def loss_terms(self, params, batch, rng=None, deterministic: bool = True) -> Terms:
        return self.loss_and_metrics(params, batch, rng, deterministic)[0]

    def loss(self, params, batch, rng=None, deterministic: bool = True) -> jax.Array:
        """The weighted total over one batch (the batch is its own global batch)."""
        return total_loss(self.loss_terms(params, batch, rng, deterministic), self.term_weights)


def total_loss(terms: Terms, term_weights: dict[str, float], counts: dict[str, jax.Array] | None = None):
    """sum_t weight_t * loss_sum_t / max(count_t, 1). counts: the global batch's (default: the terms' own)."""
    if set(terms) != set(term_weights):
        raise ValueError(f"loss terms {sorted(terms)} do not match term weights {sorted(term_weights)}")
    total = jnp.zeros((), jnp.float32)
    for name, (loss_sum, count) in terms.items():
        count = count if counts is None else counts[name]
        total = total + term_weights[name] * loss_sum / jnp.maximum(count, 1.0)
    return total


def ratios(pairs: Terms) -> dict[str, jax.Array]:
    """{name: sum / max(count, 1)}: per-term mean losses or accuracies."""
    return {name: total / jnp.maximum(count, 1.0) for name, (total, count) in pairs.items()}


def row_weights(batch) -> jax.Array:
    """batch["weights"] [batch] (0 for padding rows) in float32; all ones when the batch has none (as many as
    the batch's rows: its input_ids', or its first array's, for batches without input_ids such as ELMo's)."""
    if "weights" in batch:
        return batch["weights"].astype(jnp.float32)
    rows = batch["input_ids"] if "input_ids" in batch else next(iter(batch.values()))
    return jnp.ones(rows.shape[:1], jnp.float32)


def token_weights(batch, key: str) -> jax.Array:
    """A per-token weight array of the batch ([batch, length]) times the row weights."""
    weights = batch[key].astype(jnp.float32)
    return weights * row_weights(batch).reshape((-1,) + (1,) * (weights.ndim - 1))


def real_token_weights(batch) -> jax.Array:
    """1 at real (non-pad) tokens of real rows."""
    if "attention_mask" in batch:
        return token_weights(batch, "attention_mask")
    return jnp.broadcast_to(row_weights(batch)[:, None], batch["input_ids"].shape)


def cross_entropy(logits, labels, weights) -> tuple[jax.Array, jax.Array]:
    """(sum of weighted softmax cross-entropies, sum of weights), in float32."""
    losses = optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), labels.astype(jnp.int32))
    return jnp.sum(losses * weights), jnp.sum(weights)


def binary_cross_entropy(logits, labels, weights) -> tuple[jax.Array, jax.Array]:
    """(sum of weighted sigmoid cross-entropies, sum of weights), in float32."""
    losses = optax.sigmoid_binary_cross_entropy(logits.astype(jnp.float32), labels.astype(jnp.float32))
    return jnp.sum(losses * weights), jnp.sum(weights)


def accuracy(logits, labels, weights) -> tuple[jax.Array, jax.Array]:
    """(weighted count of argmax == label, sum of weights)."""
    hits = jnp.argmax(logits, axis=-1) == labels.astype(jnp.int32)
    return jnp.sum(hits * weights), jnp.sum(weights)


def dropout_rngs(rng, deterministic: bool):
    if deterministic:
        return None
    if rng is None:
        raise ValueError("training (deterministic=False) needs an rng for dropout")
    return {"dropout": rng}
