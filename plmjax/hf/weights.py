"""HF state dict <-> plmjax parameters, strict by default.

Import rules (one family map decides every name):
- backbone tensors the model needs must all be present;
- a head the checkpoint lacks entirely is initialised fresh and reported; a half-present head is an error;
- tensors of the family's other heads are dropped and reported (loading a pretraining checkpoint for
  classification is the normal case);
- a tensor the family map does not know is an error (strict) or a warning (strict=False);
- a shape mismatch is an error naming the tensor and both shapes;
- tied copies (decoder weights equal to the embeddings) must really be equal.
"""

import dataclasses
import logging
import re

import flax.linen as nn
import jax
import numpy as np
from flax import traverse_util

from plmjax.hf.name_map import (
    FINE_TUNING_HEADS,
    FamilySpec,
    add_prefix,
    entry_for,
    from_hf_layout,
    strip_prefix,
    to_hf_layout,
)
from plmjax.models.model_classes import HEADS_BY_FAMILY

log = logging.getLogger("plmjax")


class CheckpointMismatchError(ValueError):
    """The checkpoint and the model disagree; the message lists every disagreement."""


@dataclasses.dataclass
class LoadReport:
    loaded: list = dataclasses.field(default_factory=list)
    initialised: dict = dataclasses.field(default_factory=dict)  # component -> plmjax paths
    dropped: list = dataclasses.field(default_factory=list)  # known tensors of heads not asked for
    unknown: list = dataclasses.field(default_factory=list)  # only with strict=False


def _listing(names, limit=20) -> str:
    names = sorted(names)
    shown = "\n  ".join(names[:limit])
    more = f"\n  ... and {len(names) - limit} more" if len(names) > limit else ""
    return f"\n  {shown}{more}"


def known_names(spec: FamilySpec, config) -> set[str]:
    """Every canonical HF name this family's map can produce, over all of its heads."""
    names = set()
    for head in HEADS_BY_FAMILY[config.family]:
        for entry in spec.module_map(config, head).values():
            # A module entry yields .weight/.bias; an entry naming one parameter is the name itself.
            names |= {entry.hf_name, f"{entry.hf_name}.weight", f"{entry.hf_name}.bias"}
    return names


def params_from_state_dict(spec: FamilySpec, model: nn.Module, state: dict, strict: bool = True, rng=None):
    """(params, LoadReport) for `model` from an HF state dict; raises CheckpointMismatchError."""
    config, head = model.config, model.head
    modules = spec.module_map(config, head)
    abstract = traverse_util.flatten_dict(
        nn.meta.unbox(jax.eval_shape(model.init, jax.random.key(0), model.dummy_inputs())["params"])
    )
    file_names = strip_prefix(state.keys(), spec)
    report = LoadReport()
    problems = []

    # canonical HF name -> (component, [(plmjax path, map entry)]); a fused HF tensor has several paths.
    expected = {}
    for path in abstract:
        try:
            entry, name = entry_for(path, modules)
        except KeyError:
            raise AssertionError(f"the {spec.model_type} name map has no entry for {'/'.join(path)}") from None
        expected.setdefault(name, (entry.component, []))[1].append((path, entry))

    tied = spec.tied_copies(config)
    unused = set(file_names) - set(expected)
    for name in list(unused):
        if name in spec.buffers or any(re.fullmatch(pattern, name) for pattern in spec.buffer_patterns):
            unused.discard(name)
        elif name in tied:
            unused.discard(name)
            source = tied[name]
            differs = source in file_names and not np.array_equal(state[file_names[name]], state[file_names[source]])
            # A differing tied matrix is a different model; a differing bias copy is one transformers 5
            # leaves stale in untied models, unused by its forward pass.
            if differs and name.endswith(".weight"):
                problems.append(
                    f"{file_names[name]} should be a tied copy of {file_names[source]} but differs; "
                    "load with tie_word_embeddings=False to keep a separate decoder"
                )
    known = known_names(spec, config)
    report.dropped = sorted(file_names[n] for n in unused if n in known)
    unknown = sorted(file_names[n] for n in unused if n not in known)
    if unknown:
        if strict:
            problems.append(
                f"{len(unknown)} tensors in the file are unknown to the {spec.model_type} map:{_listing(unknown)}"
            )
        else:
            report.unknown = unknown
            log.warning("ignoring %d unknown tensors (strict=False):%s", len(unknown), _listing(unknown))

    missing_by_component = {}
    for name, (component, members) in expected.items():
        if name not in file_names:
            missing_by_component.setdefault(component, []).append((members, name))
    fresh_components = []
    for component, missing in missing_by_component.items():
        wanted = [n for n, (c, _) in expected.items() if c == component]
        if component != "backbone" and len(missing) == len(wanted):
            fresh_components.append(component)
            report.initialised[component] = sorted("/".join(p) for members, _ in missing for p, _ in members)
        else:
            problems.append(
                f"{len(missing)} {component} tensors the model needs are missing:{_listing(n for _, n in missing)}"
            )

    loaded = {}
    for name, (_, members) in expected.items():
        if name not in file_names:
            continue
        members = sorted(members, key=lambda member: member[1].part or (0, 1))
        path, layout, heads = members[0][0], members[0][1].layout, members[0][1].heads
        value = from_hf_layout(path, state[file_names[name]], layout)
        want = fused_shape([abstract[p].shape for p, _ in members])
        if tuple(value.shape) != want:
            hf_shape = tuple(to_hf_layout(path, np.zeros(want, np.int8), layout, heads).shape)
            problems.append(
                f"{file_names[name]} has shape {tuple(state[file_names[name]].shape)} but the model needs "
                f"{hf_shape} (plmjax parameter {', '.join('/'.join(p) for p, _ in members)})"
            )
            continue
        for (member_path, _), piece in zip(members, np.split(value, len(members), axis=-1), strict=True):
            loaded[member_path] = np.asarray(piece, dtype=abstract[member_path].dtype)
        report.loaded.append(name)

    if problems:
        raise CheckpointMismatchError(
            f"checkpoint does not fit {spec.model_type} head={head!r}:\n" + "\n".join(problems)
        )

    if fresh_components:
        fresh = traverse_util.flatten_dict(
            nn.meta.unbox(
                jax.jit(model.init)(rng if rng is not None else jax.random.key(0), model.dummy_inputs())["params"]
            )
        )
        for component in fresh_components:
            log.log(
                logging.INFO if component in FINE_TUNING_HEADS else logging.WARNING,
                "the checkpoint has no %s weights: initialised %d new parameters (%s); train them before use",
                component,
                len(report.initialised[component]),
                ", ".join(report.initialised[component]),
            )
        for path in abstract:
            if path not in loaded:
                loaded[path] = np.asarray(fresh[path])
    if report.dropped:
        log.info(
            "dropped %d tensors of heads not used by head=%r:%s", len(report.dropped), head, _listing(report.dropped)
        )
    params = traverse_util.unflatten_dict({p: jax.numpy.asarray(v) for p, v in loaded.items()})
    return params, report


def fused_shape(shapes) -> tuple[int, ...]:
    """Shape of equal parameters concatenated along their last axis (the output features)."""
    first = tuple(shapes[0])
    return first[:-1] + (first[-1] * len(shapes),)


def state_dict_from_params(spec: FamilySpec, model: nn.Module, params) -> dict[str, np.ndarray]:
    """Full HF names (base prefix inside head models) -> torch-layout arrays."""
    modules = spec.module_map(model.config, model.head)
    parts = {}  # canonical HF name -> (component, layout, {part index: plmjax-layout array})
    for path, value in traverse_util.flatten_dict(params).items():
        entry, name = entry_for(path, modules)
        index = entry.part[0] if entry.part else 0
        parts.setdefault(name, (entry, path, {}))[2][index] = np.asarray(value)
    canonical = {}
    for name, (entry, path, pieces) in parts.items():
        value = np.concatenate([pieces[i] for i in sorted(pieces)], axis=-1) if len(pieces) > 1 else pieces[0]
        canonical[name] = (entry.component, to_hf_layout(path, value, entry.layout, entry.heads))
    # transformers expects the bias copies as tensors of their own; tied matrices it re-ties itself.
    for copy, source in spec.tied_copies(model.config).items():
        if copy.endswith(".bias") and source in canonical:
            canonical[copy] = canonical[source]
    return {add_prefix(name, component, spec, model.head): value for name, (component, value) in canonical.items()}
