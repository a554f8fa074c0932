"""The early-exit parameters beside a classifier's: one head after every internal layer, and the learned
confidence predictor (BERxiT's learning-to-exit module).

They live in one extra subtree, params["early_exit"] = {"heads": ..., "confidence": ...}, so the backbone's
parameters stay exactly the classification model's (it exports and loads as before) and PEFT rules treat the
subtree like any other ("early_exit/.*" trains beside a frozen or LoRA backbone).

The final layer exits through the model's own classification head; the internal heads have its architecture
(the pooler where the family's classifier reads one, then the classifier: DeeBERT's "highway" for BERT) with
their own weights, stacked on a leading axis of num_exits - 1 so one vmap applies them all and a traced layer
index picks one inside a while loop.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from plmjax.models.config import TransformerConfig
from plmjax.models.encoder import EncoderModel, uses_pooler
from plmjax.models.heads import Classifier, Pooler
from plmjax.models.hooks import PeftConfig
from plmjax.models.stack import TransformerStack

EARLY_EXIT = "early_exit"  # the params key of the exit heads and the confidence predictor
HEADS, CONFIDENCE = "heads", "confidence"


class MissingExitHeadsError(ValueError):
    """Parameters without the early-exit subtree (a model trained without exit heads) asked to exit early."""


class ExitHead(nn.Module):
    """The family's classification head on an internal layer's output [batch, length, hidden]."""

    config: TransformerConfig
    num_labels: int

    @nn.compact
    def __call__(self, hidden, deterministic: bool = True):
        c = self.config
        pooled = Pooler(c, name="pooler")(hidden) if uses_pooler(c, "classification") else None
        return Classifier(c, self.num_labels, name="classifier")(hidden, pooled, deterministic)


def check_model(model) -> None:
    if not isinstance(model, EncoderModel) or model.head != "classification":
        raise ValueError(
            f"early exit needs an encoder with head='classification', not {type(model).__name__} with "
            f"head={model.head!r}"
        )


def num_exits(model) -> int:
    """Exit points: one per layer application (ALBERT's inner layers each count, as their hidden states do)."""
    return TransformerStack(model.config).num_applications


def exit_head(model) -> ExitHead:
    # PEFT methods adapt the backbone; the exit heads are new and train in full, so they run without hooks.
    return ExitHead(model.config.replace(peft=PeftConfig()), model.num_labels)


def confidence_inputs(model) -> int:
    """Width of the predictor's input: the layer's first-token state and its head's class probabilities (the
    prediction itself for regression)."""
    return model.config.hidden_size + model.num_labels


def add_exit_params(model, params, rng):
    """params with a fresh params["early_exit"]: the internal heads (each pooler starts as a copy of the model's
    pooler, as DeeBERT's init_highway_pooler does) and the confidence predictor (normal(initializer_range)
    kernel, zero bias, as a new Linear in transformers)."""
    check_model(model)
    head = exit_head(model)
    heads_rng, confidence_rng = jax.random.split(rng)
    internal = num_exits(model) - 1
    dummy = jnp.zeros((1, 1, model.config.hidden_size), jnp.float32)
    heads = jax.vmap(lambda r: nn.meta.unbox(head.init(r, dummy)["params"]))(jax.random.split(heads_rng, internal))
    if "pooler" in heads and "pooler" in params:
        heads["pooler"] = jax.tree.map(lambda p: jnp.broadcast_to(p, (internal, *p.shape)), params["pooler"])
    std = model.config.initializer_range
    kernel = std * jax.random.normal(confidence_rng, (confidence_inputs(model), 1), jnp.float32)
    confidence = {"kernel": kernel, "bias": jnp.zeros((1,), jnp.float32)}
    return {**params, EARLY_EXIT: {HEADS: heads, CONFIDENCE: confidence}}


def split_params(params) -> tuple[dict, dict]:
    """(the classification model's parameters, the early-exit subtree); a clear error when there is none."""
    if EARLY_EXIT not in params:
        raise MissingExitHeadsError(
            "these parameters have no exit heads (no 'early_exit' subtree; they hold "
            f"{sorted(params)}): they come from a model trained without them. Train with objective.name="
            "'early_exit' (configs/early_exit.py) to exit early."
        )
    return {k: v for k, v in params.items() if k != EARLY_EXIT}, params[EARLY_EXIT]


def class_features(logits):
    """What the predictor reads of a head's output: class probabilities, or the prediction for regression."""
    logits = logits.astype(jnp.float32)
    return logits if logits.shape[-1] == 1 else jax.nn.softmax(logits, axis=-1)


def confidence(confidence_params, first_token, logits):
    """The predicted chance [...] that the head's prediction is right (regression: exp(-error^2)), from the
    layer's first-token state [..., hidden] and the head's logits [..., classes]."""
    features = jnp.concatenate([first_token.astype(jnp.float32), class_features(logits)], axis=-1)
    return jax.nn.sigmoid(features @ confidence_params["kernel"] + confidence_params["bias"])[..., 0]
