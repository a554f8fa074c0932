"""SimCSE (Gao, Yao & Chen 2021): contrastive sentence embeddings, the arithmetic of princeton-nlp/SimCSE's
cl_forward.

A batch holds each sentence twice (unsupervised: the same text, two dropout masks) or as (anchor, entailment,
contradiction) triplets (supervised): input_ids [batch, views, length]. All views run through the encoder in
one call; the [CLS] state goes through an MLP pooler (a new dense layer + tanh) in training ("cls" pooling;
"mean" pools the tokens and "cls_before_pooler" skips the MLP; "mask" reads PromptBERT's template [MASK], denoised,
plmjax.sentence.prompt_embedding). Logits are cosine similarities over the
temperature (0.05): row i of the anchors against every second view (its own is the positive, the others the
in-batch negatives) and, with triplets, every hard negative too, its own one with hard_negative_weight added
(SimCSE adds it to the logit). The loss is the cross-entropy with target i.

At test time SimCSE drops the MLP for unsupervised models (its --mlp_only_train, `mlp_at_test=False`: the [CLS]
state itself) and keeps it for supervised ones; `evaluation` scores sentence pairs (STS-B dev, the paper's
checkpoint selection) with that test-time embedding: each row's prediction is the cosine of its two views.

The batch axis is one computation under jit: on a mesh whose data axis shards the batch, the similarity
matrix covers the global batch (XLA gathers the embeddings), as the reference's all-gather across GPUs does.
Padding rows (weight 0) are neither anchors nor negatives.
"""

import dataclasses

import jax
import jax.numpy as jnp

from plmjax.models import init_params
from plmjax.objectives.base import Objective, dropout_rngs, row_weights
from plmjax.sentence.prompt_embedding import TEMPLATE_KEYS, mask_embedding

MLP = "simcse_mlp"  # the params key of the MLP pooler, beside the encoder's
POOLERS = ("cls", "cls_before_pooler", "mean", "mask")  # mask: PromptBERT's template embedding
NEG_INF = -1e9


def simcse_logits(z1, z2, z3=None, temperature: float = 0.05, hard_negative_weight: float = 0.0, column_mask=None):
    """[batch, batch] (or [batch, 2 batch] with hard negatives z3) cosine / temperature logits."""

    def cosine(a, b):
        a = a / jnp.linalg.norm(a, axis=-1, keepdims=True)
        b = b / jnp.linalg.norm(b, axis=-1, keepdims=True)
        return a @ b.T / temperature

    logits = cosine(z1, z2)
    if z3 is not None:
        hard = cosine(z1, z3) + hard_negative_weight * jnp.eye(z1.shape[0], dtype=z1.dtype)
        logits = jnp.concatenate([logits, hard], axis=1)
    if column_mask is not None:
        mask = column_mask if z3 is None else jnp.concatenate([column_mask, column_mask])
        logits = jnp.where(mask[None, :] > 0, logits, NEG_INF)
    return logits


def simcse_example_losses(logits) -> jax.Array:
    """[batch] cross-entropy of each row against target i."""
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.diagonal(log_probs[:, : logits.shape[0]])


@dataclasses.dataclass(frozen=True)
class SimCSE(Objective):
    """model: an encoder with no head (its last_hidden_state is pooled)."""

    model: object
    temperature: float = 0.05
    hard_negative_weight: float = 0.0
    pooler: str = "cls"
    mlp_at_test: bool = False

    def __post_init__(self):
        if self.pooler not in POOLERS:
            raise ValueError(f"SimCSE pooler={self.pooler!r}; choose one of {POOLERS}")

    @property
    def term_weights(self):
        return {"contrastive": 1.0}

    def add_mlp_params(self, params, rng):
        hidden = self.model.config.hidden_size
        # SimCSE's MLPLayer is new, initialised as transformers initialises a Linear: normal(initializer_range).
        std = getattr(self.model.config, "initializer_range", 0.02)
        kernel = std * jax.random.normal(rng, (hidden, hidden), jnp.float32)
        return {**params, MLP: {"kernel": kernel, "bias": jnp.zeros((hidden,), jnp.float32)}}

    def init(self, rng):
        model_rng, mlp_rng = jax.random.split(rng)
        return self.add_mlp_params(init_params(self.model, model_rng), mlp_rng)

    def term_counts(self, batch):
        return {"contrastive": jnp.sum(row_weights(batch))}

    def backbone_params(self, params):
        """The encoder's parameters, the MLP written as its pooler where the family has one (SimCSE's
        simcse_to_huggingface.py renames mlp to pooler): an exported model's pooler_output is then the
        training-time embedding, and its [CLS] state the unsupervised test-time one."""
        encoder = {k: v for k, v in params.items() if k != MLP}
        if "pooler" in encoder and MLP in params:
            encoder["pooler"] = {"dense": dict(params[MLP])}
        return encoder

    def embed(self, params, inputs: dict, rng=None, deterministic=True, mlp: bool = True):
        """[rows, hidden] pooled embeddings of inputs {input_ids, attention_mask, ...: [rows, length]} (the MLP
        only with "cls" or "mask" and mlp). "mask" is PromptBERT's (plmjax.sentence.prompt_embedding): the
        inputs carry the template's mask positions, and the template alone for its denoising."""
        encoder = {k: v for k, v in params.items() if k != MLP}
        rngs = dropout_rngs(rng, deterministic)
        if self.pooler == "mask":
            pooled = mask_embedding(self.model, encoder, inputs, rngs, deterministic)
        else:
            attention_mask = inputs["attention_mask"]
            out = self.model.apply({"params": encoder}, inputs["input_ids"], attention_mask=attention_mask,
                                   token_type_ids=inputs.get("token_type_ids"), deterministic=deterministic,
                                   rngs=rngs)  # fmt: skip
            hidden = out.last_hidden_state
            if self.pooler == "mean":
                mask = attention_mask[..., None].astype(hidden.dtype)
                return jnp.sum(hidden * mask, axis=1) / jnp.maximum(jnp.sum(mask, axis=1), 1.0)
            pooled = hidden[:, 0]
        if self.pooler in ("cls", "mask") and mlp:
            pooled = jnp.tanh(pooled @ params[MLP]["kernel"] + params[MLP]["bias"])
        return pooled

    @staticmethod
    def flat_views(batch) -> dict:
        """The batch's per-view arrays ([rows, views, ...]) as [rows * views, ...]."""
        keys = ("input_ids", "attention_mask", "token_type_ids", *TEMPLATE_KEYS)
        return {k: batch[k].reshape(-1, *batch[k].shape[2:]) for k in keys if k in batch}

    def loss_and_metrics(self, params, batch, rng=None, deterministic=True):
        rows, views, _ = batch["input_ids"].shape
        if views not in (2, 3):
            raise ValueError(f"SimCSE batches hold 2 views (unsupervised) or 3 (supervised triplets), not {views}")
        z = self.embed(params, self.flat_views(batch), rng, deterministic).reshape(rows, views, -1)
        weights = row_weights(batch)
        logits = simcse_logits(z[:, 0], z[:, 1], z[:, 2] if views == 3 else None, self.temperature,
                               self.hard_negative_weight, column_mask=weights)  # fmt: skip
        losses = simcse_example_losses(logits)
        hits = jnp.argmax(logits, axis=-1) == jnp.arange(rows)
        count = jnp.sum(weights)
        return {"contrastive": (jnp.sum(losses * weights), count)}, {
            "alignment_accuracy": (jnp.sum(hits * weights), count)
        }

    def evaluation(self, params, batch, rng=None):
        """Sentence pairs (input_ids [rows, 2, length], labels = gold similarity): each row's prediction is the
        cosine of its two test-time embeddings. No loss: the pairs are not a contrastive batch."""
        rows, views, _ = batch["input_ids"].shape
        if views != 2:
            raise ValueError(f"SimCSE evaluates sentence pairs (2 views per row), not {views}")
        z = self.embed(params, self.flat_views(batch), mlp=self.mlp_at_test).reshape(rows, 2, -1)
        z = z / jnp.linalg.norm(z, axis=-1, keepdims=True)
        zero = jnp.zeros((), jnp.float32)
        predictions = jnp.sum(z[:, 0] * z[:, 1], axis=-1)
        return {"contrastive": (zero, zero)}, {}, {"predictions": predictions, "labels": batch["labels"]}
