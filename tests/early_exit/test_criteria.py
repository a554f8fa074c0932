"""Each exit criterion picks the layer a hand computation picks, on explicit logits; thresholds outside their
range and unknown names are clear errors."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from plmjax.early_exit import CriterionError, criteria, make_criterion, simulate
from plmjax.early_exit.criteria import entropy
from plmjax.early_exit.sweep import default_thresholds


def _two_class(margins):
    """[layers, rows, 2] logits with the given class-1-minus-class-0 margins [layers, rows]."""
    margins = np.asarray(margins, np.float32)
    return jnp.asarray(np.stack([np.zeros_like(margins), margins], axis=-1))


def test_entropy_exits_at_the_first_layer_below_the_threshold():
    # Two classes at margin m: p = 1 / (1 + e^-m), entropy -(p ln p + (1-p) ln(1-p)):
    # m = 0: ln 2 = 0.6931; m = 1: 0.5822; m = 2: 0.3653; m = 4: 0.0901 (by hand, checked below).
    by_hand = {0.0: 0.693147, 1.0: 0.582203, 2.0: 0.365334, 4.0: 0.090095}
    for margin, value in by_hand.items():
        assert float(entropy(_two_class([[margin]]))[0, 0]) == pytest.approx(value, abs=1e-5)
    logits = _two_class(
        [
            [0.0, 2.0, 1.0, 0.0],  # layer 1
            [1.0, 0.0, -4.0, 0.0],  # layer 2
            [4.0, 4.0, 0.0, 0.0],  # layer 3
            [2.0, 1.0, 0.0, 0.0],  # layer 4 (last)
        ]
    )
    confidences = jnp.zeros(logits.shape[:2])
    # S = 0.4: row 0 first dips below at layer 3 (0.090), row 1 at layer 1 (0.365), row 2 at layer 2 (0.090),
    # row 3 never (the last layer exits).
    layers, exit_logits = simulate(make_criterion("entropy", 0.4, 2, 4), logits, confidences)
    np.testing.assert_array_equal(layers, [3, 1, 2, 4])
    np.testing.assert_array_equal(exit_logits[:, 1], [4.0, 2.0, -4.0, 0.0])
    # S = 0.6 also takes m = 1 (0.582): row 0 exits at layer 2, row 2 at layer 1.
    layers, _ = simulate(make_criterion("entropy", 0.6, 2, 4), logits, confidences)
    np.testing.assert_array_equal(layers, [2, 1, 1, 4])
    # S = 0: nothing has negative entropy, every row runs to the end.
    layers, _ = simulate(make_criterion("entropy", 0.0, 2, 4), logits, confidences)
    np.testing.assert_array_equal(layers, [4, 4, 4, 4])


def test_patience_exits_once_t_layers_in_a_row_repeat_the_prediction():
    # Predictions (class 1 where the margin is positive) per row over five layers:
    predicted = np.array(
        [
            [0, 0, 0, 1, 1],  # agreements after layer 2 and 3: 1, 2 -> t=2 exits at layer 3
            [0, 1, 1, 0, 0],  # counts 0, 0, 1, 0, 1 -> t=2 never: the last layer
            [1, 1, 0, 0, 0],  # counts 0, 1, 0, 1, 2 -> t=2 at layer 5 (the last anyway); t=1 at layer 2
            [1, 0, 1, 0, 1],  # never agrees
        ]
    ).T
    logits = _two_class(np.where(predicted == 1, 1.0, -1.0))
    confidences = jnp.zeros(predicted.shape)
    layers, exit_logits = simulate(make_criterion("patience", 2, 2, 5), logits, confidences)
    np.testing.assert_array_equal(layers, [3, 5, 5, 5])
    np.testing.assert_array_equal(np.argmax(exit_logits, -1), [0, 0, 0, 1])
    layers, _ = simulate(make_criterion("patience", 1, 2, 5), logits, confidences)
    np.testing.assert_array_equal(layers, [2, 3, 2, 5])


def test_patience_on_regression_agrees_within_the_tolerance():
    values = np.array([[1.0, 2.0], [1.05, 2.5], [1.3, 2.6], [1.3, 2.65]], np.float32)  # [layers, rows]
    logits = jnp.asarray(values[..., None])
    confidences = jnp.zeros(values.shape)
    # tolerance 0.1: row 0 agrees at layer 2 (|1.05 - 1.0|), t=1 exits there; row 1 first at layer 3 (0.1).
    layers, exit_logits = simulate(make_criterion("patience", 1, 1, 4, tolerance=0.1), logits, confidences)
    np.testing.assert_array_equal(layers, [2, 3])
    np.testing.assert_allclose(exit_logits[:, 0], [1.05, 2.6])


def test_confidence_exits_at_the_first_layer_above_tau():
    confidences = jnp.asarray(np.array([[0.2, 0.9, 0.1], [0.6, 0.95, 0.3], [0.9, 0.2, 0.4]], np.float32))
    logits = _two_class(np.ones((3, 3)))
    layers, _ = simulate(make_criterion("confidence", 0.5, 2, 3), logits, confidences)
    np.testing.assert_array_equal(layers, [2, 1, 3])
    layers, _ = simulate(make_criterion("confidence", 0.92, 2, 3), logits, confidences)
    np.testing.assert_array_equal(layers, [3, 2, 3])
    layers, _ = simulate(make_criterion("confidence", 1.0, 2, 3), logits, confidences)
    np.testing.assert_array_equal(layers, [3, 3, 3])


@pytest.mark.parametrize(
    ("name", "threshold", "num_labels", "message"),
    [
        ("entropy", -0.1, 3, "outside [0, ln(3) = 1.0986]"),
        ("entropy", math.log(3) + 0.01, 3, "outside [0, ln(3) = 1.0986]"),
        ("entropy", 0.3, 1, "regression model has none"),
        ("confidence", 1.5, 2, "confidence threshold 1.5 is outside [0, 1]"),
        ("confidence", -0.01, 2, "outside [0, 1]"),
        ("patience", 0, 2, "patience 0 is not an integer in [1, 5]"),
        ("patience", 6, 2, "patience 6 is not an integer in [1, 5]"),
        ("patience", 1.5, 2, "patience 1.5 is not an integer"),
        ("certainty", 0.5, 2, "unknown exit criterion 'certainty'; criteria: ['entropy', 'patience', 'confidence']"),
    ],
)
def test_bad_criteria_are_clear_errors(name, threshold, num_labels, message):
    with pytest.raises(CriterionError) as error:
        make_criterion(name, threshold, num_labels, num_exits=6)
    assert message in str(error.value)


@pytest.mark.parametrize("num_labels", range(2, 11))
def test_every_default_threshold_is_a_valid_criterion(num_labels):
    """The sweep's grid spans each criterion's range without stepping outside it (ln 6 = 1.79176 once rounded
    up to 1.7918, which make_criterion refuses)."""
    for name in criteria.CRITERIA:
        grid = default_thresholds(name, num_labels, num_exits=6)
        for threshold in grid:
            criteria.make_criterion(name, threshold, num_labels, num_exits=6)
        if name == "entropy":
            assert grid[0] == 0.0 and math.log(num_labels) - 1e-4 < grid[-1] <= math.log(num_labels)
