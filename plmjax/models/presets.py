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
}


def preset(name: str, **overrides) -> TransformerConfig:
    """The named architecture, with any field overridden (e.g. dtype="bfloat16", num_layers=2)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; presets: {sorted(PRESETS)}")
    return TransformerConfig(**{**PRESETS[name], **overrides})
