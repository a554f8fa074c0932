"""The device mesh, the logical axis rules, and the shardings of parameters, optimizer state and batches.

Parameters carry logical axis names ("embed", "mlp", ...). One rules table maps each name to a mesh axis of
("data", "fsdp", "tensor"): with fsdp = tensor = 1 (the default) every parameter is replicated and batches
split over "data" (data parallelism); a larger "fsdp" shards the model dimension of every matrix, a larger
"tensor" shards heads, MLP width and vocabulary (Megatron-style tensor parallelism).
"""

import logging
import math

import flax.linen as nn
import jax
import numpy as np
from flax import traverse_util
from jax.experimental import mesh_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from plmjax.models.lstm import LSTM_AXES
from plmjax.peft.methods import METHODS

MESH_AXES = ("data", "fsdp", "tensor")
BATCH_AXES = ("data", "fsdp")

LOGICAL_AXIS_RULES = {
    "batch": BATCH_AXES,
    "embed": "fsdp",
    "embed_in": "fsdp",
    "embed_out": "tensor",
    "heads": "tensor",
    "kv": None,
    "mlp": "tensor",
    "vocab": "tensor",
    "positions": None,
    "token_types": None,
    "labels": None,
    "relpos_buckets": None,
    # LSTMs (ELMo, CoVe: plmjax.models.lstm) are small next to a transformer: replicated.
    **{axis: None for axis in LSTM_AXES},
    # PEFT parameters are small: the axes each method names (plmjax.peft.METHODS) are replicated.
    **{axis: None for spec in METHODS.values() for axis in spec.logical_axes},
}

_warned_names: set[str] = set()


def make_mesh(mesh_config, devices=None) -> Mesh:
    """A ("data", "fsdp", "tensor") mesh; one size may be -1 (all devices the others leave)."""
    devices = jax.devices() if devices is None else devices
    sizes = [int(mesh_config.data), int(mesh_config.fsdp), int(mesh_config.tensor)]
    if sizes.count(-1) > 1:
        raise ValueError(f"at most one mesh axis may be -1; got data/fsdp/tensor = {sizes}")
    known = math.prod(s for s in sizes if s != -1)
    if -1 in sizes:
        if len(devices) % known:
            raise ValueError(f"{len(devices)} devices do not divide into mesh axes {sizes}")
        sizes[sizes.index(-1)] = len(devices) // known
    if math.prod(sizes) != len(devices):
        raise ValueError(f"mesh data/fsdp/tensor = {sizes} needs {math.prod(sizes)} devices; there are {len(devices)}")
    device_grid = mesh_utils.create_device_mesh(sizes, devices=devices, allow_split_physical_axes=True)
    return Mesh(device_grid, MESH_AXES)


def mesh_axes_for(logical_name: str | None):
    if logical_name is None:
        return None
    if logical_name not in LOGICAL_AXIS_RULES:
        if logical_name not in _warned_names:
            _warned_names.add(logical_name)
            logging.warning("logical axis %r has no sharding rule; it stays replicated", logical_name)
        return None
    return LOGICAL_AXIS_RULES[logical_name]


def _axis_size(mesh: Mesh, axes) -> int:
    axes = (axes,) if isinstance(axes, str) else axes
    return math.prod(mesh.shape[a] for a in axes)


def spec_for(mesh: Mesh, shape, logical_names) -> PartitionSpec:
    """The PartitionSpec of one array; a dimension its mesh axes do not divide (or that reuses an axis) stays
    replicated, so any model fits any mesh."""
    spec, used = [], set()
    for size, name in zip(shape, logical_names, strict=True):
        axes = mesh_axes_for(name)
        flat = () if axes is None else ((axes,) if isinstance(axes, str) else tuple(axes))
        flat = tuple(a for a in flat if mesh.shape[a] > 1 and a not in used)
        if not flat or size % _axis_size(mesh, flat):
            spec.append(None)
            continue
        used.update(flat)
        spec.append(flat[0] if len(flat) == 1 else flat)
    return PartitionSpec(*spec)


def param_shardings(mesh: Mesh, boxed_abstract_params):
    """NamedShardings for a parameter tree whose leaves are nn.LogicallyPartitioned (from abstract_params)."""

    def leaf_sharding(leaf):
        if isinstance(leaf, nn.LogicallyPartitioned):
            names, value = leaf.names, leaf.value
        else:
            names, value = (None,) * len(leaf.shape), leaf
        return NamedSharding(mesh, spec_for(mesh, value.shape, names))

    return jax.tree.map(leaf_sharding, boxed_abstract_params, is_leaf=lambda x: isinstance(x, nn.LogicallyPartitioned))


def state_shardings_like(mesh: Mesh, abstract_state, abstract_params, params_shardings):
    """Shardings for an optimizer state: a leaf whose path ends with a parameter's path and has its shape takes
    that parameter's sharding (Adam's moments, momentum); everything else (counts, factored Adafactor
    statistics) is replicated."""
    shapes = traverse_util.flatten_dict(abstract_params)
    shardings = traverse_util.flatten_dict(params_shardings)
    replicated_sharding = replicated(mesh)

    def leaf_sharding(path, leaf):
        keys = tuple(getattr(p, "key", getattr(p, "name", None)) for p in path)
        for start in range(len(keys)):
            param = shapes.get(keys[start:])
            if param is not None and tuple(param.shape) == tuple(leaf.shape):
                return shardings[keys[start:]]
        return replicated_sharding

    return jax.tree_util.tree_map_with_path(leaf_sharding, abstract_state)


def batch_sharding(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec(BATCH_AXES))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec())


def global_batch(mesh: Mesh, local_batch: dict) -> dict:
    """Global arrays from this process's rows (its slice of the global batch, in process order)."""
    sharding = batch_sharding(mesh)
    return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v)) for k, v in local_batch.items()}


def put_host_tree(tree, shardings):
    """Host (numpy) arrays, the same on every process, as global arrays with the given shardings."""

    def put(value, sharding):
        value = np.asarray(value)
        return jax.make_array_from_callback(value.shape, sharding, lambda index: value[index])

    return jax.tree.map(put, tree, shardings)
