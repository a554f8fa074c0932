"""Task and pretraining heads. Each reads the backbone's hidden states."""

import flax.linen as nn
import jax.numpy as jnp

from plmjax.models.activations import activation
from plmjax.models.config import TransformerConfig
from plmjax.models.layers import dense, layer_norm


def check_head(config: TransformerConfig, head: str | None, heads_by_family: dict, kind: str) -> None:
    """A clear error for a family this model class does not build (`kind`: "an encoder", ...) or a head the
    family does not have."""
    heads = heads_by_family.get(config.family)
    if heads is None:
        raise ValueError(f"family {config.family!r} is not {kind}; such families: {sorted(heads_by_family)}")
    if head not in heads:
        raise ValueError(f"head {head!r} is not available for {config.family}; choose one of {list(heads)}")


def untied_lm_head(config: TransformerConfig) -> nn.Module:
    """The vocabulary projection of a model whose LM head is not tied to its word embeddings."""
    return dense(config, config.vocab_size, ("embed", "vocab"), "lm_head", use_bias=False)


class Pooler(nn.Module):
    """dense + tanh on the first token (BERT's [CLS] pooler)."""

    config: TransformerConfig

    @nn.compact
    def __call__(self, hidden):
        c = self.config
        return nn.tanh(dense(c, c.hidden_size, ("embed", "embed_out"), "dense")(hidden[:, 0]))


class MaskedLMHead(nn.Module):
    """transform (dense + activation + layer norm) then decode against the word embeddings, plus a bias."""

    config: TransformerConfig

    @nn.compact
    def __call__(self, hidden, embeddings, vocab_ids=None):
        """vocab_ids [n]: logits for those words only, [..., n] (prompt-based fine-tuning reads the label words:
        with tied embeddings a gather of n rows instead of the whole vocabulary)."""
        c = self.config
        h = dense(c, c.embed_size, ("embed", "embed_in"), "transform")(hidden)
        h = activation(c.mlm_head_act or c.hidden_act)(h)
        h = layer_norm(c, "norm", "embed_in")(h)
        # Kept only when the caller asks (apply(..., mutable=["intermediates"])): soft verbalizers (WARP) score
        # classes against this transformed mask state instead of the vocabulary.
        self.sow("intermediates", "transformed", h)
        if c.tie_word_embeddings:
            logits = embeddings.attend(h, vocab_ids)
        else:
            logits = dense(c, c.vocab_size, ("embed_in", "vocab"), "decoder", use_bias=False)(h)
            logits = logits if vocab_ids is None else jnp.take(logits, vocab_ids, axis=-1)
        bias = self.param(
            "bias", nn.with_logical_partitioning(nn.initializers.zeros_init(), ("vocab",)), (c.vocab_size,)
        )
        bias = bias if vocab_ids is None else jnp.take(bias, vocab_ids)
        return logits + bias.astype(logits.dtype)


class Classifier(nn.Module):
    """Sequence classification (num_labels == 1 is regression).

    With config.classifier_activation None it reads the backbone pooler output (BERT, ALBERT);
    otherwise it adds its own dense layer with that activation on the first token (RoBERTa, ELECTRA,
    DistilBERT).
    """

    config: TransformerConfig
    num_labels: int

    @nn.compact
    def __call__(self, hidden, pooled, deterministic=True):
        c = self.config
        drop = nn.Dropout(c.classifier_dropout_rate)
        if c.classifier_activation is None:
            x = pooled
        else:
            x = hidden[:, 0]
            if c.classifier_input_dropout:
                x = drop(x, deterministic=deterministic)
            x = dense(c, c.hidden_size, ("embed", "embed_out"), "dense")(x)
            x = activation(c.classifier_activation)(x)
        x = drop(x, deterministic=deterministic)
        return dense(c, self.num_labels, ("embed", "labels"), "out")(x)


class TokenClassifier(nn.Module):
    config: TransformerConfig
    num_labels: int

    @nn.compact
    def __call__(self, hidden, deterministic=True):
        c = self.config
        hidden = nn.Dropout(c.classifier_dropout_rate)(hidden, deterministic=deterministic)
        return dense(c, self.num_labels, ("embed", "labels"), "out")(hidden)


class SentenceRelationHead(nn.Module):
    """Two-way logits on the pooled output: next-sentence (BERT) or sentence-order (ALBERT) prediction."""

    config: TransformerConfig

    @nn.compact
    def __call__(self, pooled, deterministic=True):
        c = self.config
        pooled = nn.Dropout(c.classifier_dropout_rate)(pooled, deterministic=deterministic)
        return dense(c, 2, ("embed", "labels"), "out")(pooled)


class ReplacedTokenHead(nn.Module):
    """ELECTRA discriminator: one logit per token, "was this token replaced?"."""

    config: TransformerConfig

    @nn.compact
    def __call__(self, hidden):
        c = self.config
        h = activation(c.hidden_act)(dense(c, c.hidden_size, ("embed", "embed_out"), "dense")(hidden))
        return dense(c, 1, ("embed", "labels"), "prediction")(h)[..., 0]
