"""DistilBERT distillation: the student is the teacher's layers 0, 2, ... with its embeddings and head; the
loss (soft targets at temperature T, MLM, cosine of hidden states) equals a hand computation; the frozen
teacher gets no gradient."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import traverse_util

import plmjax
from plmjax import objectives
from plmjax.objectives.distillation import copy_teacher_params
from tests.objectives.helpers import (
    RTOL,
    log_softmax,
    mean_cross_entropy,
    mlm_batch,
    mlm_token_weights,
    random_params,
    real_token_weights,
    run,
    tiny,
)


@pytest.fixture(scope="module")
def teacher():
    model = plmjax.EncoderModel(tiny("bert-base", num_layers=4), head="mlm")
    # Wide weights: near-uniform logits (BERT's std 0.02) would make the soft-target term vanish.
    return model, random_params(lambda rng: plmjax.init_params(model, rng), scale=0.3)


def test_student_layers_are_every_other_teacher_layer(teacher):
    model, params = teacher
    student, student_params = objectives.student_from_teacher(model, params)
    assert student.config == model.config.replace(num_layers=2) and student.head == "mlm"
    for ours, theirs in ((0, 0), (1, 2)):
        jax.tree.map(
            np.testing.assert_array_equal,
            student_params["encoder"][f"layers_{ours}"],
            params["encoder"][f"layers_{theirs}"],
        )
    for name in ("embeddings", "mlm_head"):
        jax.tree.map(np.testing.assert_array_equal, student_params[name], params[name])
    assert set(traverse_util.flatten_dict(student_params)) < set(traverse_util.flatten_dict(params))
    # Copies, not aliases of the teacher's buffers (a train step donates the student's).
    word = ("embeddings", "word_embeddings", "embedding")
    assert traverse_util.flatten_dict(student_params)[word] is not traverse_util.flatten_dict(params)[word]

    _, chosen = objectives.student_from_teacher(model, params, layers=(1, 3))
    jax.tree.map(np.testing.assert_array_equal, chosen["encoder"]["layers_1"], params["encoder"]["layers_3"])
    # A DistilBERT-family student of a BERT teacher: no token types, otherwise the same tensors.
    distil, distil_params = objectives.student_from_teacher(model, params, family="distilbert", type_vocab_size=0)
    assert distil.config.family == "distilbert" and "token_type_embeddings" not in distil_params["embeddings"]
    with pytest.raises(ValueError, match="layers"):
        copy_teacher_params(distil, params, (0, 4), teacher_layers=4)
    with pytest.raises(ValueError, match="no teacher counterpart"):
        objectives.student_from_teacher(model, params, intermediate_size=8)


def test_distillation_loss_equals_the_hand_computed_value():
    model = plmjax.EncoderModel(tiny("bert-base"), head="mlm")
    teacher_params = random_params(lambda rng: plmjax.init_params(model, rng), scale=0.3)
    student, student_params = objectives.student_from_teacher(model, teacher_params)
    objective = objectives.Distillation(student, model)
    assert objective.term_weights == {"ce": 5.0, "mlm": 2.0, "cos": 1.0} and objective.temperature == 2.0
    params = objective.params(student_params, teacher_params)
    shapes = lambda tree: jax.tree.map(lambda x: (x.shape, x.dtype), tree)
    assert shapes(jax.eval_shape(objective.init, jax.random.key(0))) == shapes(params)
    batch = mlm_batch(seed=7)
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}

    def compute(params, batch):
        taught = model.apply({"params": params["teacher"]}, **inputs)
        learnt = student.apply({"params": params["student"]}, **inputs)

        def loss(params):
            terms = objective.loss_terms(params, batch)
            return objectives.total_loss(terms, objective.term_weights), terms

        (loss, terms), grads = jax.value_and_grad(loss, has_aux=True)(params)
        return taught, learnt, terms, loss, grads

    taught, learnt, terms, loss, grads = run(compute, params, batch)

    t = 2.0
    weights, real = mlm_token_weights(batch), real_token_weights(batch)
    teacher_log_probs, student_log_probs = log_softmax(taught.logits / t), log_softmax(learnt.logits / t)
    kl = (np.exp(teacher_log_probs) * (teacher_log_probs - student_log_probs)).sum(-1) * t**2
    ce = (kl * weights).sum() / weights.sum()
    mlm = mean_cross_entropy(learnt.logits, batch["mlm_labels"], weights)
    s, h = np.asarray(learnt.last_hidden_state, np.float64), np.asarray(taught.last_hidden_state, np.float64)
    cosine = (s * h).sum(-1) / (np.linalg.norm(s, axis=-1) * np.linalg.norm(h, axis=-1))
    cos = ((1 - cosine) * real).sum() / real.sum()
    assert ce > 1e-3 and cos > 1e-4  # the half-depth student really differs from its teacher

    np.testing.assert_allclose(terms["ce"][0] / terms["ce"][1], ce, rtol=1e-4)
    np.testing.assert_allclose(terms["mlm"][0] / terms["mlm"][1], mlm, rtol=RTOL)
    np.testing.assert_allclose(terms["cos"][0] / terms["cos"][1], cos, rtol=1e-4)
    np.testing.assert_allclose(loss, 5.0 * ce + 2.0 * mlm + 1.0 * cos, rtol=1e-4)
    assert objective.term_counts(batch) == {"ce": weights.sum(), "mlm": weights.sum(), "cos": real.sum()}

    # The teacher is frozen: no gradient reaches it; the student's does.
    assert all(float(jnp.max(jnp.abs(g))) == 0 for g in jax.tree.leaves(grads["teacher"]))
    assert max(float(jnp.max(jnp.abs(g))) for g in jax.tree.leaves(grads["student"])) > 0
