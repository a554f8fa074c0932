"""PET's final classifier: the distillation loss and its gradient equal a hand computation and PET's own torch
formula; the objective's terms and metrics on a tiny classifier equal numpy's; padding rows change nothing."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import plmjax
from plmjax.objectives.base import total_loss
from plmjax.objectives.classification import classifier_logits
from plmjax.objectives.soft_targets import SoftTargetClassification, distillation_losses
from plmjax.prompting import pet
from tests.objectives.helpers import log_softmax, random_params, tiny


def pet_distillation_loss(predictions, targets, temperature):
    """timoschick/pet, pet/utils.py: distillation_loss (targets: the ensemble's merged logits)."""
    import torch.nn.functional as F

    p = F.log_softmax(predictions / temperature, dim=1)
    q = F.softmax(targets / temperature, dim=1)
    return F.kl_div(p, q, reduction="sum") * (temperature**2) / predictions.shape[0]


@pytest.mark.parametrize("temperature", [1.0, 2.0, 3.5])
def test_distillation_loss_and_gradient_equal_pets(temperature):
    import torch

    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(4, 3)).astype(np.float32)
    merged = rng.normal(scale=2.0, size=(4, 3))  # the ensemble's merged logits s
    targets = pet.softmax(merged, temperature)
    targets[3] = [0.0, 1.0, 0.0]  # a hard target: 0 log 0 counts 0
    merged[3] = [-1e4, 0.0, -1e4]  # the merged logits PET would need for it (exp underflows to exactly 0)

    def mean_loss(z):
        return jnp.mean(distillation_losses(z, jnp.asarray(targets, jnp.float32), temperature))

    loss, grad = jax.value_and_grad(mean_loss)(jnp.asarray(logits))

    # By hand: T^2 mean_b sum_l q (log q - log softmax(z / T)); d/dz = T (softmax(z / T) - q) / B.
    log_q = np.log(np.where(targets > 0, targets, 1.0))
    hand = temperature**2 * np.mean(np.sum(targets * (log_q - log_softmax(logits / temperature)), -1))
    hand_grad = temperature * (np.exp(log_softmax(logits / temperature)) - targets) / len(logits)
    np.testing.assert_allclose(loss, hand, rtol=0, atol=1e-6)
    np.testing.assert_allclose(grad, hand_grad, rtol=0, atol=1e-6)

    z = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    theirs = pet_distillation_loss(z, torch.tensor(merged, dtype=torch.float64), temperature)
    theirs.backward()
    np.testing.assert_allclose(loss, theirs.item(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(grad, z.grad.numpy(), rtol=0, atol=1e-6)


@pytest.fixture(scope="module")
def classifier():
    """(objective, params, evaluate): evaluate(params, batch) -> (loss, gradient, terms, metrics, per-example
    outputs, logits), compiled once per batch layout."""
    objective = SoftTargetClassification(plmjax.EncoderModel(tiny("bert-base"), head="classification", num_labels=3), 3)

    def evaluate(params, batch):
        def loss(params):
            terms, metrics = objective.loss_and_metrics(params, batch)
            return total_loss(terms, objective.term_weights), (terms, metrics)

        (value, (terms, metrics)), grads = jax.value_and_grad(loss, has_aux=True)(params)
        examples = objective.evaluation(params, batch)[2]
        return value, grads, terms, metrics, examples, classifier_logits(objective.model, params, batch)

    return objective, random_params(objective.init, scale=0.5), jax.jit(evaluate)


def soft_batch(rows=5, length=8, seed=0):
    """Rows of random ids with soft labels; the last row is padding (weight 0) with garbage soft labels."""
    rng = np.random.default_rng(seed)
    mask = (np.arange(length)[None] < rng.integers(3, length + 1, rows)[:, None]).astype(np.int32)
    soft = pet.softmax(rng.normal(scale=2.0, size=(rows, 3))).astype(np.float32)
    soft[-1] = [np.nan, 7.0, -3.0]
    weights = np.ones(rows, np.float32)
    weights[-1] = 0.0
    return {
        "input_ids": rng.integers(5, 50, (rows, length)).astype(np.int32) * mask,
        "attention_mask": mask,
        "token_type_ids": np.zeros_like(mask),
        "soft_labels": soft,
        "labels": rng.integers(0, 3, rows).astype(np.int32),
        "weights": weights,
    }


def test_objective_terms_metrics_and_padding(classifier):
    objective, params, evaluate = classifier
    assert objective.temperature == 2.0 and objective.term_weights == {"distillation": 1.0}
    batch = soft_batch()
    loss, grads, terms, metrics, examples, logits = evaluate(params, batch)
    logits, q, real = np.asarray(logits, np.float64), batch["soft_labels"][:-1], slice(0, 4)

    # By hand over the 4 real rows: T^2 KL(q || softmax(z / 2)).
    kl = np.sum(q * (np.log(q) - log_softmax(logits[real] / 2.0)), -1) * 4.0
    np.testing.assert_allclose(terms["distillation"][0], kl.sum(), rtol=1e-5)
    assert float(terms["distillation"][1]) == 4.0 == float(objective.term_counts(batch)["distillation"])
    np.testing.assert_allclose(loss, kl.mean(), rtol=1e-5)
    predicted = logits[real].argmax(-1)
    np.testing.assert_array_equal(metrics["soft_label_accuracy"], [np.sum(predicted == q.argmax(-1)), 4.0])
    np.testing.assert_array_equal(metrics["accuracy"], [np.sum(predicted == batch["labels"][real]), 4.0])
    np.testing.assert_array_equal(examples["predictions"], logits.argmax(-1))
    np.testing.assert_array_equal(examples["labels"], batch["labels"])
    assert np.isfinite(loss) and all(np.isfinite(g).all() for g in jax.tree.leaves(grads))

    # Another padding row (its ids, its garbage soft labels): the same loss and gradient.
    changed = dict(batch, input_ids=batch["input_ids"].copy(), soft_labels=batch["soft_labels"].copy())
    changed["input_ids"][-1] = 9
    changed["soft_labels"][-1] = [np.inf, np.nan, 0.5]
    loss2, grads2, terms2, metrics2, _, _ = evaluate(params, changed)
    np.testing.assert_allclose(loss2, loss, rtol=1e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7), grads2, grads)
    jax.tree.map(np.testing.assert_array_equal, metrics2, metrics)


def test_batches_without_labels_or_soft_labels(classifier):
    objective, params, evaluate = classifier
    batch = soft_batch(seed=1)
    _, _, _, metrics, examples, logits = evaluate(params, {k: v for k, v in batch.items() if k != "labels"})
    assert set(metrics) == {"soft_label_accuracy"}
    # Per-example labels: the soft labels' argmax (0 on the padding row, whose targets are zeroed).
    np.testing.assert_array_equal(examples["labels"], [*batch["soft_labels"][:-1].argmax(-1), 0])

    # Hard labels only (validation): one-hot targets, so the loss is T^2 times the cross-entropy at T.
    _, _, terms, _, _, logits = evaluate(params, {k: v for k, v in batch.items() if k != "soft_labels"})
    logits, labels = np.asarray(logits[:-1], np.float64), batch["labels"][:-1]
    expected = -4.0 * np.take_along_axis(log_softmax(logits / 2.0), labels[:, None], -1).sum()
    np.testing.assert_allclose(terms["distillation"][0], expected, rtol=1e-5)
