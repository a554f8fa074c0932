"""The GPT-2 benchmark's two training steps do the same job: from the same weights, the same loss before and
after an AdamW update. Nothing here is timed."""

import pathlib

import jax
import numpy as np
import pytest

from plmjax.models import build_model, init_params, preset

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "gpt2_generate.py"

# Dropout off, so that both frameworks compute deterministic, comparable losses.
TINY = dict(
    num_layers=2,
    hidden_size=64,
    num_heads=2,
    intermediate_size=256,
    vocab_size=512,
    max_position_embeddings=64,
    hidden_dropout=0.0,
    attention_dropout=0.0,
    embedding_dropout=0.0,
)


def test_lm_batch_predicts_the_next_token_everywhere_but_the_last_position(bench):
    ids = bench.make_lm_batch(vocab_size=100, batch=2, seq=6, seed=3)
    batch = bench.plmjax_lm_batch(ids)
    np.testing.assert_array_equal(batch["target_ids"][:, :-1], ids[:, 1:])
    np.testing.assert_array_equal(batch["target_weights"], [[1, 1, 1, 1, 1, 0]] * 2)
    np.testing.assert_array_equal(batch["attention_mask"], np.ones_like(ids))


def test_train_flops_of_gpt2_small(bench):
    flops = bench.train_flops(preset("gpt2"), 8, 128)
    lm_head = 6 * 1024 * 768 * 50257
    assert flops - lm_head == pytest.approx(6 * 1024 * 12 * (12 * 768 * 768 + 2 * 128 * 768))
    assert 7.7e11 < flops < 7.8e11  # the figure docs/generation.md reports: 773 GFLOP/step


def test_plmjax_and_torch_steps_compute_the_same_losses(bench, tmp_path):
    config = preset("gpt2", **TINY)
    model = build_model(config, "lm")
    params = init_params(model, jax.random.key(0))
    input_ids = bench.make_lm_batch(config.vocab_size, batch=3, seq=24)

    torch_losses, plmjax_losses = [], []
    torch_step = bench.torch_train_call(bench.load_torch_copy(model, params, str(tmp_path)), input_ids, torch_losses)
    plmjax_step = bench.plmjax_train_call(model, params, input_ids, plmjax_losses, deterministic=True)
    for _ in range(2):
        torch_step()
        plmjax_step()
    assert np.log(config.vocab_size) - 0.5 < plmjax_losses[0] < np.log(config.vocab_size) + 0.5
    assert plmjax_losses[1] < plmjax_losses[0]  # the update was applied
    np.testing.assert_allclose(plmjax_losses, torch_losses, rtol=1e-5)
