"""The train step: only the trainable partition gets gradients and optimizer state; gradient accumulation and
padding rows do not change the update; the loss is the hand-computed weighted mean; bfloat16 compute keeps
float32 master weights."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

import plmjax
from plmjax.objectives import Classification
from plmjax.train import partition
from plmjax.train.config import default_config
from plmjax.train.optimizer import make_optimizer
from plmjax.train.state import TrainState
from plmjax.train.step import example_losses, make_objective_eval_step, make_train_step

TINY = dict(vocab_size=64, hidden_size=16, num_layers=2, num_heads=2, intermediate_size=32, max_position_embeddings=16)


def _run(function, *args):
    """jit, compiled without LLVM's optimisations (the programs compared in a test are compiled alike)."""
    compiled = jax.jit(function).lower(*args).compile(compiler_options={"xla_backend_optimization_level": 0})
    return compiled(*args)


def _init(model, seed: int):
    return _run(lambda key: nn.meta.unbox(model.init(key, model.dummy_inputs())["params"]), jax.random.key(seed))


def _model(num_labels=2, **changes):
    config = plmjax.preset("bert-base", hidden_dropout=0.0, attention_dropout=0.0, **{**TINY, **changes})
    return plmjax.EncoderModel(config, head="classification", num_labels=num_labels)


def _batch(rows=8, length=8, num_labels=2, seed=0):
    rng = np.random.default_rng(seed)
    mask = (np.arange(length)[None] < rng.integers(3, length + 1, rows)[:, None]).astype(np.int32)
    labels = rng.random(rows).astype(np.float32) if num_labels == 1 else rng.integers(0, num_labels, rows)
    return {
        "input_ids": rng.integers(5, 64, (rows, length)).astype(np.int32) * mask,
        "attention_mask": mask,
        "token_type_ids": np.zeros_like(mask),
        "labels": labels,
        "weights": np.ones(rows, np.float32),
    }


def _state(params, optimizer):
    return TrainState(
        step=jnp.zeros((), jnp.int32),
        trainable=params,
        opt_state=optimizer.init(params),
        rng=jax.random.key_data(jax.random.key(0)),
    )


def _optimizer(**changes):
    config = default_config().optimizer
    config.warmup_steps = 0
    config.update(changes)
    return make_optimizer(config, num_steps=10)


def _assert_trees_close(a, b, **tolerance):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(x, y, **tolerance)


def test_frozen_parameters_get_no_gradient_and_no_optimizer_state():
    model = _model()
    params = _init(model, 0)
    rules = [(r"classifier/.*|encoder/layers_1/.*", "trainable"), (".*", "frozen")]
    trainable, frozen = partition.split(params, partition.trainable_mask(params, rules))
    assert set(trainable) == {"classifier", "encoder"} and set(trainable["encoder"]) == {"layers_1"}
    optimizer = _optimizer()
    state = _state(trainable, optimizer)
    # Adam's moments exist for the trainable leaves only (plus scalar step counts).
    moment_sizes = sum(leaf.size for leaf in jax.tree.leaves(state.opt_state) if leaf.ndim)
    assert moment_sizes == 2 * partition.num_params(trainable) < partition.num_params(params)
    new_state, metrics = _run(make_train_step(model, optimizer, num_labels=2), state, frozen, _batch())
    assert np.isfinite(metrics["loss"])
    assert all(jax.tree.leaves(jax.tree.map(lambda a, b: bool(np.any(a != b)), new_state.trainable, trainable)))
    merged = partition.merge(new_state.trainable, frozen)
    assert jax.tree.structure(merged) == jax.tree.structure(params)


def test_accumulation_and_padding_rows_give_the_same_update():
    model = _model()
    params = _init(model, 1)
    optimizer = _optimizer(name="sgd", momentum=0.0, weight_decay=0.0, grad_clip_norm=0.0, learning_rate=0.1)
    batch = _batch()
    plain, plain_metrics = _run(make_train_step(model, optimizer, 2), _state(params, optimizer), {}, batch)
    accumulated, metrics = _run(make_train_step(model, optimizer, 2, 4), _state(params, optimizer), {}, batch)
    np.testing.assert_allclose(metrics["loss"], plain_metrics["loss"], rtol=1e-6)
    _assert_trees_close(accumulated.trainable, plain.trainable, rtol=1e-5, atol=1e-7)

    # Regression: rows of weight 0 change nothing.
    model = _model(num_labels=1)
    params = _init(model, 1)
    batch = _batch(num_labels=1)
    padded = {k: np.concatenate([v, v[:4]]) for k, v in batch.items()}
    padded["weights"][8:] = 0.0
    step = make_train_step(model, optimizer, 1)
    plain, plain_metrics = _run(step, _state(params, optimizer), {}, batch)
    with_padding, metrics = _run(step, _state(params, optimizer), {}, padded)
    np.testing.assert_allclose(metrics["loss"], plain_metrics["loss"], rtol=1e-6)
    _assert_trees_close(with_padding.trainable, plain.trainable, rtol=1e-5, atol=1e-7)


def test_loss_is_the_hand_computed_weighted_mean():
    logits = jnp.asarray([[2.0, 0.0], [0.0, 1.0], [3.0, 3.0]])
    labels = jnp.asarray([0, 0, 1])
    expected = [np.log1p(np.exp(-2.0)), np.log1p(np.exp(1.0)), np.log(2.0)]
    np.testing.assert_allclose(example_losses(logits, labels, 2), expected, rtol=1e-6)
    np.testing.assert_allclose(example_losses(jnp.asarray([[1.5]]), jnp.asarray([0.5]), 1), [1.0])

    model = _model(num_layers=1)
    params = _init(model, 2)
    batch = _batch()
    batch["weights"][5:] = 0.0

    def eval_and_logits(params, batch):
        logits = model.apply({"params": params}, batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        return make_objective_eval_step(Classification(model, 2))(params, {}, batch), logits

    (terms, metrics, rows, examples), logits = _run(eval_and_logits, params, batch)
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, batch["labels"])
    loss_sum, count = terms["classification"]
    np.testing.assert_allclose(loss_sum / count, np.mean(losses[:5]), rtol=1e-5)
    assert float(rows) == 5.0 and float(metrics["accuracy"][1]) == 5.0
    np.testing.assert_array_equal(examples["predictions"], np.argmax(logits, -1))
    np.testing.assert_array_equal(examples["weights"], batch["weights"])


def test_bfloat16_compute_with_remat_keeps_float32_master_weights():
    float32 = _model()
    mixed = plmjax.EncoderModel(float32.config.replace(dtype="bfloat16", remat=True), head="classification")
    params = _init(float32, 3)
    optimizer = _optimizer(name="adafactor", learning_rate=1e-2)
    batch = _batch()
    reference, reference_metrics = _run(make_train_step(float32, optimizer, 2), _state(params, optimizer), {}, batch)
    state, metrics = _run(make_train_step(mixed, optimizer, 2), _state(params, optimizer), {}, batch)
    assert {leaf.dtype for leaf in jax.tree.leaves(state.trainable)} == {jnp.dtype("float32")}
    np.testing.assert_allclose(metrics["loss"], reference_metrics["loss"], rtol=2e-2)
    assert max(jax.tree.leaves(jax.tree.map(lambda a, b: float(np.abs(a - b).max()), state.trainable, params))) > 0
    _assert_trees_close(state.trainable, reference.trainable, atol=2e-2)
