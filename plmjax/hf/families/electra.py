"""ELECTRA <-> HF `electra`: BERT's layers, factorised embeddings with a projection, generator (mlm)
and discriminator (rtd) heads."""

from plmjax.hf.families.bert import (
    BUFFERS,
    bert_style_config_fields,
    bert_style_config_to_hf,
    bert_style_embeddings,
    bert_style_layers,
    task_heads,
)
from plmjax.hf.name_map import Entry, FamilySpec
from plmjax.models.config import TransformerConfig


def config_from_hf(hf: dict) -> TransformerConfig:
    return TransformerConfig(
        family="electra",
        embedding_size=hf.get("embedding_size", hf["hidden_size"]),
        has_pooler=False,
        mlm_head_act="gelu",
        classifier_activation="gelu",
        **bert_style_config_fields(hf),
    )


def config_to_hf(c: TransformerConfig) -> dict:
    return bert_style_config_to_hf(c) | {"embedding_size": c.embed_size}


def module_map(c: TransformerConfig, head: str | None) -> dict:
    modules = bert_style_embeddings() | bert_style_layers(c.num_layers)
    modules |= {
        "embeddings/projection": Entry("backbone", "embeddings_project"),
        "mlm_head/transform": Entry("mlm", "generator_predictions.dense"),
        "mlm_head/norm": Entry("mlm", "generator_predictions.LayerNorm"),
        "mlm_head/bias": Entry("mlm", "generator_lm_head.bias"),
        "mlm_head/decoder": Entry("mlm", "generator_lm_head"),
        "rtd_head/dense": Entry("rtd", "discriminator_predictions.dense"),
        "rtd_head/prediction": Entry("rtd", "discriminator_predictions.dense_prediction"),
    }
    return modules | task_heads(
        {
            "classifier/dense": Entry("classifier", "classifier.dense"),
            "classifier/out": Entry("classifier", "classifier.out_proj"),
        }
    )


def tied_copies(c: TransformerConfig) -> dict:
    return {"generator_lm_head.weight": "embeddings.word_embeddings.weight"} if c.tie_word_embeddings else {}


SPEC = FamilySpec(
    model_type="electra",
    base_prefix="electra",
    architectures={
        None: "ElectraModel",
        "mlm": "ElectraForMaskedLM",
        "rtd": "ElectraForPreTraining",
        "classification": "ElectraForSequenceClassification",
        "token_classification": "ElectraForTokenClassification",
        "span": "ElectraForQuestionAnswering",
    },
    config_from_hf=config_from_hf,
    config_to_hf=config_to_hf,
    module_map=module_map,
    tied_copies=tied_copies,
    buffers=BUFFERS,
)
