"""PET's ensemble soft labels equal a hand computation (both weightings, with T); iPET's sample sizes follow
|T| d^j per generation with the labeled set's class ratio (and PET's integer arithmetic), each model's examples are
labeled by other models only, drawn with probability p(l | x), upsampled when too few; sampling is seeded."""

import numpy as np
import pytest

from plmjax.prompting import pet

# Three PVP models, two unlabeled examples, two classes.
LOGITS = np.array([[[2.0, 0.0], [0.0, 1.0]], [[0.0, 4.0], [2.0, 2.0]], [[1.0, 1.0], [3.0, 0.0]]])
ACCURACIES = [1.0, 0.5, 0.5]  # they sum to 2: a merge that forgot to divide by the sum would be off


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_soft_labels_equal_the_hand_computed_values():
    # Train-accuracy weights: s_0 = ([2, 0] + [0, 2] + [0.5, 0.5]) / 2 = [1.25, 1.25],
    # s_1 = ([0, 1] + [1, 1] + [1.5, 0]) / 2 = [1.25, 1]; softmax(s / 2) of two classes is a sigmoid of the gap / 2.
    weights = pet.pvp_weights(ACCURACIES)
    np.testing.assert_array_equal(weights, ACCURACIES)
    np.testing.assert_allclose(pet.merge_logits(LOGITS, weights), [[1.25, 1.25], [1.25, 1.0]], rtol=1e-15)
    expected = [[0.5, 0.5], [sigmoid(0.125), sigmoid(-0.125)]]
    np.testing.assert_allclose(pet.soft_labels(LOGITS, weights), expected, rtol=1e-12)
    # Uniform: s_0 = [3, 5] / 3, s_1 = [5, 3] / 3; a gap of 2/3, halved by T = 2.
    uniform = pet.pvp_weights(ACCURACIES, "uniform")
    np.testing.assert_array_equal(uniform, [1.0, 1.0, 1.0])
    expected = [[sigmoid(-1 / 3), sigmoid(1 / 3)], [sigmoid(1 / 3), sigmoid(-1 / 3)]]
    np.testing.assert_allclose(pet.soft_labels(LOGITS, uniform), expected, rtol=1e-12)
    # T = 1 (iPET's labels) doubles the gap.
    expected = [[sigmoid(-2 / 3), sigmoid(2 / 3)], [sigmoid(2 / 3), sigmoid(-2 / 3)]]
    np.testing.assert_allclose(pet.soft_labels(LOGITS, uniform, temperature=1.0), expected, rtol=1e-12)
    assert pet.TEMPERATURE == 2.0 and pet.SCALE_FACTOR == 5.0 and pet.LABELER_SHARE == 0.25


def test_bad_weights_are_refused():
    with pytest.raises(ValueError, match="uniform"):
        pet.pvp_weights(ACCURACIES, "accuracy")
    with pytest.raises(ValueError, match="positive"):
        pet.merge_logits(LOGITS, [0.0, 0.0, 0.0])


def pet_examples_per_label(train_labels, num_classes, generation, scale_factor):
    """timoschick/pet's arithmetic, ported: train_ipet's num_new_examples (its loop index gen = generation - 1)
    and generate_ipet_train_sets' examples_per_label."""
    train_data = list(train_labels)
    original_data_size = len(train_data) if train_data else 10 / scale_factor
    num_new_examples = int(original_data_size * (scale_factor ** (generation - 1 + 1)) - len(train_data))
    if train_data:
        multiplier = num_new_examples / len(train_data)
        return [int(sum(1 for label in train_data if label == c) * multiplier) for c in range(num_classes)]
    n, i = num_new_examples, num_classes
    return [n // i + 1] * (n % i) + [n // i] * (i - n % i)


def test_ipet_sample_sizes_follow_the_schedule():
    labels = [0] * 6 + [1] * 4  # |T| = 10, classes 60/40
    for generation, per_class in ((1, [24, 16]), (2, [144, 96]), (3, [744, 496])):
        assert pet.new_example_count(10, generation) == 10 * 5**generation - 10
        np.testing.assert_array_equal(pet.examples_per_class(labels, 2, generation), per_class)
    # A fractional d rounds each class down: 10 * 2.5^2 - 10 = 52 new, 6 * 5.2 = 31.2 and 4 * 5.2 = 20.8.
    np.testing.assert_array_equal(pet.examples_per_class(labels, 2, 2, scale_factor=2.5), [31, 20])
    # No labels (PET's zero-shot iPET): int(10 / d * d^j) split evenly, the first classes taking the remainder.
    np.testing.assert_array_equal(pet.examples_per_class([], 3, 2), [17, 17, 16])
    for d in (5.0, 2.5, 3.0):
        for train in ([0] * 6 + [1] * 4, [0, 1, 1, 2, 2, 2, 2], [1] * 16 + [0] * 16, []):
            for generation in (1, 2, 3):
                expected = pet_examples_per_label(train, 3, generation, d)
                np.testing.assert_array_equal(pet.examples_per_class(train, 3, generation, d), expected)
    with pytest.raises(ValueError, match="start at 1"):
        pet.new_example_count(10, 0)


def test_labelers_are_a_rounded_share_of_the_other_models():
    rng = np.random.default_rng(0)
    # round(lambda (n - 1)) with Python's half-to-even rounding: 1.25 -> 1, 2.5 -> 2, 3.5 -> 4, 2.75 -> 3.
    for models, count in ((6, 1), (11, 2), (15, 4), (12, 3)):
        for model in range(models):
            labelers = pet.pick_labelers(model, models, rng)
            assert len(labelers) == len(set(labelers.tolist())) == count and model not in labelers
            assert all(0 <= m < models for m in labelers)
    with pytest.raises(ValueError, match="no model"):
        pet.pick_labelers(0, 2, rng)


def constructed_logits(models=6, examples=2000, seed=0):
    """Independent random logits per model: each model's predictions identify it."""
    return np.random.default_rng(seed).normal(scale=3.0, size=(models, examples, 2))


def test_ipet_sets_have_exact_class_counts_and_come_from_other_models():
    logits = constructed_logits()
    predictions = logits.argmax(-1)  # one labeler (round(5 * 0.25) = 1): its prediction is the label
    # Every model predicts more of each class than generation 3 needs (744, 496): no example repeats.
    assert (np.stack([(predictions == c).sum(-1) for c in (0, 1)]) > 744).all()
    labels = [0] * 6 + [1] * 4
    for generation, per_class in ((1, [24, 16]), (2, [144, 96]), (3, [744, 496])):
        sets = pet.ipet_train_sets(logits, pet.pvp_weights([0.6, 0.7, 0.5, 0.8, 0.9, 0.4]), labels, generation, 42)
        assert len(sets) == 6  # 3 PVPs x 2 models
        for model, (indices, new_labels) in enumerate(sets):
            np.testing.assert_array_equal(np.bincount(new_labels, minlength=2), per_class)
            assert len(set(indices.tolist())) == len(indices)  # enough candidates: no example twice
            assert len(labels) + len(indices) == 10 * 5**generation
            agreeing = [m for m in range(6) if np.array_equal(predictions[m, indices], new_labels)]
            assert agreeing and model not in agreeing


def test_sampling_is_seeded():
    logits, labels = constructed_logits(examples=300), [0] * 6 + [1] * 4
    weights = pet.pvp_weights([0.5] * 6, "uniform")
    first = pet.ipet_train_sets(logits, weights, labels, 1, seed=3)
    again = pet.ipet_train_sets(logits, weights, labels, 1, seed=3)
    other = pet.ipet_train_sets(logits, weights, labels, 1, seed=4)
    for (a, la), (b, lb) in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(la, lb)
    assert any(not np.array_equal(a, b) for (a, _), (b, _) in zip(first, other, strict=True))


def test_examples_are_drawn_by_label_probability_and_upsampled_when_too_few():
    # Examples 0 and 1 are class 0 with p = 0.9 and 0.6: drawn 0.6 and 0.4 of the time.
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
    rng = np.random.default_rng(0)
    drawn = np.array([pet.draw_examples(probs, [1, 0], rng)[0][0] for _ in range(4000)])
    assert set(drawn.tolist()) == {0, 1} and abs(np.mean(drawn == 0) - 0.6) < 0.03
    # Class 1 has one candidate (example 2) and needs 3: PET repeats the candidate list until it suffices.
    indices, labels = pet.draw_examples(probs, [2, 3], rng)
    np.testing.assert_array_equal(labels, [0, 0, 1, 1, 1])
    assert sorted(indices[:2].tolist()) == [0, 1] and indices[2:].tolist() == [2, 2, 2]
    # Two candidates, 5 needed: the list repeats whole 3 times (6 entries), so neither is drawn more than 3 times.
    probs = np.array([[0.01, 0.99], [0.49, 0.51]])
    for _ in range(50):
        assert sorted(np.bincount(pet.draw_examples(probs, [0, 5], rng)[0], minlength=2)) == [2, 3]
    # No example is predicted as class 0 (PET would loop forever): every example is drawn by p(0 | x) instead.
    picks = [pet.draw_examples(probs, [1, 0], rng)[0][0] for _ in range(4000)]
    assert abs(np.mean(np.asarray(picks) == 1) - 0.49 / 0.50) < 0.02


def test_most_likely_candidates_ignore_the_prediction():
    # Class 1's two most likely examples are 2 and 1 (p = 0.8, 0.4, ties broken towards the later example).
    probs = np.array([[0.6, 0.4], [0.6, 0.4], [0.2, 0.8], [0.9, 0.1]])
    indices, labels = pet.draw_examples(probs, [0, 2], np.random.default_rng(0), most_likely=2)
    assert sorted(indices.tolist()) == [1, 2] and labels.tolist() == [1, 1]
    with pytest.raises(ValueError, match="generation 1"):
        pet.ipet_train_sets(np.zeros((6, 4, 2)), np.ones(6), [0, 1], 2, 0, most_likely=2)
