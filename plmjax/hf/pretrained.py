"""from_pretrained / save_pretrained: HF model directories in and out."""

import json
import os

import jax

from plmjax.hf.checkpoint_files import read_state_dict, write_safetensors
from plmjax.hf.families import SPECS, spec_for
from plmjax.hf.weights import params_from_state_dict, state_dict_from_params
from plmjax.models.model_classes import build_model

LABELLED_HEADS = ("classification", "token_classification")


def read_hf_config(path: str) -> dict:
    config_file = os.path.join(path, "config.json")
    if not os.path.exists(config_file):
        raise FileNotFoundError(f"{path} is not an HF model directory: it has no config.json")
    with open(config_file) as f:
        return json.load(f)


def from_pretrained(
    path: str,
    head: str | None = None,
    *,
    num_labels: int | None = None,
    strict: bool = True,
    rng: jax.Array | None = None,
    **config_overrides,
):
    """Load an HF model directory (config.json + model.safetensors or pytorch_model.bin).

    head: None, "mlm", "pretraining", "nsp", "sop", "classification", "regression" (classification with
    one output), "token_classification", "span" or "rtd" for the encoder families; None, "lm" or
    "classification" for GPT-2 and BART; None or "lm" for T5. A head the checkpoint lacks is initialised from
    `rng` and reported. config_overrides replace TransformerConfig fields (dtype="bfloat16", remat=True,
    hidden_dropout=0.0, ...). Returns (model, params).
    """
    hf_config = read_hf_config(path)
    spec = spec_for(hf_config.get("model_type"))
    config = spec.config_from_hf(hf_config)
    state = read_state_dict(path)
    if spec.config_from_weights is not None:
        config = spec.config_from_weights(config, state)
    config = config.replace(**config_overrides)
    if head == "regression":
        head, num_labels = "classification", 1
    if num_labels is None:
        # Only labelled heads read id2label (BART's config.json carries three labels whatever the head).
        num_labels = (len(hf_config.get("id2label") or {}) if head in LABELLED_HEADS else 0) or 2
    model = build_model(config, head=head, num_labels=num_labels)
    params, _ = params_from_state_dict(spec, model, state, strict=strict, rng=rng)
    return model, params


def save_pretrained(model, params, path: str, tokenizer=None) -> None:
    """Write an HF directory (config.json + model.safetensors) that transformers loads as is."""
    config, head = model.config, model.head
    spec = SPECS[config.family]
    if head not in spec.architectures:
        raise ValueError(
            f"head {head!r} of {config.family} has no transformers class to export to; "
            f"exportable heads: {list(spec.architectures)}"
        )
    os.makedirs(path, exist_ok=True)
    hf_config = spec.config_to_hf(config) | {
        "model_type": spec.model_type,
        "architectures": [spec.architectures[head]],
        "dtype": config.param_dtype,
    }
    if head in LABELLED_HEADS:
        hf_config["id2label"] = {str(i): f"LABEL_{i}" for i in range(model.num_labels)}
        hf_config["label2id"] = {f"LABEL_{i}": i for i in range(model.num_labels)}
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(hf_config, f, indent=2, sort_keys=True)
    write_safetensors(state_dict_from_params(spec, model, params), path)
    if tokenizer is not None:
        tokenizer.save_pretrained(path)


def load_tokenizer(path: str):
    """The HF tokenizer saved in a model directory (through transformers.AutoTokenizer)."""
    from plmjax.hf.transformers_import import import_transformers

    return import_transformers().AutoTokenizer.from_pretrained(path)
