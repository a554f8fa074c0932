"""The model of a run and the base its parameters start from: an HF directory (pretrained weights) or a
preset (random init from the seed)."""

import dataclasses
import glob
import hashlib
import os

import flax.linen as nn
import jax
import numpy as np

import plmjax
from plmjax import peft
from plmjax.models.model_classes import build_model
from plmjax.models.presets import PRESETS

WEIGHT_FILE_PATTERNS = ("model*.safetensors", "pytorch_model*.bin")


@dataclasses.dataclass
class ModelSetup:
    model: nn.Module
    pretrained_path: str | None  # None: random init from a preset
    seed: int
    settings: dict  # TransformerConfig fields the run sets on top of the HF config
    # A PEFT method that adds parameters: `model` is the adapted model; the base parameters get the method's.
    peft_plan: object = None

    def base_reference(self, hash_weights: bool) -> dict:
        """What the parameters start from, as checkpoints record it; the frozen ones are rebuilt from it, so
        then (hash_weights) the pretrained weights are identified by content, not only by path."""
        if self.pretrained_path is None:
            return {"kind": "random", "seed": self.seed}
        reference = {"kind": "pretrained", "path": self.pretrained_path}
        if hash_weights:
            reference["sha256"] = weights_sha256(self.pretrained_path)
        return reference

    def init_params(self, shardings):
        """The starting parameters as global arrays with `shardings` (the same on every process)."""
        init_rng = jax.random.fold_in(jax.random.key(self.seed), 0)
        if self.pretrained_path is None:

            def init():
                return nn.meta.unbox(self.model.init(init_rng, self.model.dummy_inputs())["params"])

            params = jax.jit(init, out_shardings=shardings)()
            if self.peft_plan is None:
                return params
            # Prompt initialisations (from the vocabulary, label words, ...) apply to random bases too.
            params = self.peft_plan.add_parameters(self.model, params, jax.random.fold_in(init_rng, 1))
            return jax.device_put(params, shardings)
        _, params = plmjax.from_pretrained(
            self.pretrained_path,
            self.model.head,
            num_labels=self.model.num_labels,
            rng=init_rng,
            **self.settings,
        )
        if self.peft_plan is not None:
            params = self.peft_plan.add_parameters(self.model, params, jax.random.fold_in(init_rng, 1))
        return jax.tree.map(_put_host_array, params, shardings)


def _put_host_array(value, sharding):
    value = np.asarray(value)
    return jax.make_array_from_callback(value.shape, sharding, lambda index: value[index])


def build(model_config, num_labels: int, seed: int, peft_config=None) -> ModelSetup:
    """The model named by config.model: an HF directory or a preset name, with the run's settings applied,
    adapted by config.peft's method (plmjax.peft.adapt: the model unchanged for the methods that only choose
    which parameters train, full / head_only / bitfit; their modules on for those that add parameters).

    Parameters are always float32 (master weights); model.dtype sets the compute dtype.
    """
    setup = _build_base(model_config, num_labels, seed)
    if peft_config is None:
        return setup
    options = dict(peft_config.options.to_dict(), extra_trainable=peft_config.extra_trainable)
    setup.model, setup.peft_plan = peft.adapt(peft_config.method, setup.model, **options)
    return setup


def _build_base(model_config, num_labels: int, seed: int) -> ModelSetup:
    name = model_config.name_or_path
    settings = dict(model_config.config_overrides.to_dict())
    settings.update(dtype=model_config.dtype, param_dtype="float32", remat=model_config.remat)
    head = model_config.head  # "classification" with num_labels == 1 is regression
    if os.path.isdir(name):
        return ModelSetup(_hf_model(name, head, num_labels, settings), os.path.abspath(name), seed, settings)
    if name not in PRESETS:
        raise ValueError(f"model.name_or_path={name!r} is neither a directory nor a preset; presets: {sorted(PRESETS)}")
    model = build_model(plmjax.preset(name, **settings), head=head, num_labels=num_labels)
    return ModelSetup(model, None, seed, settings)


def _hf_model(path: str, head: str, num_labels: int, settings: dict):
    """The model of an HF directory with the settings applied, without reading its weights."""
    from plmjax.hf.families import spec_for
    from plmjax.hf.pretrained import read_hf_config

    hf_config = read_hf_config(path)
    spec = spec_for(hf_config.get("model_type"))
    config = spec.config_from_hf(hf_config)
    if spec.config_from_weights is not None:
        from plmjax.hf.checkpoint_files import read_state_dict

        config = spec.config_from_weights(config, read_state_dict(path))
    return build_model(config.replace(**settings), head=head, num_labels=num_labels)


def describe_model(model: nn.Module) -> dict:
    """The architecture as JSON (compute dtype and remat left out: they do not change the parameters)."""
    if not hasattr(model, "config"):  # a model sized by its own fields (ELMo's biLM)
        fields = {f.name: getattr(model, f.name) for f in dataclasses.fields(model) if f.name not in ("parent", "name")}
        return {"family": type(model).__name__, "summary": f"{type(model).__name__} {fields}", **fields}
    fields = dataclasses.asdict(model.config)
    for runtime_only in ("dtype", "remat"):
        fields.pop(runtime_only, None)
    c = model.config
    summary = f"{c.num_layers} layers, hidden {c.hidden_size}, head {model.head} with {model.num_labels} outputs"
    return {"family": c.family, "summary": summary, "head": model.head, "num_labels": model.num_labels, **fields}


def weights_sha256(path: str) -> str:
    """One sha256 over the weight files of an HF directory, in name order."""
    digest = hashlib.sha256()
    files = sorted(f for pattern in WEIGHT_FILE_PATTERNS for f in glob.glob(os.path.join(path, pattern)))
    for file in files:
        with open(file, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                digest.update(chunk)
    return digest.hexdigest()
