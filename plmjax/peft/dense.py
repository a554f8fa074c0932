"""A Dense layer that may carry LoRA and IA3 parameters next to its kernel.

The layer finds its own kernel path ("encoder/layers_0/attention/query/kernel") from its scope and asks the
model's PeftConfig whether LoRA or IA3 applies there, so the methods reach any kernel by regex without the
model naming them. Layers no regex matches compute exactly as nn.Dense.

LoRA (Hu et al., 2021): y = x W + b + scale * dropout(x) A B with A [in, rank], B [rank, out] zero-initialised,
so the adapted model starts as the base model. The low-rank path is computed apart from W: when W is frozen
the training step has no gradient to form for it.
IA3 (Liu et al., 2022): y = (x W + b) * l (output scaling) or y = (x * l) W + b (input scaling), l from ones.

The method parameters are float32 whatever the base parameters' storage dtype (frozen weights may be
bfloat16; what trains stays float32).
"""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from plmjax.models.peft_config import PeftConfig

PEFT_PARAM_DTYPE = jnp.float32


def lora_a_init(key, shape, dtype=jnp.float32):
    """HF peft's default for A: kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in))."""
    bound = 1.0 / math.sqrt(shape[0])
    return jax.random.uniform(key, shape, dtype, -bound, bound)


class AdaptedDense(nn.Dense):
    """nn.Dense (same kernel and bias, same initialisation) plus the LoRA / IA3 parameters its path calls for.

    axes: the kernel's logical axes (in, out); the method parameters reuse them.
    """

    peft: PeftConfig = PeftConfig()
    axes: tuple[str, str] = ("embed", "embed")

    @nn.compact
    def __call__(self, inputs):
        kernel_path = "/".join(self.scope.path) + "/kernel"
        features_in = jnp.shape(inputs)[-1]
        # Created first and in nn.Dense's order, so their initial values equal nn.Dense's for the same rng.
        kernel = self.param("kernel", self.kernel_init, (features_in, self.features), self.param_dtype)
        bias = self.param("bias", self.bias_init, (self.features,), self.param_dtype) if self.use_bias else None
        x, kernel, bias = self.promote_dtype(inputs, kernel, bias, dtype=self.dtype)
        ia3 = self.peft.ia3_scales(kernel_path)
        in_axis, out_axis = self.axes

        scaled = x
        if ia3 == "input":
            scale = self.param(
                "ia3_scale", nn.with_logical_partitioning(nn.initializers.ones_init(), (in_axis,)), (features_in,)
            )
            scaled = x * scale.astype(x.dtype)
        y = jax.lax.dot_general(scaled, kernel, (((x.ndim - 1,), (0,)), ((), ())), precision=self.precision)
        if bias is not None:
            y += jnp.reshape(bias, (1,) * (y.ndim - 1) + (-1,))

        if self.peft.has_lora(kernel_path):
            p = self.peft
            lora_a = self.param(
                "lora_a",
                nn.with_logical_partitioning(lora_a_init, (in_axis, "lora_rank")),
                (features_in, p.lora_rank),
                PEFT_PARAM_DTYPE,
            )
            lora_b = self.param(
                "lora_b",
                nn.with_logical_partitioning(nn.initializers.zeros_init(), ("lora_rank", out_axis)),
                (p.lora_rank, self.features),
                PEFT_PARAM_DTYPE,
            )
            # Dropout is on while a "dropout" rng is supplied, i.e. exactly when the model trains
            # (model.apply(..., deterministic=False, rngs={"dropout": rng})).
            lora_in = nn.Dropout(p.lora_dropout)(x, deterministic=not self.has_rng("dropout"))
            low_rank = (lora_in @ lora_a.astype(y.dtype)) @ lora_b.astype(y.dtype)
            y = y + low_rank * jnp.asarray(p.lora_scale, y.dtype)

        if ia3 == "output":
            scale = self.param(
                "ia3_scale", nn.with_logical_partitioning(nn.initializers.ones_init(), (out_axis,)), (self.features,)
            )
            y = y * scale.astype(y.dtype)
        return y
