"""What every method's HF-PEFT form shares: HF module names of plmjax Dense layers through the family's HF
name map (plmjax.hf.families), the task type, and the task head (peft's modules_to_save).

Names here are without peft's "base_model.model." / "base_model." prefix. The methods' own tensors are in
their files (plmjax/peft/methods/).
"""

import re

import numpy as np
from flax import traverse_util

from plmjax.peft.method import TASK_HEADS
from plmjax.peft.shapes import abstract_params

TASK_TYPES = {
    ("encoder", "classification"): "SEQ_CLS",
    ("encoder", "token_classification"): "TOKEN_CLS",
    ("encoder", "span"): "QUESTION_ANS",
    ("encoder", None): "FEATURE_EXTRACTION",
    ("decoder", "lm"): "CAUSAL_LM",
    ("decoder", "classification"): "SEQ_CLS",
    ("decoder", None): "FEATURE_EXTRACTION",
    ("seq2seq", "lm"): "SEQ_2_SEQ_LM",
    ("seq2seq", "classification"): "SEQ_CLS",
    ("seq2seq", None): "FEATURE_EXTRACTION",
}


def _spec(model):
    from plmjax.hf.families import SPECS

    return SPECS[model.config.family]


def _kind(model) -> str:
    c = model.config
    return "seq2seq" if c.is_encoder_decoder else ("decoder" if c.family == "gpt2" else "encoder")


def task_type(model) -> str | None:
    return TASK_TYPES.get((_kind(model), model.head))


def hf_module(model, module_path: tuple[str, ...]):
    """(map entry, full HF module name) of a plmjax Dense module path."""
    from plmjax.hf.name_map import add_prefix

    spec = _spec(model)
    entry = spec.module_map(model.config, model.head)["/".join(module_path)]
    return entry, add_prefix(entry.hf_name, entry.component, spec, model.head)


def hf_modules_reversed(model, module_paths) -> dict[str, list]:
    """{full HF module name: [(plmjax module path, entry), ...] sorted by fused part}."""
    reverse = {}
    for path in module_paths:
        entry, full = hf_module(model, path)
        reverse.setdefault(full, []).append((path, entry))
    return {k: sorted(v, key=lambda member: member[1].part or (0, 1)) for k, v in reverse.items()}


def dense_modules(model) -> list[tuple[str, ...]]:
    """Module paths of every Dense kernel of the model (base parameters)."""
    return [p[:-1] for p in abstract_params(model) if p[-1] == "kernel"]


def exact_regex(paths) -> str:
    return "(" + "|".join(re.escape(p) for p in sorted(paths)) + ")"


# --- task head (peft's modules_to_save) ---


def head_tensors(model, head_flat: dict) -> tuple[list[str], dict]:
    """(modules_to_save, {full HF name: array}) of task-head parameters {path tuple: array}."""
    from plmjax.hf.weights import state_dict_from_params

    if not head_flat:
        return [], {}
    tensors = state_dict_from_params(_spec(model), model, traverse_util.unflatten_dict(head_flat))
    return sorted({name.split(".")[0] for name in tensors}), {k: np.asarray(v) for k, v in tensors.items()}


def head_in(model, tensors: dict) -> tuple[dict, set]:
    """({task-head path: array}, consumed names) for the head tensors an adapter carries (all or none)."""
    from plmjax.hf.name_map import add_prefix, entry_for, from_hf_layout

    spec = _spec(model)
    modules = spec.module_map(model.config, model.head)
    values, wanted = {}, []
    for path in abstract_params(model):
        if not re.fullmatch(TASK_HEADS, "/".join(path)):
            continue
        entry, name = entry_for(path, modules)
        full = add_prefix(name, entry.component, spec, model.head)
        wanted.append(full)
        if full in tensors:
            values[path] = from_hf_layout(path, tensors[full], entry.layout)
    if values and len(values) != len(wanted):
        raise ValueError(f"the adapter holds part of the task head: {sorted(set(wanted) - set(tensors))} missing")
    return values, set(wanted) & set(tensors)
