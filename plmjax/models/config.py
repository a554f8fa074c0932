"""One config dataclass for every architecture; families differ only in field values."""

import dataclasses
from typing import Any

import jax.numpy as jnp

FAMILIES = ("bert", "roberta", "albert", "electra", "distilbert")


@dataclasses.dataclass(frozen=True)
class TransformerConfig:
    """Architecture of a Transformer PLM.

    Field defaults describe BERT-base; presets and the HF importers set the others.
    """

    family: str = "bert"
    vocab_size: int = 30522
    hidden_size: int = 768
    num_layers: int = 12
    num_heads: int = 12
    intermediate_size: int = 3072
    # Factorised embeddings (ALBERT, ELECTRA): token embeddings of this width, projected to hidden_size.
    embedding_size: int | None = None
    max_position_embeddings: int = 512
    # 0 means the model has no token-type embeddings (DistilBERT).
    type_vocab_size: int = 2
    pad_token_id: int = 0
    # RoBERTa: positions count from pad_token_id + 1 and skip padding tokens.
    positions_from_padding: bool = False
    hidden_act: str = "gelu"
    # Activation inside the MLM head; None means hidden_act (RoBERTa and ELECTRA hard-code gelu).
    mlm_head_act: str | None = None
    layer_norm_eps: float = 1e-12
    hidden_dropout: float = 0.1
    attention_dropout: float = 0.1
    classifier_dropout: float | None = None
    # Cross-layer sharing (ALBERT): layers are split into groups that each reuse inner_group_num layers.
    num_hidden_groups: int | None = None
    inner_group_num: int = 1
    # Backbone pooler (dense + tanh on the first token): BERT, ALBERT and RoBERTa have one.
    has_pooler: bool = True
    # Sequence classification: None uses the pooler output (BERT, ALBERT); an activation name adds a
    # dense layer on the first token (RoBERTa tanh, ELECTRA gelu, DistilBERT relu).
    classifier_activation: str | None = None
    classifier_input_dropout: bool = True
    tie_word_embeddings: bool = True
    initializer_range: float = 0.02
    # Compute dtype and storage dtype of the parameters, by name ("float32", "bfloat16").
    dtype: str = "float32"
    param_dtype: str = "float32"
    # Rematerialise each layer in the backward pass (trades compute for activation memory).
    remat: bool = False

    def __post_init__(self):
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}")
        if self.num_layers % self.hidden_groups:
            raise ValueError(f"num_layers {self.num_layers} is not divisible by num_hidden_groups {self.hidden_groups}")
        for name in ("dtype", "param_dtype"):
            jnp.dtype(getattr(self, name))  # fails early on a misspelt dtype

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    @property
    def embed_size(self) -> int:
        return self.embedding_size or self.hidden_size

    @property
    def projects_embeddings(self) -> bool:
        """ALBERT always maps embeddings to the hidden size; ELECTRA only when the sizes differ."""
        return self.family == "albert" or self.embed_size != self.hidden_size

    @property
    def hidden_groups(self) -> int:
        return self.num_hidden_groups or self.num_layers

    @property
    def position_offset(self) -> int:
        return self.pad_token_id + 1 if self.positions_from_padding else 0

    @property
    def classifier_dropout_rate(self) -> float:
        return self.hidden_dropout if self.classifier_dropout is None else self.classifier_dropout

    @property
    def compute_dtype(self) -> Any:
        return jnp.dtype(self.dtype)

    @property
    def params_dtype(self) -> Any:
        return jnp.dtype(self.param_dtype)

    def replace(self, **changes) -> "TransformerConfig":
        return dataclasses.replace(self, **changes)
