"""L2-regularised logistic regression on frozen features, the probe SentEval trains (its scikit-learn path:
LogisticRegression(C=reg)), written in JAX so that every fit of a cross-validation grid runs at once.

The objective is scikit-learn's: 0.5 ||W||^2 + C * sum_i CE_i (the intercept unpenalised); binary tasks use one
weight vector (the logistic loss), multi-class ones the multinomial softmax, as scikit-learn's lbfgs solver
does. It is strictly convex, so L-BFGS reaches the same optimum scikit-learn's does. Fits differ in the rows
they train on (a 0/1 mask per fit) and in C, and run together: a 10-fold CV over 6 values of C is one call, each
step a few batched matmuls. (optax's L-BFGS, vmapped, spent 28x a step's matmuls in its line search's loops.)
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

# Step lengths tried along each L-BFGS direction, all at once (one batched matmul), the longest that satisfies
# Armijo's condition taken: a line search without a data-dependent loop, so the fits vectorise.
STEPS = (1.0, 0.5, 0.25, 0.1, 0.03, 0.01, 1e-3, 1e-4)
ARMIJO = 1e-4


def _losses(theta, x, y, masks, cs, num_classes: int):
    """[fits] objectives of flat parameters theta [fits, dim * outputs + outputs]: (0.5 ||W||^2 + C * sum over
    the fit's rows of CE) / (C * rows), scikit-learn's objective rescaled."""
    fits, dim = theta.shape[0], x.shape[1]
    outputs = theta.shape[1] // (dim + 1)
    w, b = theta[:, : dim * outputs].reshape(fits, dim, outputs), theta[:, dim * outputs :]
    logits = jnp.einsum("rd,fdo->fro", x, w) + b[:, None, :]
    if num_classes == 2:
        losses = optax.sigmoid_binary_cross_entropy(logits[..., 0], y[None].astype(logits.dtype))
    else:
        losses = optax.softmax_cross_entropy_with_integer_labels(logits, y[None])
    rows = jnp.maximum(jnp.sum(masks, axis=1), 1.0)
    return (jnp.sum(losses * masks, axis=1) + 0.5 * jnp.sum(w**2, axis=(1, 2)) / cs) / rows


@functools.partial(jax.jit, static_argnames=("num_classes", "max_iterations", "history"))
def fit_logistic(x, y, masks, cs, num_classes: int, max_iterations: int = 300, tolerance: float = 1e-6,
                 history: int = 10):  # fmt: skip
    """Parameters {"w": [fits, dim, outputs], "b": [fits, outputs]} of one fit per (mask [fits, rows], C [fits]).

    L-BFGS (`history` pairs) on every fit at once, until each fit's largest gradient entry is below `tolerance`
    (scikit-learn stops its lbfgs at 1e-4 on the same objective) or max_iterations; tolerance 0 runs them all.
    A fit that has converged stops moving while the others go on."""
    outputs = 1 if num_classes == 2 else num_classes
    fits, size = len(cs), (x.shape[1] + 1) * outputs
    objective = functools.partial(_losses, x=x, y=y, masks=masks, cs=cs, num_classes=num_classes)
    value_and_grad = jax.value_and_grad(lambda theta: jnp.sum(objective(theta)))
    dot = lambda a, b: jnp.sum(a * b, axis=-1)  # noqa: E731 (per fit)

    def direction(grad, s, yv, rho, count):
        """-H grad by the two-loop recursion over the stored pairs, newest first (rho 0: an empty slot)."""
        q, alphas = grad, []
        order = [(count - 1 - j) % history for j in range(history)]
        for i in order:
            alpha = rho[:, i] * dot(s[:, i], q)
            q = q - alpha[:, None] * yv[:, i]
            alphas.append(alpha)
        newest = order[0]
        yy = dot(yv[:, newest], yv[:, newest])
        gamma = jnp.where(rho[:, newest] > 0, dot(s[:, newest], yv[:, newest]) / jnp.maximum(yy, 1e-30), 1.0)
        r = gamma[:, None] * q
        for i, alpha in zip(reversed(order), reversed(alphas), strict=True):
            beta = rho[:, i] * dot(yv[:, i], r)
            r = r + (alpha - beta)[:, None] * s[:, i]
        return -r

    def step(carry):
        theta, value, grad, s, yv, rho, count, _ = carry
        d = direction(grad, s, yv, rho, count)
        # Not a descent direction (a bad pair): fall back to the gradient.
        d = jnp.where((dot(d, grad) < 0)[:, None], d, -grad)
        steps = jnp.asarray(STEPS, theta.dtype)
        trials = jax.vmap(lambda t: objective(theta + t * d))(steps)  # [steps, fits]
        armijo = trials <= value[None] + ARMIJO * steps[:, None] * dot(grad, d)[None]
        chosen = steps[jnp.argmax(armijo, axis=0)]  # the longest step that satisfies it (the last if none)
        largest = jnp.max(jnp.abs(grad), axis=1)
        moving = largest > tolerance
        new_theta = jnp.where(moving[:, None], theta + chosen[:, None] * d, theta)
        new_value, new_grad = objective(new_theta), value_and_grad(new_theta)[1]
        s_new, y_new = new_theta - theta, new_grad - grad
        sy = dot(s_new, y_new)
        slot = count % history
        keep = moving & (sy > 1e-10)
        s = s.at[:, slot].set(jnp.where(keep[:, None], s_new, s[:, slot]))
        yv = yv.at[:, slot].set(jnp.where(keep[:, None], y_new, yv[:, slot]))
        rho = rho.at[:, slot].set(jnp.where(keep, 1.0 / jnp.maximum(sy, 1e-30), rho[:, slot]))
        return new_theta, new_value, new_grad, s, yv, rho, count + 1, jnp.max(largest)

    def running(carry):
        return (carry[6] < max_iterations) & (carry[7] > tolerance)

    theta = jnp.zeros((fits, size), x.dtype)
    value, grad = objective(theta), value_and_grad(theta)[1]
    memory = jnp.zeros((fits, history, size), x.dtype)
    start = (theta, value, grad, memory, memory, jnp.zeros((fits, history), x.dtype), jnp.zeros((), jnp.int32),
             jnp.full((), jnp.inf, x.dtype))  # fmt: skip
    theta = jax.lax.while_loop(running, step, start)[0]
    dim = x.shape[1]
    return {"w": theta[:, : dim * outputs].reshape(fits, dim, outputs), "b": theta[:, dim * outputs :]}


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
