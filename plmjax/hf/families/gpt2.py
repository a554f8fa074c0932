"""GPT-2 <-> HF `gpt2`: a pre-norm causal stack whose projections are Conv1D ([in, out], not transposed),
with query, key and value fused in one c_attn tensor."""

from plmjax.hf.name_map import Entry, FamilySpec
from plmjax.models.config import TransformerConfig

UNSUPPORTED = {
    "scale_attn_by_inverse_layer_idx": True,
    "add_cross_attention": True,
}


def config_from_hf(hf: dict) -> TransformerConfig:
    for key, value in UNSUPPORTED.items():
        if hf.get(key) == value:
            raise ValueError(f"GPT-2 with {key}={value!r} is not supported")
    hidden = hf["n_embd"]
    return TransformerConfig(
        family="gpt2",
        vocab_size=hf["vocab_size"],
        hidden_size=hidden,
        num_layers=hf["n_layer"],
        num_heads=hf["n_head"],
        intermediate_size=hf.get("n_inner") or 4 * hidden,
        max_position_embeddings=hf.get("n_positions", 1024),
        hidden_act=hf.get("activation_function", "gelu_new"),
        hidden_dropout=hf.get("resid_pdrop", 0.1),
        attention_dropout=hf.get("attn_pdrop", 0.1),
        embedding_dropout=hf.get("embd_pdrop", 0.1),
        layer_norm_eps=hf.get("layer_norm_epsilon", 1e-5),
        initializer_range=hf.get("initializer_range", 0.02),
        scale_attention=hf.get("scale_attn_weights", True),
        tie_word_embeddings=hf.get("tie_word_embeddings", True),
        pad_token_id=hf.get("pad_token_id"),
        bos_token_id=hf.get("bos_token_id", 50256),
        eos_token_id=hf.get("eos_token_id", 50256),
        type_vocab_size=0,
        embedding_norm=False,
        pre_norm=True,
        has_pooler=False,
    )


def config_to_hf(c: TransformerConfig) -> dict:
    return dict(
        vocab_size=c.vocab_size,
        n_embd=c.hidden_size,
        n_layer=c.num_layers,
        n_head=c.num_heads,
        n_inner=c.intermediate_size,
        n_positions=c.max_position_embeddings,
        activation_function=c.hidden_act,
        resid_pdrop=c.hidden_dropout,
        attn_pdrop=c.attention_dropout,
        embd_pdrop=c.embedding_dropout_rate,
        layer_norm_epsilon=c.layer_norm_eps,
        initializer_range=c.initializer_range,
        scale_attn_weights=c.scale_attention,
        tie_word_embeddings=c.tie_word_embeddings,
        pad_token_id=c.pad_token_id,
        bos_token_id=c.bos_token_id,
        eos_token_id=c.eos_token_id,
    )


def module_map(c: TransformerConfig, head: str | None) -> dict:
    modules = {
        "embeddings/word_embeddings": Entry("backbone", "wte"),
        "embeddings/position_embeddings": Entry("backbone", "wpe"),
        "decoder/final_norm": Entry("backbone", "ln_f"),
    }
    for i in range(c.num_layers):
        ours, hf = f"decoder/layers_{i}", f"h.{i}"
        modules |= {
            f"{ours}/attention/{name}": Entry("backbone", f"{hf}.attn.c_attn", "conv1d", (index, 3))
            for index, name in enumerate(("query", "key", "value"))
        }
        modules |= {
            f"{ours}/attention/output": Entry("backbone", f"{hf}.attn.c_proj", "conv1d"),
            f"{ours}/attention_norm": Entry("backbone", f"{hf}.ln_1"),
            f"{ours}/mlp/intermediate": Entry("backbone", f"{hf}.mlp.c_fc", "conv1d"),
            f"{ours}/mlp/output": Entry("backbone", f"{hf}.mlp.c_proj", "conv1d"),
            f"{ours}/mlp_norm": Entry("backbone", f"{hf}.ln_2"),
        }
    return modules | {"lm_head": Entry("lm", "lm_head"), "score": Entry("classifier", "score")}


def tied_copies(c: TransformerConfig) -> dict:
    return {"lm_head.weight": "wte.weight"} if c.tie_word_embeddings else {}


SPEC = FamilySpec(
    model_type="gpt2",
    base_prefix="transformer",
    architectures={None: "GPT2Model", "lm": "GPT2LMHeadModel", "classification": "GPT2ForSequenceClassification"},
    config_from_hf=config_from_hf,
    config_to_hf=config_to_hf,
    module_map=module_map,
    tied_copies=tied_copies,
    # Causal-mask buffers that older checkpoints (and transformers 4) saved with every layer.
    buffer_patterns=(r"h\.\d+\.attn\.(bias|masked_bias)",),
)
