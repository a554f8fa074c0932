"""MPNet <-> HF `mpnet`: RoBERTa's post-norm layers and heads under MPNet's own names, no token types, plus
one bucketed relative position bias table (encoder.relative_attention_bias) shared by every layer."""

from plmjax.hf.families.bert import bert_style_config_fields, bert_style_config_to_hf, mlm_output, task_heads
from plmjax.hf.name_map import Entry, FamilySpec, layer_entries
from plmjax.models.config import TransformerConfig
from plmjax.models.presets import MPNET_ARCHITECTURE


def config_from_hf(hf: dict) -> TransformerConfig:
    # transformers hard-codes what MPNET_ARCHITECTURE fixes; a config.json saying otherwise describes a model
    # that transformers runs differently from what it says, so refuse it rather than guess.
    for key in ("pad_token_id", "relative_attention_num_buckets"):
        if key in hf and hf[key] != MPNET_ARCHITECTURE[key]:
            raise ValueError(
                f"{key}={hf[key]} is not supported: transformers' MPNet hard-codes {MPNET_ARCHITECTURE[key]}"
            )
    # classifier_dropout None: MPNet's classification head drops out at hidden_dropout_prob.
    return TransformerConfig(
        **bert_style_config_fields(hf)
        | MPNET_ARCHITECTURE
        | dict(classifier_dropout=None, bos_token_id=hf.get("bos_token_id", 0), eos_token_id=hf.get("eos_token_id", 2))
    )


# Keys of BERT's config.json that MPNet's does not have (no token types, no classifier_dropout, one position
# scheme).
NOT_MPNET_KEYS = ("type_vocab_size", "classifier_dropout", "position_embedding_type")


def config_to_hf(c: TransformerConfig) -> dict:
    hf = {k: v for k, v in bert_style_config_to_hf(c).items() if k not in NOT_MPNET_KEYS}
    return hf | {
        "relative_attention_num_buckets": c.relative_attention_num_buckets,
        "bos_token_id": c.bos_token_id,
        "eos_token_id": c.eos_token_id,
    }


LAYER_PARTS = {
    "attention/query": "attention.attn.q",
    "attention/key": "attention.attn.k",
    "attention/value": "attention.attn.v",
    "attention/output": "attention.attn.o",
    "attention_norm": "attention.LayerNorm",
    "mlp/intermediate": "intermediate.dense",
    "mlp/output": "output.dense",
    "mlp_norm": "output.LayerNorm",
}
MLM_BIAS, MLM_DECODER = "lm_head.bias", "lm_head.decoder"


def module_map(c: TransformerConfig, head: str | None) -> dict:
    modules = {
        "embeddings/word_embeddings": Entry("backbone", "embeddings.word_embeddings"),
        "embeddings/position_embeddings": Entry("backbone", "embeddings.position_embeddings"),
        "embeddings/norm": Entry("backbone", "embeddings.LayerNorm"),
        "encoder/relative_position_bias": Entry("backbone", "encoder.relative_attention_bias"),
        "pooler/dense": Entry("pooler", "pooler.dense"),
        "mlm_head/transform": Entry("mlm", "lm_head.dense"),
        "mlm_head/norm": Entry("mlm", "lm_head.layer_norm"),
    }
    for i in range(c.num_layers):
        modules |= layer_entries(f"encoder/layers_{i}", f"encoder.layer.{i}", LAYER_PARTS)
    modules |= mlm_output(c, MLM_BIAS, MLM_DECODER)[0]
    return modules | task_heads(
        {
            "classifier/dense": Entry("classifier", "classifier.dense"),
            "classifier/out": Entry("classifier", "classifier.out_proj"),
        }
    )


def tied_copies(c: TransformerConfig) -> dict:
    return mlm_output(c, MLM_BIAS, MLM_DECODER)[1]


SPEC = FamilySpec(
    model_type="mpnet",
    base_prefix="mpnet",
    architectures={
        None: "MPNetModel",
        "mlm": "MPNetForMaskedLM",
        "classification": "MPNetForSequenceClassification",
        "token_classification": "MPNetForTokenClassification",
        "span": "MPNetForQuestionAnswering",
    },
    config_from_hf=config_from_hf,
    config_to_hf=config_to_hf,
    module_map=module_map,
    tied_copies=tied_copies,
    # The int64 position index transformers registers (non-persistent today; older saves, all-mpnet-base-v2
    # among them, wrote it to the file).
    buffers=("embeddings.position_ids",),
)
