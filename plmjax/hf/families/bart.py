"""BART <-> HF `bart`: post-norm encoder and decoder stacks over one shared embedding table, learned positions
offset by 2, layernorm_embedding, final_logits_bias on the LM head, and an EOS-token classification head."""

from plmjax.hf.name_map import Entry, FamilySpec, layer_entries, shared_embedding_copies
from plmjax.models.config import TransformerConfig


def config_from_hf(hf: dict) -> TransformerConfig:
    # HF lets the two sides differ in width; plmjax builds both from one set of fields, as every released
    # BART does (the depths may differ).
    for key in ("ffn_dim", "attention_heads"):
        if hf.get(f"encoder_{key}") != hf.get(f"decoder_{key}"):
            raise ValueError(f"BART with encoder_{key} != decoder_{key} is not supported")
    if hf.get("normalize_before") or hf.get("add_final_layer_norm"):
        raise ValueError("pre-norm BART variants (mBART) are not supported")
    dropout = hf.get("dropout", 0.1)
    return TransformerConfig(
        family="bart",
        vocab_size=hf["vocab_size"],
        hidden_size=hf["d_model"],
        num_layers=hf.get("encoder_layers", 12),
        num_decoder_layers=hf.get("decoder_layers", 12),
        num_heads=hf.get("encoder_attention_heads", 16),
        intermediate_size=hf.get("encoder_ffn_dim", 4096),
        max_position_embeddings=hf.get("max_position_embeddings", 1024),
        position_id_offset=2,
        hidden_act=hf.get("activation_function", "gelu"),
        hidden_dropout=dropout,
        attention_dropout=hf.get("attention_dropout", 0.0),
        activation_dropout=hf.get("activation_dropout", 0.0),
        classifier_dropout=hf.get("classifier_dropout", 0.0),
        initializer_range=hf.get("init_std", 0.02),
        scale_embedding=bool(hf.get("scale_embedding", False)),
        tie_word_embeddings=hf.get("tie_word_embeddings", True),
        pad_token_id=hf.get("pad_token_id", 1),
        bos_token_id=hf.get("bos_token_id", 0),
        eos_token_id=hf.get("eos_token_id", 2),
        decoder_start_token_id=hf.get("decoder_start_token_id", 2),
        forced_bos_token_id=hf.get("forced_bos_token_id"),
        forced_eos_token_id=hf.get("forced_eos_token_id", 2),
        layer_norm_eps=1e-5,
        type_vocab_size=0,
        has_pooler=False,
        final_logits_bias=True,
        classifier_activation="tanh",
    )


def config_to_hf(c: TransformerConfig) -> dict:
    return dict(
        vocab_size=c.vocab_size,
        d_model=c.hidden_size,
        encoder_layers=c.num_layers,
        decoder_layers=c.decoder_layers,
        encoder_attention_heads=c.num_heads,
        decoder_attention_heads=c.num_heads,
        encoder_ffn_dim=c.intermediate_size,
        decoder_ffn_dim=c.intermediate_size,
        max_position_embeddings=c.max_position_embeddings,
        activation_function=c.hidden_act,
        dropout=c.hidden_dropout,
        attention_dropout=c.attention_dropout,
        activation_dropout=c.activation_dropout,
        classifier_dropout=c.classifier_dropout_rate,
        init_std=c.initializer_range,
        scale_embedding=c.scale_embedding,
        tie_word_embeddings=c.tie_word_embeddings,
        pad_token_id=c.pad_token_id,
        bos_token_id=c.bos_token_id,
        eos_token_id=c.eos_token_id,
        decoder_start_token_id=c.decoder_start_token_id,
        forced_bos_token_id=c.forced_bos_token_id,
        forced_eos_token_id=c.forced_eos_token_id,
        is_encoder_decoder=True,
    )


# Our module path in a layer -> HF's module name in `<side>.layers.<i>` (the encoder has no encoder_attn).
LAYER_PARTS = {
    "attention/query": "self_attn.q_proj",
    "attention/key": "self_attn.k_proj",
    "attention/value": "self_attn.v_proj",
    "attention/output": "self_attn.out_proj",
    "attention_norm": "self_attn_layer_norm",
    "cross_attention/query": "encoder_attn.q_proj",
    "cross_attention/key": "encoder_attn.k_proj",
    "cross_attention/value": "encoder_attn.v_proj",
    "cross_attention/output": "encoder_attn.out_proj",
    "cross_attention_norm": "encoder_attn_layer_norm",
    "mlp/intermediate": "fc1",
    "mlp/output": "fc2",
    "mlp_norm": "final_layer_norm",
}


def stack_map(side: str, num_layers: int) -> dict:
    """One side's embeddings and layers; the decoder's layers add cross-attention (HF encoder_attn)."""
    modules = {
        f"{side}_embeddings/position_embeddings": Entry("backbone", f"{side}.embed_positions"),
        f"{side}_embeddings/norm": Entry("backbone", f"{side}.layernorm_embedding"),
    }
    for i in range(num_layers):
        modules |= layer_entries(f"{side}/layers_{i}", f"{side}.layers.{i}", LAYER_PARTS)
    return modules


def module_map(c: TransformerConfig, head: str | None) -> dict:
    modules = {"shared": Entry("backbone", "shared")}
    modules |= stack_map("encoder", c.num_layers) | stack_map("decoder", c.decoder_layers)
    return modules | {
        "lm_head": Entry("lm", "lm_head"),
        "lm_bias": Entry("lm", "final_logits_bias", "row"),
        "classifier/dense": Entry("classifier", "classification_head.dense"),
        "classifier/out": Entry("classifier", "classification_head.out_proj"),
    }


SPEC = FamilySpec(
    model_type="bart",
    base_prefix="model",
    architectures={
        None: "BartModel",
        "lm": "BartForConditionalGeneration",
        "classification": "BartForSequenceClassification",
    },
    config_from_hf=config_from_hf,
    config_to_hf=config_to_hf,
    module_map=module_map,
    tied_copies=shared_embedding_copies,
    # fairseq conversions carry these version counters.
    buffers=("encoder.version", "decoder.version"),
)
