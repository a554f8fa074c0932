"""The jitted train and eval steps for sequence classification and regression.

The train step differentiates only the trainable partition: `grad(loss)(trainable, frozen, batch)`.
Losses are weighted sums divided by the batch's total weight, so padding rows (weight 0) do not count and a
batch split into micro-batches (gradient accumulation) or over devices gives the same mean.
"""

import jax
import jax.numpy as jnp
import optax

from plmjax.train import partition
from plmjax.train.state import TrainState


def example_losses(logits, labels, num_labels: int):
    """Per-example cross-entropy, or squared error when num_labels == 1 (regression); in float32."""
    logits = logits.astype(jnp.float32)
    if num_labels == 1:
        return jnp.square(logits[..., 0] - labels.astype(jnp.float32))
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels.astype(jnp.int32))


def predictions(logits, num_labels: int):
    logits = logits.astype(jnp.float32)
    return logits[..., 0] if num_labels == 1 else jnp.argmax(logits, axis=-1)


def _forward(model, params, batch, deterministic: bool, rng=None):
    return model.apply(
        {"params": params},
        batch["input_ids"],
        attention_mask=batch.get("attention_mask"),
        token_type_ids=batch.get("token_type_ids"),
        deterministic=deterministic,
        rngs=None if deterministic else {"dropout": rng},
    )


def make_train_step(model, optimizer: optax.GradientTransformation, num_labels: int, accumulate_steps: int = 1):
    """train_step(state, frozen, batch) -> (state, metrics); jit it with the state donated."""

    def loss_sums(trainable, frozen, batch, rng):
        out = _forward(model, partition.merge(trainable, frozen), batch, deterministic=False, rng=rng)
        weights = batch["weights"].astype(jnp.float32)
        loss_sum = jnp.sum(example_losses(out.logits, batch["labels"], num_labels) * weights)
        if num_labels == 1:
            correct = jnp.zeros((), jnp.float32)
        else:
            hits = predictions(out.logits, num_labels) == batch["labels"].astype(jnp.int32)
            correct = jnp.sum(hits * weights)
        return loss_sum, (jnp.sum(weights), correct)

    value_and_grad = jax.value_and_grad(loss_sums, has_aux=True)

    def accumulate(trainable, frozen, batch, rng):
        if accumulate_steps == 1:
            return value_and_grad(trainable, frozen, batch, rng)

        # Micro-batch k takes rows k, k + accumulate_steps, ...: every device keeps an equal share of each.
        def micro(x):
            return jnp.moveaxis(x.reshape(-1, accumulate_steps, *x.shape[1:]), 1, 0)

        def add(carry, inputs):
            index, micro_batch = inputs
            value, grads = value_and_grad(trainable, frozen, micro_batch, jax.random.fold_in(rng, index))
            return jax.tree.map(jnp.add, carry, (value, grads)), None

        zero_value = (jnp.zeros(()), (jnp.zeros(()), jnp.zeros(())))
        zero = (zero_value, jax.tree.map(jnp.zeros_like, trainable))
        micro_batches = jax.tree.map(micro, batch)
        total, _ = jax.lax.scan(add, zero, (jnp.arange(accumulate_steps), micro_batches))
        return total

    def train_step(state: TrainState, frozen, batch):
        rng = jax.random.fold_in(jax.random.wrap_key_data(state.rng), state.step)
        (loss_sum, (weight_sum, correct)), grad_sums = accumulate(state.trainable, frozen, batch, rng)
        denominator = jnp.maximum(weight_sum, 1.0)
        grads = jax.tree.map(lambda g: g / denominator, grad_sums)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.trainable)
        trainable = optax.apply_updates(state.trainable, updates)
        metrics = {
            "loss": loss_sum / denominator,
            "grad_norm": optax.global_norm(grads),
            "examples": weight_sum,
            "tokens": jnp.sum(batch["attention_mask"]) if "attention_mask" in batch else jnp.zeros(()),
        }
        if num_labels > 1:
            metrics["accuracy"] = correct / denominator
        return state.replace(step=state.step + 1, trainable=trainable, opt_state=opt_state), metrics

    return train_step


def make_eval_step(model, num_labels: int):
    """eval_step(trainable, frozen, batch) -> per-example predictions plus the loss and weight sums."""

    def eval_step(trainable, frozen, batch):
        out = _forward(model, partition.merge(trainable, frozen), batch, deterministic=True)
        weights = batch["weights"].astype(jnp.float32)
        return {
            "predictions": predictions(out.logits, num_labels),
            "loss_sum": jnp.sum(example_losses(out.logits, batch["labels"], num_labels) * weights),
            "weight_sum": jnp.sum(weights),
            "labels": batch["labels"],
            "weights": batch["weights"],
        }

    return eval_step
