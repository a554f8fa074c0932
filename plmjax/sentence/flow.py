"""BERT-flow (Li et al. 2020): a Glow-style normalising flow, trained by maximum likelihood on frozen sentence
embeddings, maps them to a standard Gaussian, where cosine similarity works better.

Each of `steps` flow steps is Glow's (Kingma & Dhariwal 2018): actnorm (a per-dimension shift and log-scale,
initialised from the data so the first batch comes out zero-mean, unit-variance), an invertible linear map (Glow's
invertible 1x1 convolution: the embedding is a 1x1 "image" whose channels are its dimensions; initialised
orthogonal), and an affine coupling (half the dimensions, through a small network, give a shift and a sigmoid
scale to the other half; its last layer starts at zero, so each step starts as the identity there). Every
layer returns its log-determinant; the loss is the mean negative log-likelihood -log N(z; 0, I) - log|det J|.

    params = fit_flow(embeddings, steps=2000, seed=0)    # maximum likelihood, Adam
    z = flow_forward(params, embeddings)[0]               # the Gaussian space
"""

import math
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import traverse_util


class ActNorm(nn.Module):
    @nn.compact
    def __call__(self, x, reverse: bool = False):
        dim = x.shape[-1]
        loc = self.param("loc", nn.initializers.zeros, (dim,))
        log_scale = self.param("log_scale", nn.initializers.zeros, (dim,))
        if reverse:
            return x * jnp.exp(-log_scale) - loc, -jnp.sum(log_scale)
        return (x + loc) * jnp.exp(log_scale), jnp.sum(log_scale)


def _orthogonal(rng, shape, dtype=jnp.float32):
    q, r = jnp.linalg.qr(jax.random.normal(rng, shape, dtype))
    return q * jnp.sign(jnp.diagonal(r))[None, :]


class InvertibleLinear(nn.Module):
    @nn.compact
    def __call__(self, x, reverse: bool = False):
        dim = x.shape[-1]
        weight = self.param("kernel", _orthogonal, (dim, dim))
        logdet = jnp.linalg.slogdet(weight)[1]
        if reverse:
            return x @ jnp.linalg.inv(weight), -logdet
        return x @ weight, logdet


class AffineCoupling(nn.Module):
    hidden: int = 32

    @nn.compact
    def __call__(self, x, reverse: bool = False):
        half = x.shape[-1] // 2
        xa, xb = x[..., :half], x[..., half:]
        h = nn.relu(nn.Dense(self.hidden, name="in")(xa))
        h = nn.relu(nn.Dense(self.hidden, name="mid")(h))
        h = nn.Dense(2 * (x.shape[-1] - half), kernel_init=nn.initializers.zeros, name="out")(h)
        shift, raw = h[..., ::2], h[..., 1::2]
        scale = jax.nn.sigmoid(raw + 2.0)  # Glow's: starts near 0.88, never 0
        logdet = jnp.sum(jnp.log(scale), axis=-1)
        if reverse:
            return jnp.concatenate([xa, xb / scale - shift], axis=-1), -logdet
        return jnp.concatenate([xa, (xb + shift) * scale], axis=-1), logdet


class Glow(nn.Module):
    """`steps` of (actnorm, invertible linear, affine coupling); returns (output, log|det J|) per row."""

    steps: int = 4
    hidden: int = 32

    def setup(self):
        self.layers = [
            layer
            for i in range(self.steps)
            for layer in (
                ActNorm(name=f"actnorm_{i}"),
                InvertibleLinear(name=f"linear_{i}"),
                AffineCoupling(self.hidden, name=f"coupling_{i}"),
            )  # fmt: skip
        ]

    def __call__(self, x, reverse: bool = False):
        total = jnp.zeros(x.shape[:-1], x.dtype)
        for layer in reversed(self.layers) if reverse else self.layers:
            x, logdet = layer(x, reverse=reverse)
            total = total + logdet
        return x, total


def initialise_actnorm(model: Glow, params, x):
    """Glow's data-dependent init: each actnorm makes this batch zero-mean, unit-variance where it stands."""
    params = jax.tree.map(lambda v: v, params)
    for i in range(model.steps):
        name = f"actnorm_{i}"
        mean, std = jnp.mean(x, axis=0), jnp.std(x, axis=0) + 1e-6
        params[name] = {"loc": -mean, "log_scale": -jnp.log(std)}
        x, _ = ActNorm().apply({"params": params[name]}, x)
        x, _ = InvertibleLinear().apply({"params": params[f"linear_{i}"]}, x)
        x, _ = AffineCoupling(model.hidden).apply({"params": params[f"coupling_{i}"]}, x)
    return params


def negative_log_likelihood(model: Glow, params, x) -> jax.Array:
    """Mean over rows of -log N(z; 0, I) - log|det J| (nats per embedding)."""
    z, logdet = model.apply({"params": params}, x)
    log_normal = -0.5 * jnp.sum(z**2, axis=-1) - 0.5 * x.shape[-1] * math.log(2 * math.pi)
    return -jnp.mean(log_normal + logdet)


class FlowDivergedError(RuntimeError):
    """The flow's likelihood went non-finite; `params` are the last good ones (also on disk when a checkpoint
    path was given), `step` the last good step."""

    def __init__(self, message: str, params, step: int):
        super().__init__(message)
        self.params, self.step = params, step


def fit_flow(embeddings, steps: int = 2000, flow_steps: int = 4, hidden: int = 32, batch_size: int = 256,
             learning_rate: float = 1e-3, seed: int = 0, check_every: int = 100,
             checkpoint: str | None = None) -> tuple[Glow, dict, list]:  # fmt: skip
    """(model, params, losses at the first step and every check_every steps) of a flow fitted to `embeddings`
    [n, dim] by Adam (learning_rate: a float or an optax schedule).

    Every check_every steps the loss comes back to the host (the steps between run without a sync): a finite
    one makes these parameters the last good ones (written to `checkpoint`, an .npz, when given); a NaN or
    infinite one stops the fit with FlowDivergedError, which carries the last good parameters."""
    x = jnp.asarray(embeddings, jnp.float32)
    model = Glow(flow_steps, hidden)
    rng = jax.random.key(seed)
    params = model.init(rng, x[:2])["params"]
    params = initialise_actnorm(model, params, x[: max(batch_size, 1)])
    optimizer = optax.adam(learning_rate)
    state = optimizer.init(params)

    @jax.jit
    def step(params, state, batch):
        loss, grads = jax.value_and_grad(lambda p: negative_log_likelihood(model, p, batch))(params)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    order_rng = np.random.default_rng(seed)
    losses, good, good_step = [], params, 0
    for index in range(steps):
        rows = order_rng.choice(len(x), min(batch_size, len(x)), replace=False)
        params, state, loss = step(params, state, x[rows])
        if index == 0 or (index + 1) % check_every == 0 or index == steps - 1:
            value = float(loss)
            if not math.isfinite(value):
                kept = f", saved in {checkpoint}" if checkpoint and good_step else ""
                raise FlowDivergedError(
                    f"BERT-flow stopped: negative log-likelihood {value} at step {index + 1}; the last good "
                    f"parameters are step {good_step}'s{kept}. Lower the learning rate.",
                    good,
                    good_step,
                )
            losses.append(value)
            good, good_step = params, index + 1
            if checkpoint:
                save_flow(good, checkpoint)
    return model, params, losses


def save_flow(params, path: str) -> None:
    """The flow's parameters as an .npz of "/"-joined paths, written whole or not at all."""
    flat = traverse_util.flatten_dict(jax.device_get(params), sep="/")
    with open(path + ".tmp", "wb") as f:
        np.savez(f, **flat)
    os.replace(path + ".tmp", path)


def load_flow(path: str) -> dict:
    with np.load(path) as saved:
        return traverse_util.unflatten_dict({k: jnp.asarray(v) for k, v in saved.items()}, sep="/")


def flow_forward(model: Glow, params, embeddings) -> tuple[np.ndarray, np.ndarray]:
    z, logdet = jax.jit(lambda p, x: model.apply({"params": p}, x))(params, jnp.asarray(embeddings, jnp.float32))
    return np.asarray(z), np.asarray(logdet)
