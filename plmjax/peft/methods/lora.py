"""LoRA (Hu et al., 2021): a low-rank update scale * A B next to the kernels a regex picks.

y = x W + b + scale * dropout(x) A B with A [in, rank] (HF peft's kaiming-uniform init) and B [rank, out] from
zeros, so the adapted model starts as the base model; scale = alpha / rank, or alpha / sqrt(rank) for rsLoRA.
The low-rank path is computed apart from W: when W is frozen the step forms no gradient for it. Merging adds
scale * A B to W. HF-PEFT: peft's LoraConfig, GPT-2's fused c_attn as one block-diagonal pair.
"""

import dataclasses
import functools
import math
import re
from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from plmjax.peft import hf_peft_names as names
from plmjax.peft.dense_merge import DenseMerge
from plmjax.peft.method import HfPeftForm, MethodSpec

# HF peft's default for BERT-like models: the query and value projections of self-attention.
DEFAULT_TARGETS = r".*/attention/(query|value)/kernel"
# Method parameters are float32 whatever the base parameters' storage dtype (frozen weights may be bfloat16).
PARAM_DTYPE = jnp.float32


def lora_a_init(key, shape, dtype=jnp.float32):
    """HF peft's default for A: kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in))."""
    bound = 1.0 / math.sqrt(shape[0])
    return jax.random.uniform(key, shape, dtype, -bound, bound)


def low_rank_pair(module: nn.Module, features_in: int, features_out: int, rank: int):
    """(A [in, rank], B [rank, out]) parameters of a Dense module, with the kernel's logical axes."""
    in_axis, out_axis = module.axes
    lora_a = module.param(
        "lora_a", nn.with_logical_partitioning(lora_a_init, (in_axis, "lora_rank")), (features_in, rank), PARAM_DTYPE
    )
    lora_b = module.param(
        "lora_b",
        nn.with_logical_partitioning(nn.initializers.zeros_init(), ("lora_rank", out_axis)),
        (rank, features_out),
        PARAM_DTYPE,
    )
    return lora_a, lora_b


def dropped_input(module: nn.Module, x, rate: float):
    # Dropout is on while a "dropout" rng is supplied, i.e. exactly when the model trains
    # (model.apply(..., deterministic=False, rngs={"dropout": rng})).
    return nn.Dropout(rate)(x, deterministic=not module.has_rng("dropout"))


@functools.lru_cache(maxsize=256)
def compiled(pattern: str) -> re.Pattern:
    """A regex over "/"-joined parameter paths, compiled once (the models ask for every Dense at trace time)."""
    return re.compile(pattern)


def check_regex(method: str, name: str, pattern: str) -> None:
    try:
        compiled(pattern)
    except re.error as error:
        raise ValueError(f"{method} {name}={pattern!r} is not a valid regex: {error}") from None


@dataclasses.dataclass(frozen=True)
class Lora(DenseMerge):
    name: ClassVar[str] = "lora"
    dense_leaves: ClassVar[tuple[str, ...]] = ("lora_a", "lora_b")

    targets: str = DEFAULT_TARGETS
    rank: int = 8
    alpha: float = 8.0
    dropout: float = 0.0
    rslora: bool = False  # rsLoRA scales by alpha / sqrt(rank) instead of alpha / rank

    def __post_init__(self):
        check_regex(self.name, "targets", self.targets)
        if self.rank < 1:
            raise ValueError(f"{self.name} rank={self.rank} must be positive")

    @property
    def scale(self) -> float:
        return self.alpha / (math.sqrt(self.rank) if self.rslora else self.rank)

    def adapts_dense(self, kernel_path: str) -> bool:
        return compiled(self.targets).fullmatch(kernel_path) is not None

    def dense_weight_output(self, module, kernel_path, x, kernel, y):
        lora_a, lora_b = low_rank_pair(module, x.shape[-1], kernel.shape[-1], self.rank)
        lora_in = dropped_input(module, x, self.dropout)
        low_rank = (lora_in @ lora_a.astype(y.dtype)) @ lora_b.astype(y.dtype)
        return y + low_rank * jnp.asarray(self.scale, y.dtype)

    def delta(self, leaves: dict):
        """The kernel update scale * A B [in, out] of one layer's pair."""
        return self.scale * (leaves["lora_a"] @ leaves["lora_b"])

    def merge_weight(self, kernel_path, leaves, kernel):
        return kernel + self.delta(leaves)

    def unmerge_weight(self, kernel_path, leaves, kernel):
        return kernel - self.delta(leaves)


def settings(config, options) -> Lora:
    return Lora(
        targets=options["targets"],
        rank=int(options["rank"]),
        alpha=float(options["alpha"]),
        dropout=float(options["dropout"]),
        rslora=bool(options["rslora"]),
    )


# --- HF-PEFT: peft's LoraConfig ---


def export_pairs(model, params, p: Lora) -> tuple[dict, dict]:
    """(adapter config fields, {HF tensor name: torch-layout array}): the pairs of method p under peft's
    names. GPT-2's fused c_attn is one peft module: the pairs of its parts go side by side in rank, each B on
    its output slice (block-diagonal, exact), with rank_pattern / alpha_pattern keeping the scale."""
    flat = traverse_util.flatten_dict(params)
    modules = sorted({path[:-1] for path in flat if path[-1] == "lora_a"})
    tensors, rank_pattern, alpha_pattern, conv1d = {}, {}, {}, False
    for full, members in names.hf_modules_reversed(model, modules).items():
        conv1d |= members[0][1].layout == "conv1d"
        a = [np.asarray(flat[(*path, "lora_a")], np.float32) for path, _ in members]
        b = [np.asarray(flat[(*path, "lora_b")], np.float32) for path, _ in members]
        part = members[0][1].part
        if part is None:
            lora_a, lora_b = a[0], b[0]
        else:
            count, width, rank = part[1], b[0].shape[1], p.rank
            lora_a = np.concatenate(a, axis=1)
            lora_b = np.zeros((len(members) * rank, count * width), np.float32)
            for j, ((_, entry), b_j) in enumerate(zip(members, b, strict=True)):
                lora_b[j * rank : (j + 1) * rank, entry.part[0] * width : (entry.part[0] + 1) * width] = b_j
            k = len(members)
            if k > 1:
                # Same scale at rank k * rank: alpha grows with the rank (or with its square root for rsLoRA).
                rank_pattern[full] = k * rank
                alpha_pattern[full] = p.alpha * (math.sqrt(k) if p.rslora else k)
        tensors[f"{full}.lora_A.weight"] = lora_a.T
        tensors[f"{full}.lora_B.weight"] = lora_b.T
    config = dict(
        peft_type="LORA",
        r=p.rank,
        lora_alpha=p.alpha,
        lora_dropout=p.dropout,
        use_rslora=p.rslora,
        target_modules=sorted({k.rsplit(".lora_", 1)[0] for k in tensors}),
        rank_pattern=rank_pattern,
        alpha_pattern=alpha_pattern,
        fan_in_fan_out=conv1d,
        bias="none",
        use_dora=False,
        init_lora_weights=True,
    )
    return config, tensors


def hf_export(model, params) -> tuple[dict, dict, bool]:
    return *export_pairs(model, params, model.config.peft.get("lora")), False


def _pattern_value(pattern: dict, name: str, default):
    """peft's rank_pattern / alpha_pattern lookup: a key matches a module name's dotted suffix."""
    for key, value in (pattern or {}).items():
        if re.match(rf"(.*\.)?({key})$", name):
            return value
    return default


def import_pairs(model, config: dict, tensors: dict) -> tuple[dict, dict, set]:
    """(settings fields, {parameter path: array}, consumed names) of the LoRA pairs of a peft adapter.

    Per-module ranks or scales (rank_pattern, alpha_pattern) are exact in plmjax's one rank and scale: A and B
    are zero-padded to the largest rank and each module's scale is folded into its B."""
    if config.get("lora_bias"):
        raise ValueError("LoRA with lora_bias=True is not implemented in plmjax")
    if config.get("bias", "none") != "none":
        raise ValueError(f"LoRA with trained biases (bias={config['bias']!r}) does not import into plmjax")
    rslora = bool(config.get("use_rslora", False))
    pairs = {}
    for name in tensors:
        if name.endswith(".lora_A.weight"):
            full = name[: -len(".lora_A.weight")]
            rank = _pattern_value(config.get("rank_pattern"), full, config["r"])
            alpha = _pattern_value(config.get("alpha_pattern"), full, config["lora_alpha"])
            scale = alpha / (math.sqrt(rank) if rslora else rank)
            pairs[full] = (tensors[name].T, tensors[f"{full}.lora_B.weight"].T, scale)
    reverse = names.hf_modules_reversed(model, names.dense_modules(model))
    unknown = sorted(set(pairs) - set(reverse))
    if unknown:
        raise ValueError(f"LoRA modules the model does not have: {unknown[:10]}")
    ranks = {a.shape[1] for a, _, _ in pairs.values()}
    scales = {s for _, _, s in pairs.values()}
    uniform = len(ranks) == 1 and len(scales) == 1
    rank = max(ranks)
    values, kernels = {}, []
    for full, (a, b, scale) in pairs.items():
        if not uniform:
            a = np.pad(a, ((0, 0), (0, rank - a.shape[1])))
            b = np.pad(b * scale, ((0, rank - b.shape[0]), (0, 0)))
        for path, entry in reverse[full]:
            piece = b if entry.part is None else np.split(b, entry.part[1], axis=1)[entry.part[0]]
            values[(*path, "lora_a")], values[(*path, "lora_b")] = a, piece
            kernels.append("/".join(path) + "/kernel")
    scale = scales.pop() if uniform else 1.0
    fields = dict(
        targets=names.exact_regex(kernels),
        rank=rank,
        # The alpha giving each module's scale at this rank (1 after folding per-module scales into B).
        alpha=float(scale * (math.sqrt(rank) if rslora and uniform else rank)),
        dropout=float(config.get("lora_dropout", 0.0)),
        rslora=rslora and uniform,
    )
    consumed = {f"{full}.lora_{x}.weight" for full in pairs for x in "AB"}
    return fields, values, consumed


def hf_import(model, config: dict, tensors: dict):
    fields, values, consumed = import_pairs(model, config, tensors)
    return Lora(**fields), values, [r".*/lora_(a|b)"], consumed


METHODS = (
    MethodSpec(
        name="lora",
        summary="low-rank updates scale * A B on the kernels matching `targets` (B starts at zero)",
        # HF peft's defaults (r=8, lora_alpha=8, lora_dropout=0).
        defaults=dict(rank=8, alpha=8.0, dropout=0.0, targets=DEFAULT_TARGETS, rslora=False),
        settings=settings,
        trainable=lambda options: [r".*/lora_(a|b)"],
        settings_class=Lora,
        param_names=("lora_a", "lora_b"),
        logical_axes=("lora_rank",),
        hf_peft=HfPeftForm(
            claims=lambda config: config.get("peft_type") == "LORA" and not config.get("use_dora"),
            export=hf_export,
            import_=hf_import,
        ),
        # The rate the LoRA paper uses for RoBERTa-base-sized models; query and value of every layer.
        recipe=(5e-4, dict(rank=8, alpha=16)),
    ),
)
