"""XLNet <-> HF `xlnet`: relative attention whose projections are [hidden, heads, head_dim] tensors
(rel_attn.q/k/v/r, and o read the other way), per-layer content, position and segment biases and segment
embeddings, post-norm layers, a mask embedding for the query stream and an LM head tied to the word embeddings
with its own bias (lm_loss)."""

from plmjax.hf.name_map import Entry, FamilySpec, layer_entries
from plmjax.models.config import TransformerConfig
from plmjax.models.presets import XLNET_ARCHITECTURE

# (HF config key, the only value plmjax runs): what the model would compute differently otherwise.
REQUIRED = {"attn_type": "bi", "bi_data": False, "same_length": False, "untie_r": True}


def config_from_hf(hf: dict) -> TransformerConfig:
    for key, value in REQUIRED.items():
        if hf.get(key, value) != value:
            raise ValueError(f"XLNet with {key}={hf[key]!r} is not supported (plmjax runs {key}={value!r})")
    hidden, heads = hf["d_model"], hf["n_head"]
    head_dim = hf.get("d_head", hidden // heads)
    clamp = hf.get("clamp_len", -1)
    fields = dict(
        XLNET_ARCHITECTURE,
        vocab_size=hf["vocab_size"],
        hidden_size=hidden,
        num_layers=hf["n_layer"],
        num_heads=heads,
        attention_head_dim=None if head_dim * heads == hidden else head_dim,
        intermediate_size=hf["d_inner"],
        hidden_act=hf.get("ff_activation", "gelu"),
        hidden_dropout=hf.get("dropout", 0.1),
        activation_dropout=hf.get("dropout", 0.1),
        attention_dropout=hf.get("dropout", 0.1),
        layer_norm_eps=hf.get("layer_norm_eps", 1e-12),
        initializer_range=hf.get("initializer_range", 0.02),
        clamp_length=clamp if clamp and clamp > 0 else None,
        # HF keeps mem_len for when memories are passed in; plmjax turns a memory on by config (memory_length),
        # since a model with one always attends over its slots.
        memory_length=0,
        tie_word_embeddings=hf.get("tie_word_embeddings", True),
        pad_token_id=hf.get("pad_token_id", 5),
        bos_token_id=hf.get("bos_token_id", 1),
        eos_token_id=hf.get("eos_token_id", 2),
    )
    return TransformerConfig(**fields)


def config_to_hf(c: TransformerConfig) -> dict:
    return dict(
        vocab_size=c.vocab_size,
        d_model=c.hidden_size,
        n_layer=c.num_layers,
        n_head=c.num_heads,
        d_head=c.head_dim,
        d_inner=c.intermediate_size,
        ff_activation=c.hidden_act,
        dropout=c.hidden_dropout,
        layer_norm_eps=c.layer_norm_eps,
        initializer_range=c.initializer_range,
        clamp_len=c.clamp_length or -1,
        mem_len=c.memory_length or None,
        tie_word_embeddings=c.tie_word_embeddings,
        pad_token_id=c.pad_token_id,
        bos_token_id=c.bos_token_id,
        eos_token_id=c.eos_token_id,
        **REQUIRED,
    )


LAYER_PARTS = {"attention_norm": "rel_attn.layer_norm", "mlp/intermediate": "ff.layer_1", "mlp/output": "ff.layer_2"}
LAYER_PARTS |= {"mlp_norm": "ff.layer_norm"}
# Per-layer parameters stored under their own HF names.
LAYER_PARAMETERS = {
    "attention/content_bias": "rel_attn.r_w_bias",
    "attention/position_bias": "rel_attn.r_r_bias",
    "attention/segment_bias": "rel_attn.r_s_bias",
    "attention/segment_embedding": "rel_attn.seg_embed",
}
PROJECTIONS = {"query": "q", "key": "k", "value": "v", "relative_position": "r"}


def module_map(c: TransformerConfig, head: str | None) -> dict:
    modules = {
        "embeddings/word_embeddings": Entry("backbone", "word_embedding"),
        "mask_embedding": Entry("backbone", "mask_emb"),
        "lm_bias": Entry("lm", "lm_loss.bias"),
    }
    for i in range(c.num_layers):
        ours, hf = f"encoder/layers_{i}", f"layer.{i}"
        modules |= layer_entries(ours, hf, LAYER_PARTS)
        modules |= {f"{ours}/{mine}": Entry("backbone", f"{hf}.{theirs}") for mine, theirs in LAYER_PARAMETERS.items()}
        modules |= {
            f"{ours}/attention/{mine}/kernel": Entry(
                "backbone", f"{hf}.rel_attn.{theirs}", "heads_in", heads=c.num_heads
            )
            for mine, theirs in PROJECTIONS.items()
        }
        modules[f"{ours}/attention/output/kernel"] = Entry(
            "backbone", f"{hf}.rel_attn.o", "heads_out", heads=c.num_heads
        )
    return modules


def tied_copies(c: TransformerConfig) -> dict:
    return {"lm_loss.weight": "word_embedding.weight"}


SPEC = FamilySpec(
    model_type="xlnet",
    base_prefix="transformer",
    architectures={None: "XLNetModel", "lm": "XLNetLMHeadModel"},
    config_from_hf=config_from_hf,
    config_to_hf=config_to_hf,
    module_map=module_map,
    tied_copies=tied_copies,
)
