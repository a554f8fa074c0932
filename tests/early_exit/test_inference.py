"""Inference that stops gives what every-layer simulation gives: for each criterion, one example at a time
(the while loop) and whole batches (rows leave the working batch as they exit) pick the same exit layers and
the same predictions as criteria.simulate over all exits' outputs; no row runs a layer past its exit."""

import jax
import numpy as np
import pytest

import plmjax
from plmjax.early_exit import (
    MissingExitHeadsError,
    all_confidences,
    all_exits,
    exit_batched,
    exit_one,
    make_criterion,
    num_exits,
    simulate,
)
from plmjax.early_exit.inference import buckets
from tests.early_exit.conftest import random_batch


def _thresholds(logits, confidences):
    """A threshold per criterion that sends the rows to different layers (a mixed case, not all-last)."""
    from plmjax.early_exit.criteria import entropy

    return {
        "entropy": float(np.quantile(np.asarray(entropy(logits[:-1])), 0.3)),
        "patience": 1,
        "confidence": float(np.quantile(np.asarray(confidences[:-1]), 0.8)),
    }


@pytest.mark.parametrize("family, reads", [("bert", "classifier"), ("albert", "classifier"), ("gpt2", "classifier"),
                                           ("bert", "mean"), ("gpt2", "mean")])  # fmt: skip
def test_one_at_a_time_and_batched_exits_equal_the_simulation(tiny_classifier, family, reads):
    _, model, params = tiny_classifier(family)
    batch = random_batch(family, rows=8)
    logits, first_tokens = jax.jit(all_exits, static_argnums=0, static_argnames="reads")(
        model, params, batch, reads=reads
    )
    confidences = all_confidences(params, first_tokens, logits)
    exits = num_exits(model)
    for name, threshold in _thresholds(logits, confidences).items():
        criterion = make_criterion(name, threshold, 3, exits)
        expected_layers, expected_logits = map(np.asarray, simulate(criterion, logits, confidences))
        assert len(set(expected_layers)) > 1, f"{name}: every row exits at the same layer; the case is too easy"

        batched = exit_batched(model, params, batch, criterion, reads)
        np.testing.assert_array_equal(batched.exit_layers, expected_layers, err_msg=name)
        np.testing.assert_array_equal(batched.layers_run, expected_layers, err_msg=name)
        np.testing.assert_allclose(batched.logits, expected_logits, atol=1e-4, err_msg=name)
        # Layer k ran on the smallest working batch (a power of two, or the batch) holding the rows not yet exited.
        sizes = buckets(len(expected_layers))
        still_running = [int(np.sum(expected_layers > k)) for k in range(int(expected_layers.max()))]
        assert batched.row_layers == sum(next(s for s in sizes if s >= n) for n in still_running), name

        for row in range(len(expected_layers)):
            one = exit_one(model, params, {k: v[row : row + 1] for k, v in batch.items()}, criterion, reads)
            assert one.exit_layers[0] == one.layers_run[0] == expected_layers[row], (name, row)
            np.testing.assert_array_equal(one.predictions, batched.predictions[row : row + 1])
            np.testing.assert_allclose(one.logits[0], expected_logits[row], atol=1e-4)


def test_working_batch_sizes_are_powers_of_two_and_the_batch():
    assert buckets(32) == [1, 2, 4, 8, 16, 32]
    assert buckets(12) == [1, 2, 4, 8, 12]
    assert buckets(1) == [1]


def test_a_checkpoint_without_exit_heads_is_a_clear_error(tiny_classifier, tmp_path):
    hf_model, model, _ = tiny_classifier("bert")
    hf_model.save_pretrained(tmp_path)
    _, plain = plmjax.from_pretrained(str(tmp_path), head="classification", num_labels=3)
    batch = random_batch("bert", rows=2)
    criterion = make_criterion("entropy", 0.5, 3, num_exits(model))
    for run in (
        lambda: exit_one(model, plain, {k: v[:1] for k, v in batch.items()}, criterion),
        lambda: exit_batched(model, plain, batch, criterion),
        lambda: all_exits(model, plain, batch),
    ):
        with pytest.raises(MissingExitHeadsError) as error:
            run()
        assert "no exit heads (no 'early_exit' subtree" in str(error.value)
        assert "objective.name='early_exit'" in str(error.value)
