"""ELECTRA replaced-token detection: a small MLM generator and a discriminator trained jointly.

params = {"generator": ..., "discriminator": ...}. The token embeddings (word, position and token-type tables
and the embedding norm) are stored once, in the discriminator's "embeddings", and put into the generator's
parameters at apply time, so both losses train them (ELECTRA's shared embeddings). The generator keeps its
own embedding projection (HF `embeddings_project`), since its hidden size differs.

Batch: the MLM keys (input_ids carrying the collator's [MASK]s, mlm_labels, mlm_weights), attention_mask,
optional token_type_ids, weights.
"""

import dataclasses

import jax
import jax.numpy as jnp

from plmjax.models import EncoderModel, TransformerConfig, init_params
from plmjax.objectives.base import (
    Objective,
    accuracy,
    binary_cross_entropy,
    cross_entropy,
    real_token_weights,
)
from plmjax.objectives.mlm import encoder_outputs, mlm_targets

SHARED_EMBEDDINGS = ("word_embeddings", "position_embeddings", "token_type_embeddings", "norm")


def generator_config(config: TransformerConfig, fraction: float = 0.25) -> TransformerConfig:
    """The discriminator's config with hidden size, heads and feed-forward width scaled by fraction (ELECTRA
    used 1/4 to 1/3), the same depth, and the discriminator's embedding width (the tables are shared)."""
    hidden = round(config.hidden_size * fraction)
    heads = max(1, round(config.num_heads * fraction))
    if hidden < 1 or hidden % heads:
        raise ValueError(f"generator hidden size {hidden} (fraction {fraction}) does not split into {heads} heads")
    return config.replace(
        hidden_size=hidden,
        num_heads=heads,
        intermediate_size=max(1, round(config.intermediate_size * fraction)),
        embedding_size=config.embed_size,
    )


def generator_params(params):
    """The generator's complete parameters: its own plus the discriminator's shared embeddings."""
    shared = {k: v for k, v in params["discriminator"]["embeddings"].items() if k in SHARED_EMBEDDINGS}
    own = params["generator"]
    return {**own, "embeddings": {**own.get("embeddings", {}), **shared}}


def export_params(params):
    """(generator params, discriminator params), each complete with the shared embeddings, for
    plmjax.save_pretrained(objective.generator, ...) (ElectraForMaskedLM) and
    plmjax.save_pretrained(objective.discriminator, ...) (ElectraForPreTraining)."""
    return generator_params(params), params["discriminator"]


@dataclasses.dataclass(frozen=True)
class Electra(Objective):
    """loss = generator MLM (mean CE over the selected tokens) + rtd_weight * discriminator BCE (mean over real
    tokens).

    Replacements are sampled from the generator's softmax at the selected positions (no gradient flows
    through the sample); a token is labelled replaced when the corrupted input differs from the original, so a
    sampled original counts as original. generator: EncoderModel head="mlm"; discriminator: head="rtd".
    """

    generator: EncoderModel
    discriminator: EncoderModel
    rtd_weight: float = 50.0
    max_predictions: int | None = None

    @classmethod
    def from_config(cls, config: TransformerConfig, generator_fraction: float = 0.25, **options) -> "Electra":
        """Discriminator of `config` (family "electra"), generator of generator_config(config, fraction)."""
        generator = EncoderModel(generator_config(config, generator_fraction), head="mlm")
        return cls(generator, EncoderModel(config, head="rtd"), **options)

    @property
    def term_weights(self):
        return {"mlm": 1.0, "rtd": self.rtd_weight}

    def init(self, rng):
        generator_rng, discriminator_rng = jax.random.split(rng)
        generator = init_params(self.generator, generator_rng)
        own_embeddings = {k: v for k, v in generator["embeddings"].items() if k not in SHARED_EMBEDDINGS}
        generator = {k: v for k, v in generator.items() if k != "embeddings"}
        if own_embeddings:
            generator["embeddings"] = own_embeddings
        return {"generator": generator, "discriminator": init_params(self.discriminator, discriminator_rng)}

    def term_counts(self, batch):
        return {"mlm": jnp.sum(mlm_targets(batch, self.max_predictions)[2]), "rtd": jnp.sum(real_token_weights(batch))}

    def corrupt(self, generator_logits, batch, rng):
        """(corrupted input_ids, replaced [batch, length] bool): samples at the selected positions."""
        positions, labels, weights = mlm_targets(batch, self.max_predictions)
        sampled = jax.random.categorical(rng, jax.lax.stop_gradient(generator_logits).astype(jnp.float32))
        ids = jnp.asarray(batch["input_ids"])
        selected = weights > 0
        if positions is None:
            corrupted = jnp.where(selected, sampled, ids)
            original = jnp.where(selected, labels, ids)
        else:
            rows = jnp.arange(ids.shape[0])[:, None]
            here = ids[rows, positions]
            corrupted = ids.at[rows, positions].set(jnp.where(selected, sampled, here))
            original = ids.at[rows, positions].set(jnp.where(selected, labels, here))
        return corrupted, corrupted != original

    def loss_and_metrics(self, params, batch, rng=None, deterministic=True):
        if rng is None:
            raise ValueError("ELECTRA samples its replacements: loss_terms needs an rng")
        sample_rng, generator_rng, discriminator_rng = jax.random.split(rng, 3)
        positions, labels, weights = mlm_targets(batch, self.max_predictions)
        generated = encoder_outputs(
            self.generator, generator_params(params), batch, generator_rng, deterministic, positions
        )
        corrupted, replaced = self.corrupt(generated.logits, batch, sample_rng)
        discriminated = encoder_outputs(
            self.discriminator,
            params["discriminator"],
            {**batch, "input_ids": corrupted},
            discriminator_rng,
            deterministic,
        )
        real = real_token_weights(batch)
        rtd_logits = discriminated.logits
        losses = {
            "mlm": cross_entropy(generated.logits, labels, weights),
            "rtd": binary_cross_entropy(rtd_logits, replaced, real),
        }
        metrics = {
            "mlm_accuracy": accuracy(generated.logits, labels, weights),
            "rtd_accuracy": (jnp.sum(((rtd_logits > 0) == replaced) * real), jnp.sum(real)),
            "replaced_fraction": (jnp.sum(replaced * real), jnp.sum(real)),
        }
        return losses, metrics
