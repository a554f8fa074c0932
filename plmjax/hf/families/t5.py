"""T5 <-> HF `t5`: pre-norm RMSNorm stacks without biases, a relative position bias table in each stack's first
layer (shared by all its layers), ReLU (v1.0) or gated-GELU (v1.1) feed-forward, tied or untied LM head.

transformers 5 always ties T5's lm_head in memory and records the original tying as scale_decoder_outputs;
a checkpoint whose lm_head differs from the shared embeddings is untied whatever config.json says.
"""

import numpy as np

from plmjax.hf.name_map import Entry, FamilySpec, layer_entries, shared_embedding_copies
from plmjax.models.config import TransformerConfig
from plmjax.models.presets import T5_ARCHITECTURE

# feed_forward_proj's activation -> plmjax activation name (T5 gated-gelu means the tanh approximation).
GATED_ACTIVATIONS = {"gelu": "gelu_new"}


def config_from_hf(hf: dict) -> TransformerConfig:
    projection = hf.get("feed_forward_proj", "relu")
    gated = projection.startswith("gated-")
    act = projection.removeprefix("gated-")
    if gated:
        act = GATED_ACTIVATIONS.get(act, act)
    tied = hf.get("tie_word_embeddings", True)
    dropout = hf.get("dropout_rate", 0.1)
    return TransformerConfig(
        family="t5",
        vocab_size=hf["vocab_size"],
        hidden_size=hf["d_model"],
        attention_head_dim=hf.get("d_kv", 64),
        num_layers=hf.get("num_layers", 6),
        num_decoder_layers=hf.get("num_decoder_layers") or hf.get("num_layers", 6),
        num_heads=hf.get("num_heads", 8),
        intermediate_size=hf.get("d_ff", 2048),
        hidden_act=act,
        gated_mlp=gated,
        hidden_dropout=dropout,
        attention_dropout=dropout,
        activation_dropout=dropout,
        classifier_dropout=hf.get("classifier_dropout", 0.0),
        layer_norm_eps=hf.get("layer_norm_epsilon", 1e-6),
        relative_attention_num_buckets=hf.get("relative_attention_num_buckets", 32),
        relative_attention_max_distance=hf.get("relative_attention_max_distance", 128),
        tie_word_embeddings=tied,
        scale_decoder_outputs=hf.get("scale_decoder_outputs", tied),
        pad_token_id=hf.get("pad_token_id", 0),
        eos_token_id=hf.get("eos_token_id", 1),
        decoder_start_token_id=hf.get("decoder_start_token_id", hf.get("pad_token_id", 0)),
        **T5_ARCHITECTURE,
    )


def config_from_weights(c: TransformerConfig, state: dict) -> TransformerConfig:
    lm_head, shared = state.get("lm_head.weight"), state.get("shared.weight")
    if c.tie_word_embeddings and lm_head is not None and shared is not None and not np.array_equal(lm_head, shared):
        return c.replace(tie_word_embeddings=False)
    return c


def config_to_hf(c: TransformerConfig) -> dict:
    act = {v: k for k, v in GATED_ACTIVATIONS.items()}.get(c.hidden_act, c.hidden_act) if c.gated_mlp else c.hidden_act
    return dict(
        vocab_size=c.vocab_size,
        d_model=c.hidden_size,
        d_kv=c.head_dim,
        num_layers=c.num_layers,
        num_decoder_layers=c.decoder_layers,
        num_heads=c.num_heads,
        d_ff=c.intermediate_size,
        feed_forward_proj=f"gated-{act}" if c.gated_mlp else act,
        dropout_rate=c.hidden_dropout,
        classifier_dropout=c.classifier_dropout_rate,
        layer_norm_epsilon=c.layer_norm_eps,
        relative_attention_num_buckets=c.relative_attention_num_buckets,
        relative_attention_max_distance=c.relative_attention_max_distance,
        tie_word_embeddings=c.tie_word_embeddings,
        scale_decoder_outputs=c.scale_decoder_outputs,
        pad_token_id=c.pad_token_id,
        eos_token_id=c.eos_token_id,
        decoder_start_token_id=c.decoder_start_token_id,
        is_encoder_decoder=True,
    )


def stack_map(c: TransformerConfig, side: str, num_layers: int) -> dict:
    """One side's layers: HF numbers a block's sub-layers (self-attention, [cross-attention,] feed-forward)."""
    modules = {
        f"{side}/relative_position_bias": Entry(
            "backbone", f"{side}.block.0.layer.0.SelfAttention.relative_attention_bias"
        ),
        f"{side}/final_norm": Entry("backbone", f"{side}.final_layer_norm"),
    }
    ff = 2 if side == "decoder" else 1
    wi = "wi_0" if c.gated_mlp else "wi"
    parts = {
        "attention/query": "0.SelfAttention.q",
        "attention/key": "0.SelfAttention.k",
        "attention/value": "0.SelfAttention.v",
        "attention/output": "0.SelfAttention.o",
        "attention_norm": "0.layer_norm",
        "cross_attention/query": "1.EncDecAttention.q",
        "cross_attention/key": "1.EncDecAttention.k",
        "cross_attention/value": "1.EncDecAttention.v",
        "cross_attention/output": "1.EncDecAttention.o",
        "cross_attention_norm": "1.layer_norm",
        "mlp/intermediate": f"{ff}.DenseReluDense.{wi}",
        "mlp/intermediate_linear": f"{ff}.DenseReluDense.wi_1",
        "mlp/output": f"{ff}.DenseReluDense.wo",
        "mlp_norm": f"{ff}.layer_norm",
    }
    for i in range(num_layers):
        modules |= layer_entries(f"{side}/layers_{i}", f"{side}.block.{i}.layer", parts)
    return modules


def module_map(c: TransformerConfig, head: str | None) -> dict:
    modules = {"shared": Entry("backbone", "shared")}
    modules |= stack_map(c, "encoder", c.num_layers) | stack_map(c, "decoder", c.decoder_layers)
    return modules | {"lm_head": Entry("lm", "lm_head")}


SPEC = FamilySpec(
    model_type="t5",
    # T5's head models hold the encoder and decoder at the top level, with no base-model prefix.
    base_prefix="",
    architectures={None: "T5Model", "lm": "T5ForConditionalGeneration"},
    config_from_hf=config_from_hf,
    config_to_hf=config_to_hf,
    module_map=module_map,
    tied_copies=shared_embedding_copies,
    # A cross-attention position bias old conversions saved; T5 never uses it (transformers ignores it too).
    buffers=("decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight",),
    config_from_weights=config_from_weights,
)
