"""For every method: frozen parameters get no optimizer state, and training steps (the trainer's step, which
differentiates only the trainable partition) leave them bitwise unchanged while the trainable ones move."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import traverse_util

from plmjax import peft
from plmjax.models import EncoderModel, init_params, preset
from plmjax.train import partition
from plmjax.train.state import TrainState
from plmjax.train.step import make_train_step

CONFIG = preset(
    "bert-base",
    vocab_size=60,
    hidden_size=8,
    num_layers=1,
    num_heads=2,
    intermediate_size=12,
    hidden_dropout=0.0,
    attention_dropout=0.0,
)
CASES = [
    ("full", {}),
    ("head_only", {}),
    ("bitfit", {}),
    ("lora", dict(rank=2, dropout=0.1)),
    ("ia3", {}),
    ("houlsby", dict(size=4)),
    ("pfeiffer", dict(size=4)),
    ("prefix", dict(length=3)),
    ("prefix", dict(length=3, hidden_size=8)),
    ("prompt", dict(length=3)),
    ("p_tuning", dict(length=3, encoder="lstm", hidden_size=4)),
    (["lora", "prompt"], dict(rank=2, length=3)),
    (["houlsby", "prefix"], dict(size=4, length=3)),
]


@pytest.fixture(scope="module")
def base():
    model = EncoderModel(CONFIG, head="classification", num_labels=3)
    return model, init_params(model, jax.random.key(0))


def batch():
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 60, size=(4, 8))
    mask = np.ones_like(ids)
    mask[1, 5:] = 0
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "labels": np.array([0, 1, 2, 1]),
        "weights": np.ones(4, np.float32),
    }


def host_copy(tree) -> dict:
    return {p: np.array(v) for p, v in traverse_util.flatten_dict(tree).items()}


def run_steps(model, params, rules, steps: int = 2, frozen_dtype=None):
    if frozen_dtype is not None:
        params = peft.cast_frozen(params, rules, frozen_dtype)
    trainable, frozen = partition.split(params, peft.mask(params, rules))
    optimizer = optax.adamw(1e-2, weight_decay=0.01, mask=peft.decay_mask)
    state = TrainState(
        step=jnp.zeros((), jnp.int32),
        trainable=trainable,
        opt_state=optimizer.init(trainable),
        rng=jax.random.key_data(jax.random.key(1)),
    )
    before_trainable, before_frozen = host_copy(trainable), host_copy(frozen)
    train_step = jax.jit(make_train_step(model, optimizer, num_labels=3))
    for _ in range(steps):
        state, metrics = train_step(state, frozen, batch())
    return state, frozen, before_trainable, before_frozen, metrics


@pytest.mark.parametrize(("method", "options"), CASES, ids=[str(m) for m, _ in CASES])
def test_frozen_parameters_have_no_optimizer_state_and_do_not_change(base, method, options):
    model, params = base
    adapted, adapted_params, rules = peft.apply(method, model, params, rng=jax.random.key(2), **options)
    state, frozen, before_trainable, before_frozen, metrics = run_steps(adapted, adapted_params, rules)
    assert np.isfinite(float(metrics["loss"]))

    trainable_paths = set(traverse_util.flatten_dict(state.trainable))
    frozen_paths = set(before_frozen)
    assert trainable_paths and not trainable_paths & frozen_paths
    assert trainable_paths | frozen_paths == set(traverse_util.flatten_dict(adapted_params))
    # Adam's two moments cover exactly the trainable parameters: nothing is kept for the frozen ones.
    adam = state.opt_state[0]
    for moment in (adam.mu, adam.nu):
        assert set(traverse_util.flatten_dict(moment)) == trainable_paths
    trainable_size = sum(x.size for x in jax.tree.leaves(state.trainable))
    state_size = sum(x.size for x in jax.tree.leaves(state.opt_state))
    assert state_size <= 2 * trainable_size + 4  # the moments plus step counters

    for path, value in traverse_util.flatten_dict(frozen).items():
        assert np.array_equal(np.asarray(value), before_frozen[path]), path
    after = host_copy(state.trainable)
    moved = [p for p in after if not np.array_equal(after[p], before_trainable[p])]
    assert len(moved) >= len(after) // 2, f"only {len(moved)} of {len(after)} trainable parameters changed"


def test_frozen_weights_in_bfloat16_train_with_float32_trainable(base):
    model, params = base
    adapted, adapted_params, rules = peft.apply("lora", model, params, rank=2, rng=jax.random.key(2))
    state, frozen, _, before_frozen, metrics = run_steps(adapted, adapted_params, rules, frozen_dtype=jnp.bfloat16)
    assert np.isfinite(float(metrics["loss"]))
    assert {x.dtype for x in jax.tree.leaves(frozen)} == {jnp.dtype(jnp.bfloat16)}
    assert {x.dtype for x in jax.tree.leaves(state.trainable)} == {jnp.dtype(jnp.float32)}
    for path, value in traverse_util.flatten_dict(frozen).items():
        assert np.array_equal(np.asarray(value), before_frozen[path]), path
