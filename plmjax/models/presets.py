"""Published architectures by name, for random-init experiments and benchmarks.

Each preset is exactly the HF config of the released checkpoint, so weights imported later fit.
"""

from plmjax.models.config import TransformerConfig

_ROBERTA = dict(
    family="roberta",
    vocab_size=50265,
    max_position_embeddings=514,
    type_vocab_size=1,
    pad_token_id=1,
    positions_from_padding=True,
    layer_norm_eps=1e-5,
    mlm_head_act="gelu",
    classifier_activation="tanh",
)
_ALBERT = dict(
    family="albert",
    vocab_size=30000,
    embedding_size=128,
    num_hidden_groups=1,
    hidden_act="gelu_new",
    hidden_dropout=0.0,
    attention_dropout=0.0,
    layer_norm_eps=1e-12,
)
_ELECTRA = dict(family="electra", has_pooler=False, mlm_head_act="gelu", classifier_activation="gelu")
_DISTILBERT = dict(
    family="distilbert",
    num_layers=6,
    type_vocab_size=0,
    has_pooler=False,
    classifier_activation="relu",
    classifier_input_dropout=False,
    classifier_dropout=0.2,
)
# What makes a Transformer MPNet's, whatever its size (plmjax.hf.families.mpnet reads it too): RoBERTa's
# embeddings without token types (transformers hard-codes its padding index at 1) plus one bucketed relative
# position bias shared by every layer (transformers hard-codes T5's bidirectional 32 buckets up to distance 128).
MPNET_ARCHITECTURE = dict(
    family="mpnet",
    type_vocab_size=0,
    pad_token_id=1,
    positions_from_padding=True,
    position_embedding_type="absolute+relative_buckets",
    relative_attention_num_buckets=32,
    relative_attention_max_distance=128,
    mlm_head_act="gelu",
    classifier_activation="tanh",
)
_MPNET = dict(
    MPNET_ARCHITECTURE,
    vocab_size=30527,
    max_position_embeddings=514,
    layer_norm_eps=1e-5,
    bos_token_id=0,
    eos_token_id=2,
)
_GPT2 = dict(
    family="gpt2",
    vocab_size=50257,
    max_position_embeddings=1024,
    hidden_act="gelu_new",
    layer_norm_eps=1e-5,
    type_vocab_size=0,
    pad_token_id=None,
    bos_token_id=50256,
    eos_token_id=50256,
    embedding_norm=False,
    pre_norm=True,
    has_pooler=False,
)
_BART = dict(
    family="bart",
    vocab_size=50265,
    max_position_embeddings=1024,
    position_id_offset=2,
    layer_norm_eps=1e-5,
    activation_dropout=0.1,
    classifier_dropout=0.0,
    type_vocab_size=0,
    pad_token_id=1,
    bos_token_id=0,
    eos_token_id=2,
    decoder_start_token_id=2,
    forced_eos_token_id=2,
    has_pooler=False,
    final_logits_bias=True,
    classifier_activation="tanh",
)
# What makes a Transformer Transformer-XL's (Dai et al. 2019): post-norm layers without attention biases, ReLU
# feed-forward with dropout inside it, no absolute positions but relative attention over sinusoids of distances,
# embeddings scaled by sqrt(hidden) with no norm, and a segment memory (plmjax.models.segment_memory).
TRANSFORMER_XL_ARCHITECTURE = dict(
    family="transfo_xl",
    position_embedding_type="relative_sinusoid",
    attention_projection_bias=False,
    hidden_act="relu",
    scale_embedding=True,
    embedding_norm=False,
    type_vocab_size=0,
    pad_token_id=None,
    has_pooler=False,
    layer_norm_eps=1e-5,
)
# The paper's WikiText-103 base model (16 layers, d 410, 10 heads of 41, inner 2100, memory 150).
_TRANSFORMER_XL_BASE = dict(
    TRANSFORMER_XL_ARCHITECTURE,
    vocab_size=267735,
    hidden_size=410,
    num_layers=16,
    num_heads=10,
    attention_head_dim=41,
    intermediate_size=2100,
    hidden_dropout=0.1,
    activation_dropout=0.1,
    attention_dropout=0.0,
    memory_length=150,
    clamp_length=1000,
)
# What makes a Transformer XLNet's (Yang et al. 2019; plmjax.hf.families.xlnet reads it too): Transformer-XL's
# relative attention in both directions with relative segments, post-norm layers, no attention biases, plain
# embeddings (no scaling, no norm, no token types) and an LM head with a bias (plmjax.models.xlnet).
XLNET_ARCHITECTURE = dict(
    family="xlnet",
    position_embedding_type="relative_sinusoid",
    relative_segment_encoding=True,
    attention_projection_bias=False,
    embedding_norm=False,
    type_vocab_size=0,
    has_pooler=False,
    pad_token_id=5,
    bos_token_id=1,
    eos_token_id=2,
)
_XLNET = dict(
    XLNET_ARCHITECTURE, vocab_size=32000, hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072
)
# What makes a Transformer T5's, whatever its size or version (plmjax.hf.families.t5 reads it too).
T5_ARCHITECTURE = dict(
    norm_type="rmsnorm",
    pre_norm=True,
    use_bias=False,
    scale_attention=False,
    position_embedding_type="relative_buckets",
    embedding_norm=False,
    type_vocab_size=0,
    has_pooler=False,
)
_T5 = dict(
    T5_ARCHITECTURE,
    family="t5",
    vocab_size=32128,
    attention_head_dim=64,
    hidden_act="relu",
    hidden_dropout=0.1,
    attention_dropout=0.1,
    activation_dropout=0.1,
    layer_norm_eps=1e-6,
    scale_decoder_outputs=True,
    pad_token_id=0,
    eos_token_id=1,
    decoder_start_token_id=0,
)
# T5 v1.1: gated-GELU feed-forward, untied LM head (so no output rescaling).
_T5_V1_1 = dict(_T5, hidden_act="gelu_new", gated_mlp=True, tie_word_embeddings=False, scale_decoder_outputs=False)

PRESETS = {
    "bert-base": dict(),
    "bert-large": dict(hidden_size=1024, num_layers=24, num_heads=16, intermediate_size=4096),
    "minilm-l6-h384": dict(hidden_size=384, num_layers=6, intermediate_size=1536),
    "roberta-base": dict(_ROBERTA),
    "roberta-large": dict(_ROBERTA, hidden_size=1024, num_layers=24, num_heads=16, intermediate_size=4096),
    "albert-base-v2": dict(_ALBERT),
    "albert-large-v2": dict(_ALBERT, hidden_size=1024, num_layers=24, num_heads=16, intermediate_size=4096),
    "electra-small-discriminator": dict(
        _ELECTRA, hidden_size=256, num_heads=4, intermediate_size=1024, embedding_size=128
    ),
    "electra-small-generator": dict(_ELECTRA, hidden_size=256, num_heads=4, intermediate_size=1024, embedding_size=128),
    "electra-base-discriminator": dict(_ELECTRA),
    "electra-base-generator": dict(_ELECTRA, hidden_size=256, num_heads=4, intermediate_size=1024),
    "distilbert-base": dict(_DISTILBERT),
    "mpnet-base": dict(_MPNET),
    "gpt2": dict(_GPT2),
    "gpt2-medium": dict(_GPT2, hidden_size=1024, num_layers=24, num_heads=16, intermediate_size=4096),
    "transfo-xl-base": dict(_TRANSFORMER_XL_BASE),
    "xlnet-base-cased": dict(_XLNET, activation_dropout=0.1),
    "xlnet-large-cased": dict(
        _XLNET, activation_dropout=0.1, hidden_size=1024, num_layers=24, num_heads=16, intermediate_size=4096
    ),
    "bart-base": dict(_BART, hidden_size=768, num_layers=6, num_heads=12, intermediate_size=3072),
    "bart-large": dict(_BART, hidden_size=1024, num_layers=12, num_heads=16, intermediate_size=4096),
    "t5-small": dict(_T5, hidden_size=512, num_layers=6, num_heads=8, intermediate_size=2048),
    "t5-base": dict(_T5, hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072),
    "t5-v1_1-small": dict(_T5_V1_1, hidden_size=512, num_layers=8, num_heads=6, intermediate_size=1024),
    "t5-v1_1-base": dict(_T5_V1_1, hidden_size=768, num_layers=12, num_heads=12, intermediate_size=2048),
}


def preset(name: str, **overrides) -> TransformerConfig:
    """The named architecture, with any field overridden (e.g. dtype="bfloat16", num_layers=2)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; presets: {sorted(PRESETS)}")
    return TransformerConfig(**{**PRESETS[name], **overrides})
