"""BERT-flow's Glow: every layer and the whole flow invert exactly, the log-determinants equal a brute-force
log|det| of the Jacobian (jax.jacfwd) on a small dimension, actnorm's data init whitens the batch per dimension,
and maximum-likelihood training lowers the negative log-likelihood of correlated embeddings."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from plmjax.sentence.flow import Glow, fit_flow, flow_forward, initialise_actnorm, negative_log_likelihood


def _perturbed(params, seed=3, scale=0.3):
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    return jax.tree.unflatten(
        tree, [v + scale * jax.random.normal(k, v.shape) for v, k in zip(leaves, keys, strict=True)]
    )


def test_the_flow_inverts_and_its_log_determinant_is_the_jacobians():
    model = Glow(steps=2, hidden=8)
    x = jax.random.normal(jax.random.key(0), (5, 6))
    params = _perturbed(model.init(jax.random.key(1), x)["params"])  # no layer at its identity init
    z, logdet = model.apply({"params": params}, x)
    back, inverse_logdet = model.apply({"params": params}, z, reverse=True)
    np.testing.assert_allclose(back, x, atol=1e-4)  # float32 through six layers and an inverted matrix
    np.testing.assert_allclose(inverse_logdet, -logdet, atol=1e-5)
    for row in range(5):
        jacobian = jax.jacfwd(lambda v: model.apply({"params": params}, v[None])[0][0])(x[row])
        assert float(logdet[row]) == pytest.approx(float(jnp.linalg.slogdet(jacobian)[1]), abs=1e-4)


def test_actnorm_data_init_and_training_lower_the_nll():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 6)) @ rng.normal(size=(6, 6)) + 2.0
    model = Glow(steps=2, hidden=16)
    params = initialise_actnorm(model, model.init(jax.random.key(0), jnp.asarray(x[:2]))["params"], jnp.asarray(x))
    after_actnorm = (jnp.asarray(x) + params["actnorm_0"]["loc"]) * jnp.exp(params["actnorm_0"]["log_scale"])
    np.testing.assert_allclose(after_actnorm.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(after_actnorm.std(0), 1, atol=1e-4)
    model, fitted, losses = fit_flow(x, steps=300, flow_steps=2, hidden=16, batch_size=128, learning_rate=3e-3)
    assert losses[-1] < losses[0] - 0.5
    z, _ = flow_forward(model, fitted, x)
    assert abs(np.corrcoef(z.T)[np.triu_indices(6, 1)]).mean() < abs(np.corrcoef(x.T)[np.triu_indices(6, 1)]).mean()
    assert float(negative_log_likelihood(model, fitted, jnp.asarray(x))) < float(
        negative_log_likelihood(model, params, jnp.asarray(x))
    )


def test_a_diverging_flow_stops_with_the_last_good_parameters_kept(tmp_path):
    from plmjax.sentence.flow import FlowDivergedError, load_flow

    x = np.random.default_rng(0).normal(size=(256, 8)).astype(np.float32)
    path = str(tmp_path / "flow.npz")
    blow_up = lambda step: jnp.where(step < 20, 1e-3, 30.0)  # noqa: E731 (stable for 20 steps, then not)
    with pytest.raises(FlowDivergedError, match=r"nan at step 25; the last good parameters are step 20's") as error:
        fit_flow(x, steps=200, flow_steps=2, hidden=16, batch_size=64, learning_rate=blow_up, check_every=5,
                 checkpoint=path)  # fmt: skip
    assert error.value.step == 20
    saved, kept = load_flow(path), error.value.params
    for a, b in zip(jax.tree.leaves(saved), jax.tree.leaves(kept), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    model, _, _ = fit_flow(x, steps=20, flow_steps=2, hidden=16, batch_size=64, learning_rate=1e-3)
    z, _ = flow_forward(model, kept, x)
    assert np.isfinite(z).all()
