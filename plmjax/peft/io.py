"""Save and load only the trainable parameters of a PEFT model, with a reference to the base they adapt.

A saved adapter is a directory:
  trainable.safetensors  the trainable subtree ("/"-joined parameter paths), nothing else: its size is the
                         trainable parameters' size
  peft.json              the PeftConfig, the rules, the model's head, and the base: an optional reference
                         (e.g. the HF directory and the sha256 of its weight files) plus a sha256 of the frozen
                         parameters, checked on load so an adapter never lands silently on the wrong base
Loading it onto the same base gives the saved model's outputs exactly.
"""

import glob
import hashlib
import json
import os

import jax
import numpy as np
from flax import traverse_util

from plmjax.models.hooks import PeftConfig
from plmjax.peft.adapting import add_parameters
from plmjax.peft.methods import SETTINGS_CLASSES
from plmjax.peft.rules import mask
from plmjax.peft.trainable_file import TRAINABLE_FILE, read_trainable

META_FILE = "peft.json"
# 2: config.peft as a list of methods (plmjax.models.hooks.PeftConfig.describe); 1 had one flat set of fields.
FORMAT = "plmjax-peft/2"
WEIGHT_FILE_PATTERNS = ("model*.safetensors", "pytorch_model*.bin")


def split_trainable(params, rules):
    """(trainable, frozen) flat dicts {path tuple: array}."""
    flat = traverse_util.flatten_dict(params)
    flat_mask = traverse_util.flatten_dict(mask(params, rules, allow_unused_rules=True))
    return {p: v for p, v in flat.items() if flat_mask[p]}, {p: v for p, v in flat.items() if not flat_mask[p]}


def params_sha256(flat: dict) -> str:
    """One sha256 over paths, dtypes, shapes and bytes, in path order."""
    digest = hashlib.sha256()
    for path in sorted(flat):
        value = np.asarray(jax.device_get(flat[path]))
        digest.update(f"{'/'.join(path)}:{value.dtype}:{value.shape};".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


def hf_directory_reference(path: str) -> dict:
    """A base reference to an HF model directory: its path and one sha256 over its weight files."""
    digest = hashlib.sha256()
    files = sorted(f for pattern in WEIGHT_FILE_PATTERNS for f in glob.glob(os.path.join(path, pattern)))
    if not files:
        raise FileNotFoundError(f"{path} has no weight files ({', '.join(WEIGHT_FILE_PATTERNS)})")
    for file in files:
        with open(file, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                digest.update(chunk)
    return {"path": os.path.abspath(path), "weights_sha256": digest.hexdigest()}


def peft_config_from(described: list[dict]) -> PeftConfig:
    """The PeftConfig that PeftConfig.describe() wrote."""
    methods = []
    for entry in described:
        fields = dict(entry)
        name = fields.pop("method")
        if name not in SETTINGS_CLASSES:
            raise ValueError(f"unknown PEFT method {name!r} in a saved adapter; methods: {sorted(SETTINGS_CLASSES)}")
        methods.append(SETTINGS_CLASSES[name](**fields))
    return PeftConfig(tuple(methods))


def save(model, params, rules, directory: str, base: str | dict | None = None) -> None:
    """Write the trainable subtree and what it needs to be loaded back (see the module docstring).

    base: the HF directory the base weights came from (recorded with a hash of its weight files), or any
    JSON-able dict describing it.
    """
    from safetensors.flax import save_file

    trainable, frozen = split_trainable(params, rules)
    os.makedirs(directory, exist_ok=True)
    arrays = {"/".join(p): jax.numpy.asarray(v) for p, v in trainable.items()}
    save_file(arrays, os.path.join(directory, TRAINABLE_FILE))
    reference = hf_directory_reference(base) if isinstance(base, str) else base
    meta = {
        "format": FORMAT,
        "peft": model.config.peft.describe(),
        "rules": [list(rule) for rule in rules],
        "model": {"class": type(model).__name__, "family": model.config.family, "head": model.head},
        "base": {"reference": reference, "frozen_sha256": params_sha256(frozen)},
    }
    with open(os.path.join(directory, META_FILE), "w") as f:
        json.dump(meta, f, indent=2, sort_keys=True)


def load(directory: str, model, params, check_base: bool = True):
    """(adapted model, params, rules): the saved method put on `model` / `params` (the base, e.g. from
    plmjax.from_pretrained) with the saved trainable values in place.

    check_base: the frozen parameters must be the ones the adapter was trained on (sha256); an error otherwise.
    """
    with open(os.path.join(directory, META_FILE)) as f:
        meta = json.load(f)
    if meta.get("format") != FORMAT:
        raise ValueError(f"{directory} is not a plmjax PEFT adapter of format {FORMAT} (it has {meta.get('format')!r})")
    if model.head != meta["model"]["head"]:
        raise ValueError(f"the adapter was trained with head {meta['model']['head']!r}, the model has {model.head!r}")
    adapted = model.clone(config=model.config.replace(peft=peft_config_from(meta["peft"])))
    saved = traverse_util.flatten_dict(read_trainable(directory))
    base_paths = set(traverse_util.flatten_dict(params))
    new_values = {p: v for p, v in saved.items() if p not in base_paths}
    params = add_parameters(adapted, params, jax.random.key(0), values=new_values)
    rules = [tuple(rule) for rule in meta["rules"]]
    flat = traverse_util.flatten_dict(params)
    unknown = sorted("/".join(p) for p in saved if p not in flat)
    misshaped = sorted(
        f"{'/'.join(p)}: saved {tuple(v.shape)}, model {tuple(flat[p].shape)}"
        for p, v in saved.items()
        if p in flat and tuple(v.shape) != tuple(flat[p].shape)
    )
    if unknown or misshaped:
        raise ValueError(f"the adapter does not fit the model: unknown {unknown[:10]}, shapes {misshaped[:10]}")
    flat.update(saved)
    params = traverse_util.unflatten_dict(flat)
    trainable, frozen = split_trainable(params, rules)
    missing = sorted("/".join(p) for p in trainable if p not in saved)
    if missing:
        raise ValueError(f"the adapter lacks trainable parameters: {missing[:10]}")
    if check_base and params_sha256(frozen) != meta["base"]["frozen_sha256"]:
        raise ValueError(
            f"the frozen parameters differ from those the adapter in {directory} was trained on "
            f"(base {meta['base']['reference']}); pass check_base=False to load it anyway"
        )
    return adapted, params, rules
