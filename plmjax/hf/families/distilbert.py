"""DistilBERT <-> HF `distilbert`: no token types, no pooler, its own layer names."""

from plmjax.hf.families.bert import task_heads
from plmjax.hf.name_map import Entry, FamilySpec
from plmjax.models.config import TransformerConfig


def config_from_hf(hf: dict) -> TransformerConfig:
    return TransformerConfig(
        family="distilbert",
        vocab_size=hf["vocab_size"],
        hidden_size=hf["dim"],
        num_layers=hf["n_layers"],
        num_heads=hf["n_heads"],
        intermediate_size=hf["hidden_dim"],
        hidden_act=hf.get("activation", "gelu"),
        hidden_dropout=hf.get("dropout", 0.1),
        attention_dropout=hf.get("attention_dropout", 0.1),
        classifier_dropout=hf.get("seq_classif_dropout", 0.2),
        max_position_embeddings=hf.get("max_position_embeddings", 512),
        initializer_range=hf.get("initializer_range", 0.02),
        pad_token_id=hf.get("pad_token_id") or 0,
        tie_word_embeddings=hf.get("tie_word_embeddings", hf.get("tie_weights_", True)),
        type_vocab_size=0,
        has_pooler=False,
        layer_norm_eps=1e-12,
        classifier_activation="relu",
        classifier_input_dropout=False,
    )


def config_to_hf(c: TransformerConfig) -> dict:
    return dict(
        vocab_size=c.vocab_size,
        dim=c.hidden_size,
        n_layers=c.num_layers,
        n_heads=c.num_heads,
        hidden_dim=c.intermediate_size,
        activation=c.hidden_act,
        dropout=c.hidden_dropout,
        attention_dropout=c.attention_dropout,
        seq_classif_dropout=c.classifier_dropout_rate,
        max_position_embeddings=c.max_position_embeddings,
        initializer_range=c.initializer_range,
        pad_token_id=c.pad_token_id,
        tie_word_embeddings=c.tie_word_embeddings,
        sinusoidal_pos_embds=False,
    )


def module_map(c: TransformerConfig, head: str | None) -> dict:
    modules = {
        "embeddings/word_embeddings": Entry("backbone", "embeddings.word_embeddings"),
        "embeddings/position_embeddings": Entry("backbone", "embeddings.position_embeddings"),
        "embeddings/norm": Entry("backbone", "embeddings.LayerNorm"),
    }
    for i in range(c.num_layers):
        ours, hf = f"encoder/layers_{i}", f"transformer.layer.{i}"
        modules |= {
            f"{ours}/attention/query": Entry("backbone", f"{hf}.attention.q_lin"),
            f"{ours}/attention/key": Entry("backbone", f"{hf}.attention.k_lin"),
            f"{ours}/attention/value": Entry("backbone", f"{hf}.attention.v_lin"),
            f"{ours}/attention/output": Entry("backbone", f"{hf}.attention.out_lin"),
            f"{ours}/attention_norm": Entry("backbone", f"{hf}.sa_layer_norm"),
            f"{ours}/mlp/intermediate": Entry("backbone", f"{hf}.ffn.lin1"),
            f"{ours}/mlp/output": Entry("backbone", f"{hf}.ffn.lin2"),
            f"{ours}/mlp_norm": Entry("backbone", f"{hf}.output_layer_norm"),
        }
    modules |= {
        "mlm_head/transform": Entry("mlm", "vocab_transform"),
        "mlm_head/norm": Entry("mlm", "vocab_layer_norm"),
        "mlm_head/bias": Entry("mlm", "vocab_projector.bias"),
        "mlm_head/decoder": Entry("mlm", "vocab_projector"),
    }
    return modules | task_heads(
        {
            "classifier/dense": Entry("classifier", "pre_classifier"),
            "classifier/out": Entry("classifier", "classifier"),
        }
    )


def tied_copies(c: TransformerConfig) -> dict:
    return {"vocab_projector.weight": "embeddings.word_embeddings.weight"} if c.tie_word_embeddings else {}


SPEC = FamilySpec(
    model_type="distilbert",
    base_prefix="distilbert",
    architectures={
        None: "DistilBertModel",
        "mlm": "DistilBertForMaskedLM",
        "classification": "DistilBertForSequenceClassification",
        "token_classification": "DistilBertForTokenClassification",
        "span": "DistilBertForQuestionAnswering",
    },
    config_from_hf=config_from_hf,
    config_to_hf=config_to_hf,
    module_map=module_map,
    tied_copies=tied_copies,
    buffers=("embeddings.position_ids",),
)
