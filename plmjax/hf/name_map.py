"""The engine behind every family's explicit name map.

A family map pairs each plmjax module path ("encoder/layers_0/attention/query") with the HF module
name it corresponds to ("encoder.layer.0.attention.self.query") and the component it belongs to
(backbone, pooler, or a head). Leaves follow one fixed rule: kernel <-> weight (transposed), bias <->
bias, scale <-> weight, embedding <-> weight. A map entry may also name a single parameter
("mlm_head/bias" -> "cls.predictions.bias").

An entry's layout says how HF stores the tensor: "linear" (torch Linear, kernels transposed), "conv1d"
(GPT-2's Conv1D, kernels stored [in, out] like plmjax) or "row" (a vector stored as [1, n], BART's
final_logits_bias), "heads_in" or "heads_out" (XLNet's [hidden, heads, head_dim] tensors, for a kernel
[hidden, heads * head_dim] or [heads * head_dim, hidden]; the entry says how many heads). An entry with a part
(index, count) is one of count equal slices, along the output
features, of a fused HF tensor (GPT-2's c_attn holds query, key and value).

HF names here are canonical: the backbone without its base-model prefix ("bert."), heads as they are.
"""

import dataclasses
from collections.abc import Callable

import numpy as np

from plmjax.models.config import TransformerConfig

LEAF_TO_HF = {"kernel": "weight", "bias": "bias", "scale": "weight", "embedding": "weight"}
BASE_COMPONENTS = ("backbone", "pooler")
# Task heads fine-tuning starts from scratch: a checkpoint without them is the usual case, not a problem.
FINE_TUNING_HEADS = ("classifier", "token_classifier", "span")


LAYOUTS = ("linear", "conv1d", "row", "heads_in", "heads_out")


@dataclasses.dataclass(frozen=True)
class Entry:
    component: str
    hf_name: str
    layout: str = "linear"
    part: tuple[int, int] | None = None
    heads: int = 0  # the heads of a "heads_in" or "heads_out" tensor

    def __post_init__(self):
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout {self.layout!r} is not one of {LAYOUTS}")


@dataclasses.dataclass(frozen=True)
class FamilySpec:
    """Everything plmjax needs to move one HF family's weights and config in and out."""

    model_type: str
    base_prefix: str
    # HF class per plmjax head, written to config.json "architectures".
    architectures: dict
    config_from_hf: Callable[[dict], TransformerConfig]
    config_to_hf: Callable[[TransformerConfig], dict]
    # (config, head) -> {plmjax module or parameter path: Entry}
    module_map: Callable[[TransformerConfig, str | None], dict]
    # config -> {HF name that is a tied copy: HF name of the tensor it copies}
    tied_copies: Callable[[TransformerConfig], dict]
    # Non-parameter buffers some checkpoints carry (e.g. embeddings.position_ids).
    buffers: tuple[str, ...] = ()
    # Regular expressions (re.fullmatch) for per-layer buffers (GPT-2's h.<i>.attn.bias causal masks).
    buffer_patterns: tuple[str, ...] = ()
    # (config, state dict) -> config, for what config.json can misreport (T5 tying under transformers 5).
    config_from_weights: Callable[[TransformerConfig, dict], TransformerConfig] | None = None


def entry_for(path: tuple[str, ...], modules: dict) -> tuple[Entry, str]:
    """(map entry, HF name) of one plmjax parameter path; KeyError if the map has no entry."""
    joined = "/".join(path)
    if joined in modules:
        entry = modules[joined]
        return entry, entry.hf_name
    entry = modules["/".join(path[:-1])]
    return entry, f"{entry.hf_name}.{LEAF_TO_HF[path[-1]]}"


def to_hf_layout(path: tuple[str, ...], value: np.ndarray, layout: str = "linear", heads: int = 0) -> np.ndarray:
    """plmjax Dense kernels are [in, out]; torch Linear weights are [out, in], Conv1D weights [in, out]."""
    if layout == "row":
        return value[None]
    if layout == "heads_in":
        return value.reshape(value.shape[0], heads, -1)
    if layout == "heads_out":
        return value.T.reshape(value.shape[1], heads, -1)
    return value.T if layout == "linear" and path[-1] == "kernel" and value.ndim == 2 else value


def from_hf_layout(path: tuple[str, ...], value: np.ndarray, layout: str = "linear") -> np.ndarray:
    if layout == "row":
        return value[0] if value.ndim == 2 and value.shape[0] == 1 else value
    if layout in ("heads_in", "heads_out") and value.ndim == 3:
        kernel = value.reshape(value.shape[0], -1)
        return kernel if layout == "heads_in" else kernel.T
    return value.T if layout == "linear" and path[-1] == "kernel" and value.ndim == 2 else value


def add_prefix(name: str, component: str, spec: FamilySpec, head: str | None) -> str:
    """Full HF name: base-model tensors carry the base prefix inside head models (T5 has none: "")."""
    if head is not None and spec.base_prefix and component in BASE_COMPONENTS:
        return f"{spec.base_prefix}.{name}"
    return name


def strip_prefix(names, spec: FamilySpec) -> dict[str, str]:
    """{canonical name: name in the file}."""
    if not spec.base_prefix:
        return {n: n for n in names}
    prefix = spec.base_prefix + "."
    return {(n[len(prefix) :] if n.startswith(prefix) else n): n for n in names}


def layer_entries(ours: str, hf: str, parts: dict[str, str]) -> dict[str, Entry]:
    """One layer's backbone entries: `parts` maps our module path under `ours` to HF's module name under `hf`."""
    return {f"{ours}/{mine}": Entry("backbone", f"{hf}.{theirs}") for mine, theirs in parts.items()}


def shared_embedding_copies(c) -> dict[str, str]:
    """Encoder-decoder checkpoints (BART, T5) repeat the shared token embedding under each stack, and as the
    LM head when it is tied: those names are copies of `shared.weight`."""
    copies = {"encoder.embed_tokens.weight": "shared.weight", "decoder.embed_tokens.weight": "shared.weight"}
    if c.tie_word_embeddings:
        copies["lm_head.weight"] = "shared.weight"
    return copies
