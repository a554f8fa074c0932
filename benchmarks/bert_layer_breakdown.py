"""Where one BERT layer's training time goes: forward + backward of a plmjax TransformerLayer against the same
matmuls run alone, back to back (forward, input gradient and weight gradient of the six projections).

    python benchmarks/bert_layer_breakdown.py [--batch=16 --seq=128 --reps=7]

The gap between the two is the layer's non-matmul work (attention core, softmax, layer norms, GELU,
residuals, dropout). Companion of bert_train_step.py; results in docs/benchmarks.md.
"""

import argparse
import os
import sys

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_train_step import time_calls  # noqa: E402

from plmjax.models import preset  # noqa: E402
from plmjax.models.attention import attention_bias  # noqa: E402
from plmjax.models.stack import TransformerLayer  # noqa: E402
from plmjax.train.cpu_threefry import unroll_threefry_on_cpu  # noqa: E402


def layer_seconds(config, x, reps: int) -> float:
    """Best time of one layer's gradient (parameters and input) for a fixed output cotangent."""
    layer = TransformerLayer(config)
    bias = attention_bias(jnp.ones(x.shape[:2], jnp.int32), jnp.float32)
    params = nn.meta.unbox(layer.init(jax.random.key(1), x, bias)["params"])
    cotangent = jax.random.normal(jax.random.key(2), x.shape)
    deterministic = config.hidden_dropout == 0 and config.attention_dropout == 0

    def loss(params, x, key):
        y, _ = layer.apply({"params": params}, x, bias, deterministic=deterministic, rngs={"dropout": key})
        return jnp.vdot(y, cotangent)

    grad = jax.jit(jax.grad(loss, argnums=(0, 1)))
    key = jax.random.key(3)
    return min(time_calls(lambda: jax.block_until_ready(grad(params, x, key)), reps))


def matmul_seconds(config, tokens: int, reps: int) -> float:
    """The layer's dense matmuls alone: for each kernel [in, out], x @ w, dy @ w.T and x.T @ dy."""
    h, f = config.hidden_size, config.intermediate_size
    shapes = [(h, h)] * 4 + [(h, f), (f, h)]
    kernels = [jax.random.normal(jax.random.key(i), s) for i, s in enumerate(shapes)]
    inputs = {n: jax.random.normal(jax.random.key(10 + n), (tokens, n)) for n in {h, f}}

    def matmuls(kernels, inputs):
        out = []
        for w in kernels:
            x, dy = inputs[w.shape[0]], inputs[w.shape[1]]
            out += [x @ w, lax.dot_general(dy, w, (((1,), (1,)), ((), ()))), x.T @ dy]
        return out

    run = jax.jit(matmuls)
    return min(time_calls(lambda: jax.block_until_ready(run(kernels, inputs)), reps))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--reps", type=int, default=7)
    args = p.parse_args(argv)
    config = preset("bert-base")
    tokens = args.batch * args.seq
    x = jax.random.normal(jax.random.key(0), (args.batch, args.seq, config.hidden_size))
    h, f, s = config.hidden_size, config.intermediate_size, args.seq
    dense_flops = 3 * 2 * tokens * (4 * h * h + 2 * h * f)
    attention_flops = 3 * 2 * tokens * 2 * s * h

    rows = [("layer, dropout 0.1, JAX's rolled threefry", layer_seconds(config, x, args.reps))]
    unroll_threefry_on_cpu()  # affects compilations from here on
    rows.append(("layer, dropout 0.1, unrolled threefry", layer_seconds(config, x, args.reps)))
    no_dropout = config.replace(hidden_dropout=0.0, attention_dropout=0.0)
    rows.append(("layer, no dropout", layer_seconds(no_dropout, x, args.reps)))
    matmuls = matmul_seconds(config, tokens, args.reps)
    print(f"BERT-base layer, forward + backward, {args.batch} x {args.seq} tokens; best of {args.reps}")
    for label, seconds in rows:
        rate = (dense_flops + attention_flops) / seconds / 1e9
        print(f"{label:45s} {seconds * 1e3:7.1f} ms  {rate:6.1f} GFLOP/s")
    print(f"{'its 18 dense matmuls alone':45s} {matmuls * 1e3:7.1f} ms  {dense_flops / matmuls / 1e9:6.1f} GFLOP/s")


if __name__ == "__main__":
    main()
