"""The benchmark's two training steps do the same job: same loss from the same weights, before and after an
AdamW update. Nothing here is timed."""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import plmjax
from plmjax.models import EncoderModel, init_params, preset

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "bert_train_step.py"


# Dropout off, so that both frameworks compute deterministic, comparable losses.
TINY = dict(num_layers=2, hidden_size=64, num_heads=2, intermediate_size=256, vocab_size=512, hidden_dropout=0.0)


def test_make_batch_labels_agree(bench):
    batch = bench.make_batch(vocab_size=100, batch=3, seq=40, seed=1)
    assert batch["masked_positions"].shape == (3, 6)  # round(0.15 * 40)
    labelled = batch["labels"] >= 0
    assert labelled.sum(axis=1).tolist() == [6, 6, 6]
    rows = np.arange(3)[:, None]
    np.testing.assert_array_equal(batch["labels"][rows, batch["masked_positions"]], batch["masked_labels"])


def test_train_flops_counts_the_vocabulary_projection_where_it_runs(bench):
    config = preset("bert-base")
    full, masked = bench.train_flops(config, 16, 128), bench.train_flops(config, 16, 128, predictions=19)
    vocab_projection = 6 * 768 * config.vocab_size  # per position, forward + backward
    assert full - masked == pytest.approx(16 * (128 - 19) * (vocab_projection + 6 * 768 * 768))
    assert 1.3e12 < full < 1.45e12  # ~ 6 x 110M matmul parameters x 2048 tokens, plus attention


def test_plmjax_and_torch_steps_compute_the_same_losses(bench, tmp_path):
    config = preset("bert-base", **TINY, attention_dropout=0.0)
    model = EncoderModel(config, head="mlm")
    params = init_params(model, jax.random.key(0))
    plmjax.save_pretrained(model, params, str(tmp_path))
    batch = bench.make_batch(config.vocab_size, batch=4, seq=32)

    torch_model = bench.torch_model(config, str(tmp_path))
    torch_step = bench.torch_train_step(torch_model, bench.torch_adamw(torch_model))
    inputs = bench.torch_batch(batch)
    torch_losses = [float(torch_step(inputs)) for _ in range(2)]

    for masked in (True, False):
        optimizer = optax.adamw(**bench.ADAMW)
        step = bench.plmjax_train_step(model, optimizer, deterministic=True)
        state = (jax.tree.map(jnp.array, params), None)  # a copy: the step donates its inputs
        state = (state[0], optimizer.init(state[0]))
        losses = []
        for _ in range(2):
            *state, loss = step(*state, bench.plmjax_batch(batch, masked), jax.random.key(0))
            losses.append(float(loss))
        np.testing.assert_allclose(losses, torch_losses, rtol=1e-5, err_msg=f"masked={masked}")
