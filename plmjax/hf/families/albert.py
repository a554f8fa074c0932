"""ALBERT <-> HF `albert`: factorised embeddings, layer groups shared across depth, SOP head."""

from plmjax.hf.families.bert import BUFFERS, bert_style_config_fields, bert_style_config_to_hf, mlm_output, task_heads
from plmjax.hf.name_map import Entry, FamilySpec
from plmjax.models.config import TransformerConfig


def config_from_hf(hf: dict) -> TransformerConfig:
    fields = bert_style_config_fields(hf)
    fields["classifier_dropout"] = hf.get("classifier_dropout_prob", 0.1)
    return TransformerConfig(
        family="albert",
        embedding_size=hf.get("embedding_size", 128),
        num_hidden_groups=hf.get("num_hidden_groups", 1),
        inner_group_num=hf.get("inner_group_num", 1),
        **fields,
    )


def config_to_hf(c: TransformerConfig) -> dict:
    hf = bert_style_config_to_hf(c)
    del hf["classifier_dropout"]
    return hf | {
        "embedding_size": c.embed_size,
        "num_hidden_groups": c.hidden_groups,
        "inner_group_num": c.inner_group_num,
        "classifier_dropout_prob": c.classifier_dropout_rate,
    }


def module_map(c: TransformerConfig, head: str | None) -> dict:
    modules = {
        "embeddings/word_embeddings": Entry("backbone", "embeddings.word_embeddings"),
        "embeddings/position_embeddings": Entry("backbone", "embeddings.position_embeddings"),
        "embeddings/token_type_embeddings": Entry("backbone", "embeddings.token_type_embeddings"),
        "embeddings/norm": Entry("backbone", "embeddings.LayerNorm"),
        "embeddings/projection": Entry("backbone", "encoder.embedding_hidden_mapping_in"),
    }
    for group in range(c.hidden_groups):
        for inner in range(c.inner_group_num):
            ours = f"encoder/layers_{group * c.inner_group_num + inner}"
            hf = f"encoder.albert_layer_groups.{group}.albert_layers.{inner}"
            modules |= {
                f"{ours}/attention/query": Entry("backbone", f"{hf}.attention.query"),
                f"{ours}/attention/key": Entry("backbone", f"{hf}.attention.key"),
                f"{ours}/attention/value": Entry("backbone", f"{hf}.attention.value"),
                f"{ours}/attention/output": Entry("backbone", f"{hf}.attention.dense"),
                f"{ours}/attention_norm": Entry("backbone", f"{hf}.attention.LayerNorm"),
                f"{ours}/mlp/intermediate": Entry("backbone", f"{hf}.ffn"),
                f"{ours}/mlp/output": Entry("backbone", f"{hf}.ffn_output"),
                f"{ours}/mlp_norm": Entry("backbone", f"{hf}.full_layer_layer_norm"),
            }
    modules |= {
        "pooler/dense": Entry("pooler", "pooler"),
        "mlm_head/transform": Entry("mlm", "predictions.dense"),
        "mlm_head/norm": Entry("mlm", "predictions.LayerNorm"),
        "sentence_head/out": Entry("sentence", "sop_classifier.classifier"),
    }
    modules |= mlm_output(c, "predictions.bias", "predictions.decoder")[0]
    return modules | task_heads({"classifier/out": Entry("classifier", "classifier")})


def tied_copies(c: TransformerConfig) -> dict:
    return mlm_output(c, "predictions.bias", "predictions.decoder")[1]


SPEC = FamilySpec(
    model_type="albert",
    base_prefix="albert",
    architectures={
        None: "AlbertModel",
        "mlm": "AlbertForMaskedLM",
        "pretraining": "AlbertForPreTraining",
        "classification": "AlbertForSequenceClassification",
        "token_classification": "AlbertForTokenClassification",
        "span": "AlbertForQuestionAnswering",
    },
    config_from_hf=config_from_hf,
    config_to_hf=config_to_hf,
    module_map=module_map,
    tied_copies=tied_copies,
    buffers=BUFFERS,
)
