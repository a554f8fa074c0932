"""The per-layer probes trained in one vmapped program equal the same probe fitted on each layer alone; the linear
probe of every layer is scikit-learn's LogisticRegression optimum; a signal planted at one layer is found there."""

import numpy as np
import pytest

from plmjax.probing import fit_probes, layer_accuracy, predict_probes

LAYERS, ROWS, DIM = 3, 150, 6


def _layers_data(num_classes, seed=0):
    """Features [layers, rows, dim] whose first dims carry the label more strongly in later layers."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, num_classes, ROWS).astype(np.int32)
    x = rng.normal(size=(LAYERS, ROWS, DIM)).astype(np.float32)
    for layer in range(LAYERS):
        x[layer, :, :2] += 0.5 * (layer + 1) * y[:, None]
    return x, y


@pytest.mark.parametrize("num_classes", [2, 3])
def test_every_layers_linear_probe_is_scikit_learns_optimum(num_classes):
    """Against scikit-learn's newton-cg solved to 1e-12 in float64, layer by layer."""
    from sklearn.linear_model import LogisticRegression

    x, y = _layers_data(num_classes)
    params = fit_probes("linear", x, y, num_classes, c=0.5, tolerance=0.0)
    for layer in range(LAYERS):
        reference = LogisticRegression(C=0.5, tol=1e-12, max_iter=10_000, solver="newton-cg")
        reference.fit(x[layer].astype(np.float64), y)
        np.testing.assert_allclose(np.asarray(params["w"][layer, 0]), reference.coef_.T, atol=1e-4)
        np.testing.assert_allclose(np.asarray(params["b"][layer, 0]), reference.intercept_, atol=1e-4)
        np.testing.assert_array_equal(predict_probes("linear", params, x)[layer], reference.predict(x[layer]))


@pytest.mark.parametrize("probe", ["linear", "mlp"])
def test_the_vmapped_probes_equal_each_layer_fitted_alone(probe):
    x, y = _layers_data(3)
    # The linear fits run to their optimum (tolerance 0): with a gradient tolerance, float noise of the batched
    # matmuls can stop a layer one L-BFGS step earlier or later alone than in the batch. What remains is float32's
    # resolution of a flat optimum (~5e-6 relative); a probe fitted on another layer's features is off by O(1).
    options = {"c": 2.0, "tolerance": 0.0} if probe == "linear" else {"hidden": 16, "steps": 200, "batch_size": 32}
    together = fit_probes(probe, x, y, 3, **options)
    for layer in range(LAYERS):
        alone = fit_probes(probe, x[layer : layer + 1], y, 3, **options)
        for name, value in alone.items():
            np.testing.assert_allclose(np.asarray(together[name][layer]), np.asarray(value[0]), rtol=2e-5, atol=2e-5)
    # The layers' probes differ (each saw its own features), so the comparison above is not vacuous.
    assert not np.allclose(np.asarray(together["b1" if probe == "mlp" else "b"][0]),
                           np.asarray(together["b1" if probe == "mlp" else "b"][1]), atol=1e-3)  # fmt: skip


@pytest.mark.parametrize("probe", ["linear", "mlp"])
def test_a_signal_planted_at_one_layer_is_found_there(probe):
    """Five layers of noise; only layer 3 carries the label (in a random direction): its probe is right on held-out
    rows, the others are at chance."""
    rng = np.random.default_rng(1)
    rows, dim = 600, 16
    y = rng.integers(0, 2, rows).astype(np.int32)
    x = rng.normal(size=(5, rows, dim)).astype(np.float32)
    direction = rng.normal(size=dim).astype(np.float32)
    x[3] += 1.5 * np.where(y[:, None] == 1, 1.0, -1.0) * direction / np.linalg.norm(direction)
    options = {} if probe == "linear" else {"hidden": 32, "steps": 300}
    accuracy = layer_accuracy(x[:, :400], y[:400], x[:, 400:], y[400:], probe, **options)
    assert int(np.argmax(accuracy)) == 3
    assert accuracy[3] > 0.9
    assert np.all(np.delete(accuracy, 3) < 0.65)
