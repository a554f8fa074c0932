"""A probe per layer, every layer's probe trained in one jitted program (vmap over the layer axis).

linear: L2-regularised logistic regression, scikit-learn's objective (plmjax.sentence.logistic's batched L-BFGS,
run to its optimum), vmapped over layers. The objective is strictly convex, so each layer's probe is the unique
optimum whatever the other layers do.
mlp: one hidden ReLU layer trained by AdamW on minibatches; every layer starts from the same initialisation and
sees the same minibatches, so a layer's probe is the one that layer alone would get.
"""

import functools
import math
import operator

import jax
import jax.numpy as jnp
import numpy as np
import optax

from plmjax.sentence.logistic import fit_logistic, predict

PROBE_KINDS = ("linear", "mlp")


def check_probe(probe: str) -> None:
    if probe not in PROBE_KINDS:
        raise ValueError(f"probe {probe!r} does not exist; choose one of {PROBE_KINDS}")


@functools.partial(jax.jit, static_argnames=("num_classes", "max_iterations"))
def fit_linear_probes(x, y, num_classes: int, c: float = 1.0, max_iterations: int = 300, tolerance: float = 1e-6):
    """{"w": [layers, 1, dim, outputs], "b": [layers, 1, outputs]}: one logistic regression (inverse
    regularisation c) per layer of features x [layers, rows, dim] with labels y [rows]."""
    masks = jnp.ones((1, x.shape[1]), x.dtype)
    cs = jnp.full((1,), c, x.dtype)
    fit = functools.partial(fit_logistic, num_classes=num_classes, max_iterations=max_iterations, tolerance=tolerance)
    return jax.vmap(lambda layer_x: fit(layer_x, y, masks, cs))(x)


def _mlp_init(key, dim: int, hidden: int, outputs: int):
    """He-initialised first layer, Glorot-scaled output layer, zero biases."""
    first, second = jax.random.split(key)
    return {
        "w1": jax.random.normal(first, (dim, hidden)) * math.sqrt(2.0 / dim),
        "b1": jnp.zeros((hidden,)),
        "w2": jax.random.normal(second, (hidden, outputs)) * math.sqrt(1.0 / hidden),
        "b2": jnp.zeros((outputs,)),
    }


def mlp_logits(params, x):
    return jax.nn.relu(x @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"]


@functools.partial(jax.jit, static_argnames=("num_classes", "hidden", "steps", "batch_size"))
def fit_mlp_probes(x, y, num_classes: int, hidden: int = 256, steps: int = 1000, batch_size: int = 256,
                   learning_rate: float = 1e-3, weight_decay: float = 1e-2, seed: int = 0):  # fmt: skip
    """{"w1", "b1", "w2", "b2"}, each with a leading layer axis: one MLP per layer of features x [layers, rows,
    dim], `steps` AdamW steps on minibatches of `batch_size` rows drawn with replacement."""
    init_key, data_key = jax.random.split(jax.random.key(seed))
    batches = jax.random.randint(data_key, (steps, batch_size), 0, x.shape[1])
    optimizer = optax.adamw(learning_rate, weight_decay=weight_decay)

    def loss(params, rows_x, rows_y):
        return optax.softmax_cross_entropy_with_integer_labels(mlp_logits(params, rows_x), rows_y).mean()

    def fit(layer_x):
        params = _mlp_init(init_key, x.shape[2], hidden, num_classes)

        def step(carry, rows):
            params, state = carry
            grads = jax.grad(loss)(params, layer_x[rows], y[rows])
            updates, state = optimizer.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), None

        return jax.lax.scan(step, (params, optimizer.init(params)), batches)[0][0]

    return jax.vmap(fit)(x)


def fit_probes(probe: str, x, y, num_classes: int, **options):
    """Per-layer probe parameters of kind `probe` (PROBE_KINDS); options go to fit_linear_probes / fit_mlp_probes."""
    check_probe(probe)
    fit = fit_linear_probes if probe == "linear" else fit_mlp_probes
    return fit(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.int32), num_classes=num_classes, **options)


def predict_probes(probe: str, params, x) -> np.ndarray:
    """[layers, rows] class predictions of each layer's probe on features x [layers, rows, dim]."""
    check_probe(probe)
    x = jnp.asarray(x, jnp.float32)
    if probe == "mlp":
        return np.asarray(jnp.argmax(jax.vmap(mlp_logits)(params, x), axis=-1))
    return np.stack([predict(jax.tree.map(operator.itemgetter(layer), params), x[layer])[0] for layer in range(len(x))])
