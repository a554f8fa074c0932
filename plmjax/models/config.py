"""One config dataclass for every architecture; families differ only in field values."""

import dataclasses
from typing import Any

import jax.numpy as jnp

from plmjax.models.activations import activation
from plmjax.models.hooks import PeftConfig

ENCODER_FAMILIES = ("bert", "roberta", "albert", "electra", "distilbert", "mpnet")
DECODER_FAMILIES = ("gpt2", "transfo_xl")
SEQ2SEQ_FAMILIES = ("bart", "t5")
# Permutation language models: two-stream attention over a factorisation order (XLNet).
PERMUTATION_FAMILIES = ("xlnet",)
FAMILIES = ENCODER_FAMILIES + DECODER_FAMILIES + SEQ2SEQ_FAMILIES + PERMUTATION_FAMILIES
NORM_TYPES = ("layernorm", "rmsnorm")
POSITION_EMBEDDING_TYPES = ("absolute", "relative_buckets", "absolute+relative_buckets", "relative_sinusoid")


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
    # None: the model has no padding token (GPT-2); classification then reads the last position.
    pad_token_id: int | None = 0
    # RoBERTa: positions count from pad_token_id + 1 and skip padding tokens.
    positions_from_padding: bool = False
    hidden_act: str = "gelu"
    # Activation inside the MLM head; None means hidden_act (RoBERTa and ELECTRA hard-code gelu).
    mlm_head_act: str | None = None
    layer_norm_eps: float = 1e-12
    hidden_dropout: float = 0.1
    attention_dropout: float = 0.1
    # Dropout on the embeddings; None means hidden_dropout (GPT-2 has its own embd_pdrop).
    embedding_dropout: float | None = None
    # Dropout between the feed-forward's activation and its output projection (BART, T5).
    activation_dropout: float = 0.0
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

    # --- Layer layout (defaults: BERT's post-norm LayerNorm layers with biases) ---
    norm_type: str = "layernorm"  # or "rmsnorm" (T5: scale only, no mean subtraction, no bias)
    # Pre-norm layers normalise each sub-block's input and end the stack with a final norm (GPT-2, T5);
    # post-norm layers normalise after each residual addition (BERT, BART).
    pre_norm: bool = False
    # Biases on the attention and feed-forward projections (T5 has none).
    use_bias: bool = True
    # Biases on the attention projections alone (Transformer-XL and XLNet have none, but feed-forward biases).
    attention_projection_bias: bool = True
    # Gated feed-forward: act(x W_0) * (x W_1) then W_out (T5 v1.1 gated-gelu).
    gated_mlp: bool = False
    # Attention head width; None means hidden_size // num_heads (T5 sets d_kv independently).
    attention_head_dim: int | None = None
    # Scale attention scores by 1/sqrt(head_dim); T5 folds the scale into its initialisation instead.
    scale_attention: bool = True

    # --- Embeddings ---
    # "absolute": learned position embeddings; "relative_buckets": T5's bucketed relative attention bias,
    # computed once per stack and shared by its layers; "absolute+relative_buckets": both (MPNet);
    # "relative_sinusoid": Transformer-XL's sinusoids of query-key distances, projected in every layer, with
    # learned content and position biases per layer (plmjax.models.relative_positions).
    position_embedding_type: str = "absolute"
    # Transformer-XL's segment recurrence: each layer also attends to the last memory_length hidden states of
    # earlier segments (the model takes and returns them; no gradient flows into them). 0: no memory.
    memory_length: int = 0
    # Distances above this share its sinusoid (Transformer-XL's clamp_len); None: no clamp.
    clamp_length: int | None = None
    # The LM head as an adaptive softmax (plmjax.models.adaptive_softmax, Transformer-XL's option): the
    # vocabulary, sorted by frequency, cut at these ids into a head and tail clusters, cluster i projected to
    # hidden_size / div_value^(i + 1). (): a full softmax.
    adaptive_softmax_cutoffs: tuple[int, ...] = ()
    adaptive_softmax_div_value: float = 4.0
    # XLNet's relative segment encoding: a learned score for "same" or "different" token type of query and key
    # (segment_bias, segment_embedding per layer) instead of token-type embeddings.
    relative_segment_encoding: bool = False
    relative_attention_num_buckets: int = 32
    relative_attention_max_distance: int = 128
    # Added to position ids before the lookup (BART's learned positions start at 2).
    position_id_offset: int = 0
    # Multiply word embeddings by sqrt(hidden_size) (BART with scale_embedding).
    scale_embedding: bool = False
    # LayerNorm on the summed embeddings (BERT, BART's layernorm_embedding); GPT-2 and T5 have none.
    embedding_norm: bool = True

    # --- Decoders and encoder-decoders ---
    # Decoder depth of an encoder-decoder; None means num_layers.
    num_decoder_layers: int | None = None
    # T5 with tied embeddings multiplies the decoder output by hidden_size ** -0.5 before the LM head.
    scale_decoder_outputs: bool = False
    # BART's final_logits_bias: a bias on the LM head's logits.
    final_logits_bias: bool = False
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    decoder_start_token_id: int | None = None
    # Generation defaults carried by the checkpoint (BART forces EOS as the last token).
    forced_bos_token_id: int | None = None
    forced_eos_token_id: int | None = None

    initializer_range: float = 0.02
    # Compute dtype and storage dtype of the parameters, by name ("float32", "bfloat16").
    dtype: str = "float32"
    param_dtype: str = "float32"
    # Rematerialise each layer in the backward pass (trades compute for activation memory).
    remat: bool = False
    # Parameter-efficient modules (LoRA, IA3, adapters, prefixes, soft prompts); all off by default.
    peft: PeftConfig = PeftConfig()

    def __post_init__(self):
        # A list from a JSON config or a command line: a tuple keeps the config hashable.
        object.__setattr__(self, "adaptive_softmax_cutoffs", tuple(self.adaptive_softmax_cutoffs))
        if self.family not in FAMILIES:
            raise ValueError(f"unknown family {self.family!r}; families: {list(FAMILIES)}")
        if self.attention_head_dim is None and self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}")
        if self.norm_type not in NORM_TYPES:
            raise ValueError(f"norm_type {self.norm_type!r} is not one of {NORM_TYPES}")
        if self.position_embedding_type not in POSITION_EMBEDDING_TYPES:
            raise ValueError(
                f"position_embedding_type {self.position_embedding_type!r} is not one of {POSITION_EMBEDDING_TYPES}"
            )
        if self.num_layers % self.hidden_groups:
            raise ValueError(f"num_layers {self.num_layers} is not divisible by num_hidden_groups {self.hidden_groups}")
        if self.relative_segment_encoding and not self.has_relative_sinusoids:
            raise ValueError("relative_segment_encoding needs position_embedding_type='relative_sinusoid'")
        cutoffs = self.adaptive_softmax_cutoffs
        if cutoffs and (list(cutoffs) != sorted(set(cutoffs)) or cutoffs[0] <= 0 or cutoffs[-1] >= self.vocab_size):
            raise ValueError(
                f"adaptive_softmax_cutoffs {cutoffs} must increase strictly within (0, vocab_size {self.vocab_size})"
            )
        if cutoffs and self.tie_word_embeddings:
            raise ValueError("an adaptive softmax has its own output layers: set tie_word_embeddings=False")
        if self.memory_length and not self.has_relative_sinusoids:
            raise ValueError(
                "memory_length > 0 needs position_embedding_type='relative_sinusoid': absolute positions "
                "cannot tell a segment's tokens from the memory's"
            )
        for name in ("dtype", "param_dtype"):
            if getattr(self, name) not in ("float32", "bfloat16", "float16"):
                raise ValueError(f"{name}={getattr(self, name)!r}; choose float32, bfloat16 or float16")
        for name in ("hidden_act", "mlm_head_act", "classifier_activation"):
            if getattr(self, name) is not None:
                activation(getattr(self, name))  # fails early on an unknown activation

    @property
    def head_dim(self) -> int:
        return self.attention_head_dim or self.hidden_size // self.num_heads

    @property
    def has_absolute_positions(self) -> bool:
        """Learned position embeddings added to the token embeddings."""
        return self.position_embedding_type in ("absolute", "absolute+relative_buckets")

    @property
    def has_relative_bias(self) -> bool:
        """A bucketed relative position bias on the attention scores, one table per stack."""
        return self.position_embedding_type in ("relative_buckets", "absolute+relative_buckets")

    @property
    def has_relative_sinusoids(self) -> bool:
        """Transformer-XL's relative attention: sinusoids of distances, content and position biases."""
        return self.position_embedding_type == "relative_sinusoid"

    @property
    def attention_bias_terms(self) -> bool:
        """Whether the attention projections have biases."""
        return self.use_bias and self.attention_projection_bias

    @property
    def is_encoder_decoder(self) -> bool:
        return self.family in SEQ2SEQ_FAMILIES

    @property
    def decoder_layers(self) -> int:
        return self.num_decoder_layers or self.num_layers

    @property
    def embedding_dropout_rate(self) -> float:
        return self.hidden_dropout if self.embedding_dropout is None else self.embedding_dropout

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
    def classifier_dropout_rate(self) -> float:
        return self.hidden_dropout if self.classifier_dropout is None else self.classifier_dropout

    @property
    def compute_dtype(self) -> Any:
        return jnp.dtype(self.dtype)

    @property
    def params_dtype(self) -> Any:
        return jnp.dtype(self.param_dtype)

    def replace(self, **changes) -> "TransformerConfig":
        valid = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - valid)
        if unknown:
            raise TypeError(f"unknown TransformerConfig fields {unknown}; valid fields: {sorted(valid)}")
        return dataclasses.replace(self, **changes)
