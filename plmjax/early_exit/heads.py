"""The early-exit parameters beside a classifier's: one head after every internal layer, and the learned
confidence predictor (BERxiT's learning-to-exit module).

They live in one extra subtree, params["early_exit"] = {"heads": ..., "confidence": ...}, so the backbone's
parameters stay exactly the classification model's (it exports and loads as before) and PEFT rules treat the
subtree like any other ("early_exit/.*" trains beside a frozen or LoRA backbone).

The final layer exits through the model's own classification head; the internal heads have its architecture
(the pooler where the family's classifier reads one, then the classifier: DeeBERT's "highway" for BERT; for
GPT-2's classifier, the final norm and the score of the last non-pad token) with their own weights, stacked on a
leading axis of num_exits - 1 so one vmap applies them all and a traced layer index picks one inside a while loop.

What an internal exit reads of its layer's output is `exit_reads`: with reads="classifier", the whole sequence for
an encoder (its head pools the first token) and the last non-pad token's state for a decoder; with reads="mean",
the mean of the real tokens' states. Both but the encoder's whole sequence come as a sequence of one, so the
head's "first token" is what it reads, and the confidence predictor reads that first token too. The final exit
is the model's own classifier, whatever the internal exits read.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from plmjax.models.config import TransformerConfig
from plmjax.models.decoder import DecoderModel
from plmjax.models.encoder import EncoderModel, uses_pooler
from plmjax.models.heads import Classifier, Pooler
from plmjax.models.hooks import PeftConfig
from plmjax.models.layers import dense, layer_norm
from plmjax.models.pooling import mean_pool
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


class DecoderExitHead(nn.Module):
    """GPT-2's classification head on an internal layer's state at the last non-pad token [batch, 1, hidden]:
    the final norm (a pre-norm stack's hidden states are unnormalised), then the score, without a bias."""

    config: TransformerConfig
    num_labels: int

    @nn.compact
    def __call__(self, reads, deterministic: bool = True):
        c, summary = self.config, reads[:, 0]
        if c.pre_norm:
            summary = layer_norm(c, "final_norm")(summary)
        return dense(c, self.num_labels, ("embed", "labels"), "score", use_bias=False)(summary)


def is_decoder(model) -> bool:
    return isinstance(model, DecoderModel)


def check_model(model) -> None:
    if not isinstance(model, (EncoderModel, DecoderModel)) or model.head != "classification":
        raise ValueError(
            f"early exit needs an encoder or a decoder with head='classification', not {type(model).__name__} "
            f"with head={model.head!r}"
        )
    if is_decoder(model) and model.config.memory_length:
        raise ValueError("early exit runs a decoder without a segment memory (config.memory_length = 0)")


def stack(model) -> TransformerStack:
    """The model's stack of layers, unbound (its layer count and layer indices)."""
    return TransformerStack(model.config, decoder=is_decoder(model))


def num_exits(model) -> int:
    """Exit points: one per layer application (ALBERT's inner layers each count, as their hidden states do)."""
    return stack(model).num_applications


def exit_head(model) -> nn.Module:
    # PEFT methods adapt the backbone; the exit heads are new and train in full, so they run without hooks.
    head = DecoderExitHead if is_decoder(model) else ExitHead
    return head(model.config.replace(peft=PeftConfig()), model.num_labels)


READS = ("classifier", "mean")


def check_reads(reads: str) -> None:
    if reads not in READS:
        raise ValueError(f"early exit reads={reads!r}; choose one of {READS}")


def exit_reads(model, hidden, summary_positions=None, mask=None, reads: str = "classifier"):
    """What an internal exit reads of a layer's output [rows, length, hidden]. reads="classifier": all of it (an
    encoder), or the state at each row's summary position [rows] as a sequence of one (a decoder: the last
    non-pad token). reads="mean": the mean over the real tokens (mask [rows, length], 1 for real), as a
    sequence of one."""
    if reads == "mean":
        return mean_pool(hidden, mask)[:, None]
    if not is_decoder(model):
        return hidden
    return hidden[jnp.arange(hidden.shape[0]), summary_positions][:, None]


def confidence_inputs(model) -> int:
    """Width of the predictor's input: the layer's first-token state and its head's class probabilities (the
    prediction itself for regression)."""
    return model.config.hidden_size + model.num_labels


def add_exit_params(model, params, rng):
    """params with a fresh params["early_exit"]: the internal heads (each pooler starts as a copy of the model's
    pooler, as DeeBERT's init_highway_pooler does; a decoder head's norm as the final norm) and the confidence
    predictor (normal(initializer_range) kernel, zero bias, as a new Linear in transformers)."""
    check_model(model)
    head = exit_head(model)
    heads_rng, confidence_rng = jax.random.split(rng)
    internal = num_exits(model) - 1
    dummy = jnp.zeros((1, 1, model.config.hidden_size), jnp.float32)  # one row of one token: either head
    heads = jax.vmap(lambda r: nn.meta.unbox(head.init(r, dummy)["params"]))(jax.random.split(heads_rng, internal))
    if is_decoder(model):
        name, source = "final_norm", params["decoder"].get("final_norm")
    else:
        name, source = "pooler", params.get("pooler")
    if name in heads and source is not None:
        heads[name] = jax.tree.map(lambda p: jnp.broadcast_to(p, (internal, *p.shape)), source)
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
