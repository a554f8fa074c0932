"""L2-regularised logistic regression on frozen features, the probe SentEval trains (its scikit-learn path:
LogisticRegression(C=reg)), written in JAX so that every fit of a cross-validation grid runs at once.

The objective is scikit-learn's: 0.5 ||W||^2 + C * sum_i CE_i (the intercept unpenalised); binary tasks use one
weight vector (the logistic loss), multi-class ones the multinomial softmax, as scikit-learn's lbfgs solver
does. It is strictly convex, so L-BFGS reaches the same optimum scikit-learn's does. Fits differ in the rows
they train on (a 0/1 mask per fit) and in C, and are vmapped: a 10-fold CV over 6 values of C is one call.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax


def _logits(params, x):
    return x @ params["w"] + params["b"]


def _loss(params, x, y, mask, c, num_classes):
    """(0.5 ||W||^2 + C * sum over masked rows of CE) / (C * rows): scikit-learn's objective, rescaled."""
    logits = _logits(params, x)
    if num_classes == 2:
        losses = optax.sigmoid_binary_cross_entropy(logits[:, 0], y.astype(logits.dtype))
    else:
        losses = optax.softmax_cross_entropy_with_integer_labels(logits, y)
    rows = jnp.maximum(jnp.sum(mask), 1.0)
    return (jnp.sum(losses * mask) + 0.5 * jnp.sum(params["w"] ** 2) / c) / rows


@functools.partial(jax.jit, static_argnames=("num_classes", "iterations"))
def fit_logistic(x, y, masks, cs, num_classes: int, iterations: int = 300):
    """Parameters {"w": [fits, dim, outputs], "b": [fits, outputs]} of one fit per (mask [fits, rows], C [fits])."""
    outputs = 1 if num_classes == 2 else num_classes

    def fit(mask, c):
        loss = functools.partial(_loss, x=x, y=y, mask=mask, c=c, num_classes=num_classes)
        solver = optax.lbfgs()
        params = {"w": jnp.zeros((x.shape[1], outputs), x.dtype), "b": jnp.zeros((outputs,), x.dtype)}
        value_and_grad = optax.value_and_grad_from_state(loss)

        def step(_, carry):
            params, state = carry
            value, grad = value_and_grad(params, state=state)
            updates, state = solver.update(grad, state, params, value=value, grad=grad, value_fn=loss)
            return optax.apply_updates(params, updates), state

        return jax.lax.fori_loop(0, iterations, step, (params, solver.init(params)))[0]

    return jax.vmap(fit)(masks, cs)


def predict(params, x) -> np.ndarray:
    """[fits, rows] class predictions of each fit."""
    logits = jnp.einsum("rd,fdo->fro", x, params["w"]) + params["b"][:, None, :]
    if logits.shape[-1] == 1:
        return np.asarray(logits[..., 0] > 0).astype(np.int32)
    return np.asarray(jnp.argmax(logits, axis=-1))


def stratified_folds(labels, k: int, seed: int) -> np.ndarray:
    """Each example's fold in [0, k): every class dealt round-robin over the folds in a seeded order, so each
    fold holds its share of every class (scikit-learn's StratifiedKFold with shuffling, in spirit)."""
    labels = np.asarray(labels)
    folds = np.empty(len(labels), np.int32)
    rng = np.random.default_rng(seed)
    offset = 0
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        folds[members] = (np.arange(len(members)) + offset) % k
        offset += len(members)
    return folds
