"""plmjax's numpy metrics equal scikit-learn's and scipy's on random inputs, ties and edge cases included."""

import numpy as np
import pytest
import scipy.stats
import sklearn.metrics

from plmjax.train.metrics import METRICS, average_ranks, compute_metrics


def _random_classes(rng, n, num_classes):
    labels = rng.integers(0, num_classes, size=n)
    # Predictions agree with the labels more than chance, so the scores are not all near zero.
    predictions = np.where(rng.random(n) < 0.6, labels, rng.integers(0, num_classes, size=n))
    return predictions, labels


@pytest.mark.parametrize("seed", range(5))
def test_binary_classification_metrics(seed):
    rng = np.random.default_rng(seed)
    predictions, labels = _random_classes(rng, int(rng.integers(5, 300)), 2)
    got = compute_metrics(["accuracy", "f1", "matthews_corrcoef", "accuracy_and_f1"], predictions, labels)
    accuracy = sklearn.metrics.accuracy_score(labels, predictions)
    f1 = sklearn.metrics.f1_score(labels, predictions)
    assert got["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert got["f1"] == pytest.approx(f1, abs=1e-12)
    assert got["matthews_corrcoef"] == pytest.approx(sklearn.metrics.matthews_corrcoef(labels, predictions), abs=1e-12)
    assert got["accuracy_and_f1"] == pytest.approx((accuracy + f1) / 2, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_multiclass_metrics(seed):
    rng = np.random.default_rng(100 + seed)
    predictions, labels = _random_classes(rng, int(rng.integers(5, 300)), int(rng.integers(3, 7)))
    got = compute_metrics(["accuracy", "f1_macro", "matthews_corrcoef"], predictions, labels)
    assert got["accuracy"] == pytest.approx(sklearn.metrics.accuracy_score(labels, predictions), abs=1e-12)
    assert got["f1_macro"] == pytest.approx(
        sklearn.metrics.f1_score(labels, predictions, average="macro", zero_division=0.0), abs=1e-12
    )
    assert got["matthews_corrcoef"] == pytest.approx(sklearn.metrics.matthews_corrcoef(labels, predictions), abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_correlations_with_and_without_ties(seed):
    rng = np.random.default_rng(200 + seed)
    n = int(rng.integers(3, 400))
    labels = rng.integers(0, 6, size=n) * 1.0 if seed % 2 else rng.normal(size=n)  # odd seeds: many ties
    predictions = labels + rng.normal(scale=1.5, size=n)
    if seed == 4:
        predictions = np.round(predictions)
    got = compute_metrics(["pearson", "spearman", "pearson_and_spearman"], predictions.astype(np.float32), labels)
    pearson = scipy.stats.pearsonr(predictions.astype(np.float32), labels)[0]
    spearman = scipy.stats.spearmanr(predictions.astype(np.float32), labels)[0]
    assert got["pearson"] == pytest.approx(pearson, abs=1e-9)
    assert got["spearman"] == pytest.approx(spearman, abs=1e-9)
    assert got["pearson_and_spearman"] == pytest.approx((pearson + spearman) / 2, abs=1e-9)


def test_average_ranks_match_scipy():
    values = np.array([3.0, 1.0, 3.0, 2.0, 3.0, -1.0, 2.0])
    np.testing.assert_array_equal(average_ranks(values), scipy.stats.rankdata(values))


def test_weights_drop_padding_rows_and_logits_are_argmaxed():
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(50, 3))
    labels = rng.integers(0, 3, size=50)
    weights = (rng.random(50) < 0.7).astype(np.float32)
    keep = weights > 0
    got = compute_metrics(["accuracy", "matthews_corrcoef"], logits, labels, weights)
    predictions = logits.argmax(-1)
    assert got["accuracy"] == pytest.approx(
        sklearn.metrics.accuracy_score(labels, predictions, sample_weight=weights), abs=1e-12
    )
    assert got["matthews_corrcoef"] == pytest.approx(
        sklearn.metrics.matthews_corrcoef(labels[keep], predictions[keep]), abs=1e-12
    )
    scores = rng.normal(size=(50, 1))
    assert compute_metrics(["pearson"], scores, labels, weights)["pearson"] == pytest.approx(
        scipy.stats.pearsonr(scores[keep, 0], labels[keep])[0], abs=1e-9
    )


@pytest.mark.filterwarnings("ignore:A single label was found")
def test_degenerate_inputs():
    ones, zeros = np.ones(6, dtype=int), np.zeros(6, dtype=int)
    # No positive anywhere: F1 is 0 (scikit-learn's zero_division=0); a constant input has no correlation.
    assert compute_metrics(["f1"], zeros, zeros)["f1"] == sklearn.metrics.f1_score(zeros, zeros, zero_division=0.0)
    assert compute_metrics(["matthews_corrcoef"], ones, ones)["matthews_corrcoef"] == 0.0
    assert sklearn.metrics.matthews_corrcoef(ones, ones) == 0.0
    constant = compute_metrics(["pearson", "spearman"], np.full(6, 2.5), np.arange(6.0))
    assert constant == {"pearson": 0.0, "spearman": 0.0}
    assert compute_metrics(["pearson"], np.arange(6.0), 2 * np.arange(6.0) + 1)["pearson"] == pytest.approx(1.0)


def test_bad_calls_are_clear_errors():
    with pytest.raises(ValueError, match=r"unknown metric\(s\) \['acc'\]"):
        compute_metrics(["acc"], [1], [1])
    with pytest.raises(ValueError, match="must both be"):
        compute_metrics(["accuracy"], [1, 0], [1])
    with pytest.raises(ValueError, match="weights must be 0/1"):
        compute_metrics(["accuracy"], [1, 0], [1, 0], [0.5, 1])
    with pytest.raises(ValueError, match="no examples to score"):
        compute_metrics(["accuracy"], [1, 0], [1, 0], [0, 0])
    assert all(isinstance(value, float) for value in compute_metrics(sorted(METRICS), [1, 0, 1], [1, 0, 0]).values())
