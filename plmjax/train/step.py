"""The jitted train and eval steps, for any objective (plmjax.objectives; classification is one).

The train step differentiates only the trainable partition: `grad(loss)(trainable, frozen, batch)`. The loss is
`sum_t w_t * loss_sum_t / max(count_t, 1)` with every count_t taken from the WHOLE global batch
(`objective.term_counts`) before it is split into micro-batches, so the micro-batches' losses and gradients
add up to exactly the full batch's (gradient accumulation and any device count give the same mean), and
padding rows (weight 0) count nowhere.
"""

import jax
import jax.numpy as jnp
import optax

from plmjax.objectives.base import ratios, row_weights, token_weights, total_loss
from plmjax.objectives.classification import Classification, example_losses
from plmjax.train import partition
from plmjax.train.state import TrainState

__all__ = ["example_losses", "make_objective_eval_step", "make_objective_train_step", "make_train_step"]


def _batch_sizes(batch) -> dict:
    """Real rows and real tokens of a batch, for throughput."""
    if "attention_mask" in batch:
        tokens = jnp.sum(token_weights(batch, "attention_mask"))
    elif "char_ids" in batch:  # ELMo's words: a real word has characters
        tokens = jnp.sum((batch["char_ids"] > 0).any(axis=-1) * row_weights(batch)[:, None])
    else:
        tokens = jnp.zeros(())
    return {"examples": jnp.sum(row_weights(batch)), "tokens": tokens}


def step_metrics(objective, terms, metrics) -> dict:
    """The logged means: "loss" (the weighted total), "<term>_loss" per term, and each metric's ratio."""
    out = {"loss": total_loss(terms, objective.term_weights)}
    out.update({f"{name}_loss": value for name, value in ratios(terms).items()})
    out.update(ratios(metrics))
    return out


def make_objective_train_step(objective, optimizer: optax.GradientTransformation, accumulate_steps: int = 1):
    """train_step(state, frozen, batch) -> (state, metrics); jit it with the state donated."""
    weights = objective.term_weights
    if accumulate_steps > 1 and objective.initial_carry(accumulate_steps) is not None:
        raise ValueError(
            "train.accumulate_steps > 1 with an objective that carries state between steps (a segment memory): "
            "each micro-batch would need its own; raise data.batch_size instead"
        )

    def loss(trainable, frozen, batch, rng, counts, step, carry=None):
        params = partition.merge(trainable, frozen)
        terms, metrics, carry = objective.at_step(step).carried_loss_and_metrics(
            params, batch, carry, rng, deterministic=False
        )
        return total_loss(terms, weights, counts), (terms, metrics, carry)

    value_and_grad = jax.value_and_grad(loss, has_aux=True)

    def accumulate(trainable, frozen, batch, rng, counts, step, carry):
        if accumulate_steps == 1:
            return value_and_grad(trainable, frozen, batch, rng, counts, step, carry)

        # Micro-batch k takes rows k, k + accumulate_steps, ...: every device keeps an equal share of each.
        def micro(x):
            return jnp.moveaxis(x.reshape(-1, accumulate_steps, *x.shape[1:]), 1, 0)

        def add(carry, inputs):
            index, micro_batch = inputs
            out = value_and_grad(trainable, frozen, micro_batch, jax.random.fold_in(rng, index), counts, step)
            return jax.tree.map(jnp.add, carry, out), None

        micro_batches = jax.tree.map(micro, batch)
        first = jax.tree.map(lambda x: x[0], micro_batches)
        shapes = jax.eval_shape(value_and_grad, trainable, frozen, first, rng, counts, step)
        zero = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
        total, _ = jax.lax.scan(add, zero, (jnp.arange(accumulate_steps), micro_batches))
        return total

    def train_step(state: TrainState, frozen, batch):
        rng = jax.random.fold_in(jax.random.wrap_key_data(state.rng), state.step)
        counts = objective.term_counts(batch)
        (_, (terms, metrics, carry)), grads = accumulate(
            state.trainable, frozen, batch, rng, counts, state.step, state.carry
        )
        updates, opt_state = optimizer.update(grads, state.opt_state, state.trainable)
        trainable = optax.apply_updates(state.trainable, updates)
        logged = step_metrics(objective, terms, metrics)
        logged.update(grad_norm=optax.global_norm(grads), **_batch_sizes(batch))
        return state.replace(step=state.step + 1, trainable=trainable, opt_state=opt_state, carry=carry), logged

    return train_step


def make_objective_eval_step(objective):
    """eval_step(trainable, frozen, batch) -> ({term: (sum, count)}, {metric: (correct, count)}, real rows,
    per-example outputs): add them up over an evaluation split (plmjax.train.evaluate). The same step for
    every objective; classification and prompting also return each row's prediction and label (and weight)."""

    def eval_step(trainable, frozen, batch):
        # A fixed key: evaluation is deterministic (no dropout) but ELECTRA samples its replacements.
        rng = jax.random.key(0)
        terms, metrics, examples = objective.evaluation(partition.merge(trainable, frozen), batch, rng)
        weights = batch["weights"].astype(jnp.float32)
        if examples:
            examples = dict(examples, weights=weights)
        return terms, metrics, jnp.sum(weights), examples

    return eval_step


def make_train_step(model, optimizer: optax.GradientTransformation, num_labels: int, accumulate_steps: int = 1):
    """The classification train step (`Classification(model, num_labels)`)."""
    return make_objective_train_step(Classification(model, num_labels), optimizer, accumulate_steps)
