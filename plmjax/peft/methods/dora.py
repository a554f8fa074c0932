"""DoRA (Liu et al., 2024): weight-decomposed LoRA, a learned magnitude per output times a LoRA-updated direction.

W' = m * (W + scale * A B) / ||W + scale * A B||, the norm taken per output feature (over the input axis), with
m [out] starting at ||W||, so the adapted model starts as the base model. As in the paper (section 4.3) and HF
peft, the norm is treated as a constant in the backward pass. The layer computes, as peft's DoRA does,

    y = x W + b + (m / n - 1) * (x_d W) + (m / n) * scale * x_d A B,    n = ||W + scale * A B||,

where x_d is the dropped-out input (x itself when dropout is off or the model does not train). Merging makes
W' the kernel. Unmerging is not possible from the merged kernel alone (n is not recoverable from W'); keep the
adapter parameters instead. HF-PEFT: peft's LoraConfig with use_dora=True.
"""

import dataclasses
from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from plmjax.peft import hf_peft_names as names
from plmjax.peft.method import HfPeftForm, MethodSpec
from plmjax.peft.methods import lora


def column_norm(kernel):
    """||kernel|| per output feature: kernel [in, out] -> [out]."""
    return jnp.sqrt(jnp.sum(jnp.square(kernel), axis=0))


@dataclasses.dataclass(frozen=True)
class Dora(lora.Lora):
    name: ClassVar[str] = "dora"
    dense_leaves: ClassVar[tuple[str, ...]] = ("lora_a", "lora_b", "dora_magnitude")

    def dense_weight_output(self, module, kernel_path, x, kernel, y):
        lora_a, lora_b = lora.low_rank_pair(module, x.shape[-1], kernel.shape[-1], self.rank)
        # m starts at the base kernel's norm (the kernel exists before the magnitude: initialised from it).
        magnitude = module.param(
            "dora_magnitude",
            nn.with_logical_partitioning(
                lambda key, shape, dtype: column_norm(kernel).astype(dtype), (module.axes[1],)
            ),
            (kernel.shape[-1],),
            lora.PARAM_DTYPE,
        )
        scale = jnp.asarray(self.scale, y.dtype)
        delta = lora_a.astype(y.dtype) @ lora_b.astype(y.dtype)
        norm = jax.lax.stop_gradient(column_norm(kernel + scale * delta))
        ratio = magnitude.astype(y.dtype) / norm
        dropped = lora.dropped_input(module, x, self.dropout)
        base = y if dropped is x else dropped @ kernel
        return y + (ratio - 1) * base + ratio * scale * ((dropped @ lora_a.astype(y.dtype)) @ lora_b.astype(y.dtype))

    def merge_weight(self, kernel_path, leaves, kernel):
        updated = kernel + self.delta(leaves)
        return updated * (leaves["dora_magnitude"] / column_norm(updated))[None, :]

    def unmerge_weight(self, kernel_path, leaves, kernel):
        raise ValueError(
            "DoRA does not unmerge: the norm of W + scale * A B is not recoverable from the merged kernel. "
            "Keep the adapted parameters (plmjax.peft.save) to go back."
        )


def settings(config, options) -> Dora:
    return Dora(**dataclasses.asdict(lora.settings(config, options)))


# --- HF-PEFT: peft's LoraConfig with use_dora=True; the magnitude is lora_magnitude_vector ---


def initialise(model, params, options, rng):
    """Every magnitude set to its kernel's norm: the adapted model starts as the base model (the magnitudes
    plmjax.peft.apply initialises come from a fresh init's kernels, not the base's)."""
    flat = traverse_util.flatten_dict(params)
    for path in [p for p in flat if p[-1] == "dora_magnitude"]:
        kernel = jnp.asarray(flat[(*path[:-1], "kernel")], jnp.float32)
        flat[path] = column_norm(kernel).astype(flat[path].dtype)
    return traverse_util.unflatten_dict(flat)


def hf_export(model, params) -> tuple[dict, dict, bool]:
    config, tensors = lora.export_pairs(model, params, model.config.peft.get("dora"))
    flat = traverse_util.flatten_dict(params)
    modules = sorted({path[:-1] for path in flat if path[-1] == "dora_magnitude"})
    for full, members in names.hf_modules_reversed(model, modules).items():
        if members[0][1].part is not None:
            raise ValueError(f"DoRA on the fused HF module {full} does not export")
        tensors[f"{full}.lora_magnitude_vector"] = np.asarray(flat[(*members[0][0], "dora_magnitude")], np.float32)
    return config | dict(use_dora=True), tensors, False


def hf_import(model, config: dict, tensors: dict):
    fields, values, consumed = lora.import_pairs(model, config, tensors)
    reverse = names.hf_modules_reversed(model, names.dense_modules(model))
    for name, vector in tensors.items():
        if name.endswith(".lora_magnitude_vector"):
            full = name[: -len(".lora_magnitude_vector")]
            (path, entry), *rest = reverse[full]
            if rest or entry.part is not None:
                raise ValueError(f"DoRA on the fused HF module {full} does not import")
            values[(*path, "dora_magnitude")] = vector
            consumed.add(name)
    return Dora(**fields), values, [r".*/lora_(a|b)", r".*/dora_magnitude"], consumed


METHODS = (
    MethodSpec(
        name="dora",
        summary="weight-decomposed LoRA: a learned magnitude per output times the LoRA-updated kernel's direction",
        defaults=dict(rank=8, alpha=8.0, dropout=0.0, targets=lora.DEFAULT_TARGETS, rslora=False),
        settings=settings,
        trainable=lambda options: [r".*/lora_(a|b)", r".*/dora_magnitude"],
        settings_class=Dora,
        initialise=initialise,
        param_names=("lora_a", "lora_b", "dora_magnitude"),
        # A magnitude decayed towards 0 switches its output feature off, as an IA3 scale would.
        no_decay=(r".*/dora_magnitude",),
        logical_axes=("lora_rank",),
        hf_peft=HfPeftForm(
            claims=lambda config: config.get("peft_type") == "LORA" and bool(config.get("use_dora")),
            export=hf_export,
            import_=hf_import,
        ),
        recipe=(5e-4, dict(rank=8, alpha=16)),
    ),
)
