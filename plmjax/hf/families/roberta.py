"""RoBERTa <-> HF `roberta`: BERT's layers, positions offset past the padding index, its own heads."""

from plmjax.hf.families.bert import (
    BUFFERS,
    bert_style_config_fields,
    bert_style_config_to_hf,
    bert_style_embeddings,
    bert_style_layers,
    mlm_output,
    task_heads,
)
from plmjax.hf.name_map import Entry, FamilySpec
from plmjax.models.config import TransformerConfig


def config_from_hf(hf: dict) -> TransformerConfig:
    fields = bert_style_config_fields(hf) | {"pad_token_id": hf.get("pad_token_id", 1)}
    fields.setdefault("layer_norm_eps", 1e-5)
    return TransformerConfig(
        family="roberta", positions_from_padding=True, mlm_head_act="gelu", classifier_activation="tanh", **fields
    )


def config_to_hf(c: TransformerConfig) -> dict:
    return bert_style_config_to_hf(c) | {"bos_token_id": 0, "eos_token_id": 2}


def module_map(c: TransformerConfig, head: str | None) -> dict:
    modules = bert_style_embeddings() | bert_style_layers(c.num_layers)
    modules |= {
        "pooler/dense": Entry("pooler", "pooler.dense"),
        "mlm_head/transform": Entry("mlm", "lm_head.dense"),
        "mlm_head/norm": Entry("mlm", "lm_head.layer_norm"),
    }
    modules |= mlm_output(c, "lm_head.bias", "lm_head.decoder")[0]
    return modules | task_heads(
        {
            "classifier/dense": Entry("classifier", "classifier.dense"),
            "classifier/out": Entry("classifier", "classifier.out_proj"),
        }
    )


def tied_copies(c: TransformerConfig) -> dict:
    return mlm_output(c, "lm_head.bias", "lm_head.decoder")[1]


SPEC = FamilySpec(
    model_type="roberta",
    base_prefix="roberta",
    architectures={
        None: "RobertaModel",
        "mlm": "RobertaForMaskedLM",
        "classification": "RobertaForSequenceClassification",
        "token_classification": "RobertaForTokenClassification",
        "span": "RobertaForQuestionAnswering",
    },
    config_from_hf=config_from_hf,
    config_to_hf=config_to_hf,
    module_map=module_map,
    tied_copies=tied_copies,
    buffers=BUFFERS,
)
