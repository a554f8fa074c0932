"""IA3 (Liu et al., 2022): learned vectors rescaling keys, values and the feed-forward activation.

A vector l (from ones) scales a kernel's output, y = (x W + b) * l (keys, values), or, for the feed-forward
output projection, its input, y = (x * l) W + b, which is the activation. Merging folds l into W (and b).
HF-PEFT: peft's IA3Config (feedforward_modules are the input-scaled ones).
"""

import dataclasses
from typing import ClassVar

import flax.linen as nn
import numpy as np
from flax import traverse_util

from plmjax.peft import hf_peft_names as names
from plmjax.peft.dense_merge import DenseMerge
from plmjax.peft.method import HfPeftForm, MethodSpec
from plmjax.peft.methods.lora import PARAM_DTYPE, check_regex, compiled

# Keys and values of every attention (cross-attention included), and the feed-forward output projection.
DEFAULT_TARGETS = r".*/(attention|cross_attention)/(key|value)/kernel|.*/mlp/output/kernel"
# Of those, the kernels whose input is scaled: the feed-forward output projection reads the activation.
DEFAULT_INPUT_TARGETS = r".*/mlp/output/kernel"


def _scale(module: nn.Module, features: int, axis: str):
    init = nn.with_logical_partitioning(nn.initializers.ones_init(), (axis,))
    return module.param("ia3_scale", init, (features,), PARAM_DTYPE)


@dataclasses.dataclass(frozen=True)
class Ia3(DenseMerge):
    name: ClassVar[str] = "ia3"
    dense_leaves: ClassVar[tuple[str, ...]] = ("ia3_scale",)

    targets: str = DEFAULT_TARGETS
    input_targets: str = DEFAULT_INPUT_TARGETS

    def __post_init__(self):
        check_regex(self.name, "targets", self.targets)
        check_regex(self.name, "input_targets", self.input_targets)

    def adapts_dense(self, kernel_path: str) -> bool:
        return compiled(self.targets).fullmatch(kernel_path) is not None

    def scales_input(self, kernel_path: str) -> bool:
        """Whether IA3 scales this kernel's input (else its output)."""
        return bool(self.input_targets) and compiled(self.input_targets).fullmatch(kernel_path) is not None

    def dense_input(self, module, kernel_path, x):
        if not self.scales_input(kernel_path):
            return x
        return x * _scale(module, x.shape[-1], module.axes[0]).astype(x.dtype)

    def dense_output(self, module, kernel_path, y):
        if self.scales_input(kernel_path):
            return y
        return y * _scale(module, y.shape[-1], module.axes[1]).astype(y.dtype)

    def merge_input(self, kernel_path, leaves, kernel):
        return leaves["ia3_scale"][:, None] * kernel if self.scales_input(kernel_path) else kernel

    def merge_output(self, kernel_path, leaves, kernel, bias):
        if self.scales_input(kernel_path):
            return kernel, bias
        scale = leaves["ia3_scale"]
        return kernel * scale[None, :], None if bias is None else bias * scale

    def unmerge_input(self, kernel_path, leaves, kernel):
        return kernel / leaves["ia3_scale"][:, None] if self.scales_input(kernel_path) else kernel

    def unmerge_output(self, kernel_path, leaves, kernel, bias):
        if self.scales_input(kernel_path):
            return kernel, bias
        scale = leaves["ia3_scale"]
        return kernel / scale[None, :], None if bias is None else bias / scale


def settings(config, options) -> Ia3:
    return Ia3(targets=options["targets"], input_targets=options["input_targets"])


# --- HF-PEFT: peft's IA3Config ---


def hf_export(model, params) -> tuple[dict, dict, bool]:
    p = model.config.peft.get("ia3")
    flat = traverse_util.flatten_dict(params)
    modules = sorted({path[:-1] for path in flat if path[-1] == "ia3_scale"})
    tensors, feedforward, conv1d = {}, [], False
    for full, members in names.hf_modules_reversed(model, modules).items():
        conv1d |= members[0][1].layout == "conv1d"
        inputs = {p.scales_input("/".join(path) + "/kernel") for path, _ in members}
        vectors = [np.asarray(flat[(*path, "ia3_scale")], np.float32) for path, _ in members]
        if inputs == {True}:
            if len(members) > 1 or members[0][1].part is not None:
                raise ValueError(f"input-scaling IA3 on the fused HF module {full} does not export")
            tensors[f"{full}.ia3_l"] = vectors[0][None, :]
            feedforward.append(full)
            continue
        part = members[0][1].part
        if part is None:
            vector = vectors[0]
        else:
            # A fused HF module: one vector over all parts, ones where plmjax has none.
            width = vectors[0].shape[0]
            vector = np.ones(part[1] * width, np.float32)
            for (_, entry), v in zip(members, vectors, strict=True):
                vector[entry.part[0] * width : (entry.part[0] + 1) * width] = v
        tensors[f"{full}.ia3_l"] = vector[:, None]
    targets = sorted(k.rsplit(".ia3_l", 1)[0] for k in tensors)
    config = dict(
        peft_type="IA3",
        target_modules=targets,
        feedforward_modules=sorted(feedforward),
        fan_in_fan_out=conv1d,
        init_ia3_weights=True,
    )
    return config, tensors, False


def hf_import(model, config: dict, tensors: dict):
    reverse = names.hf_modules_reversed(model, names.dense_modules(model))
    values, outputs, inputs, consumed = {}, [], [], set()
    for name, vector in tensors.items():
        if not name.endswith(".ia3_l"):
            continue
        full = name[: -len(".ia3_l")]
        if full not in reverse:
            raise ValueError(f"IA3 module the model does not have: {full}")
        consumed.add(name)
        scales_input = vector.shape[0] == 1
        for path, entry in reverse[full]:
            kernel = "/".join(path) + "/kernel"
            if scales_input:
                values[(*path, "ia3_scale")] = vector[0]
                inputs.append(kernel)
            else:
                column = vector[:, 0]
                values[(*path, "ia3_scale")] = (
                    column if entry.part is None else np.split(column, entry.part[1])[entry.part[0]]
                )
            outputs.append(kernel)
    method = Ia3(targets=names.exact_regex(outputs), input_targets=names.exact_regex(inputs) if inputs else "")
    return method, values, [r".*/ia3_scale"], consumed


METHODS = (
    MethodSpec(
        name="ia3",
        summary="vectors scaling keys, values (kernel outputs) and the feed-forward activation (kernel input)",
        defaults=dict(targets=DEFAULT_TARGETS, input_targets=DEFAULT_INPUT_TARGETS),
        settings=settings,
        trainable=lambda options: [r".*/ia3_scale"],
        settings_class=Ia3,
        param_names=("ia3_scale",),
        # Decaying the scales pulls them towards 0, i.e. switches units off.
        no_decay=(r".*/ia3_scale",),
        hf_peft=HfPeftForm(claims=lambda config: config.get("peft_type") == "IA3", export=hf_export, import_=hf_import),
        recipe=(3e-3, {}),
    ),
)
