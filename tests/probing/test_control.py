"""Control tasks: a label fixed per type, drawn from the task's label distribution; selectivity is task minus
control accuracy; a layer that encodes the property is selective, a layer that only memorises types is not."""

import numpy as np

from plmjax.probing import control_labels, probe_with_control, selectivity


def test_a_types_control_label_is_fixed_and_seeded():
    types = ["the", "cat", "sat", "the", "mat", "cat", "the"]
    labels = [0, 1, 2, 0, 1, 1, 0]
    control = control_labels(types, labels, seed=3)
    for word in set(types):
        assert len({int(c) for c, t in zip(control, types, strict=True) if t == word}) == 1
    np.testing.assert_array_equal(control, control_labels(types, labels, seed=3))
    # A type seen later gets its own draw; the earlier types keep theirs.
    np.testing.assert_array_equal(control_labels(types + ["hat"], labels, seed=3)[: len(types)], control)


def test_control_labels_follow_the_tasks_label_distribution():
    """5,000 types, each drawn once from frequencies (0.6, 0.3, 0.1): the types' labels match them to sampling
    error (3 sigma is < 0.021), and a label absent from the task is never drawn."""
    rng = np.random.default_rng(0)
    labels = rng.choice(4, size=20_000, p=[0.6, 0.3, 0.1, 0.0])
    types = [f"w{i}" for i in range(5_000)]
    control = control_labels(types, labels, seed=0, num_classes=4)
    task = np.bincount(labels, minlength=4) / len(labels)
    np.testing.assert_allclose(np.bincount(control, minlength=4) / len(control), task, atol=0.021)
    assert not np.any(control == 3)


def test_selectivity_is_task_minus_control_accuracy():
    np.testing.assert_allclose(selectivity([0.9, 0.8, 0.55], [0.5, 0.7, 0.6]), [0.4, 0.1, -0.05])


def test_a_memorising_layer_is_not_selective_and_an_encoding_layer_is():
    """40 word types; the task label is a function of the type (type % 2). Layer 0 encodes only that label
    (+-1 along one direction, plus noise); layer 1 encodes only the type's identity (a random vector per type,
    64 dims, so any labelling of the 40 types is linearly separable). Layer 1 solves the task and its control
    alike (selectivity ~0); layer 0 solves the task but not the control (selectivity well above 0)."""
    rng = np.random.default_rng(0)
    num_types, dim = 40, 64
    type_vectors = rng.normal(size=(num_types, dim)).astype(np.float32)
    direction = rng.normal(size=dim).astype(np.float32)
    direction /= np.linalg.norm(direction)

    def split(rows):
        types = rng.integers(0, num_types, rows)
        y = (types % 2).astype(np.int32)
        label_layer = 3.0 * np.where(y[:, None] == 1, 1.0, -1.0) * direction + rng.normal(size=(rows, dim))
        type_layer = type_vectors[types] + 0.1 * rng.normal(size=(rows, dim))
        return np.stack([label_layer, type_layer]).astype(np.float32), y, [f"w{t}" for t in types]

    train_x, train_y, train_types = split(800)
    test_x, test_y, test_types = split(400)
    result = probe_with_control(train_x, train_y, test_x, test_y, train_types, test_types, "linear", seed=1, c=10.0)
    assert np.all(result["task"] > 0.95)
    assert result["control"][1] > 0.95 and result["selectivity"][1] < 0.05
    assert result["control"][0] < 0.8 and result["selectivity"][0] > 0.2
    np.testing.assert_allclose(result["selectivity"], result["task"] - result["control"])


def test_probe_with_control_runs_the_mlp_probe_too():
    """The control task goes through the chosen probe (the linear one is tested above): on pure noise features
    both accuracies sit near chance."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 300, 8)).astype(np.float32)
    y = rng.integers(0, 2, 300).astype(np.int32)
    types = [f"w{t}" for t in rng.integers(0, 30, 300)]
    result = probe_with_control(
        x[:, :200], y[:200], x[:, 200:], y[200:], types[:200], types[200:], "mlp", steps=50, hidden=8
    )
    assert result["task"].shape == result["control"].shape == (2,)
    assert np.all(np.abs(result["task"] - 0.5) < 0.15) and np.all(np.abs(result["control"] - 0.5) < 0.2)
