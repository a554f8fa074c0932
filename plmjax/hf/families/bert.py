"""BERT <-> HF `bert`. Its layer and head naming is shared by RoBERTa and ELECTRA."""

from plmjax.hf.name_map import Entry, FamilySpec
from plmjax.models.config import TransformerConfig


def bert_style_config_fields(hf: dict) -> dict:
    """TransformerConfig fields from the config.json keys BERT, RoBERTa, ALBERT and ELECTRA share."""
    if hf.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(
            f"position_embedding_type={hf['position_embedding_type']!r} is not supported; plmjax implements "
            "the absolute position embeddings every released checkpoint of this family uses"
        )
    return dict(
        vocab_size=hf["vocab_size"],
        hidden_size=hf["hidden_size"],
        num_layers=hf["num_hidden_layers"],
        num_heads=hf["num_attention_heads"],
        intermediate_size=hf["intermediate_size"],
        hidden_act=hf.get("hidden_act", "gelu"),
        hidden_dropout=hf.get("hidden_dropout_prob", 0.1),
        attention_dropout=hf.get("attention_probs_dropout_prob", 0.1),
        max_position_embeddings=hf.get("max_position_embeddings", 512),
        type_vocab_size=hf.get("type_vocab_size", 2),
        initializer_range=hf.get("initializer_range", 0.02),
        layer_norm_eps=hf.get("layer_norm_eps", 1e-12),
        pad_token_id=hf.get("pad_token_id") or 0,
        classifier_dropout=hf.get("classifier_dropout"),
        tie_word_embeddings=hf.get("tie_word_embeddings", True),
    )


def bert_style_config_to_hf(c: TransformerConfig) -> dict:
    return dict(
        vocab_size=c.vocab_size,
        hidden_size=c.hidden_size,
        num_hidden_layers=c.num_layers,
        num_attention_heads=c.num_heads,
        intermediate_size=c.intermediate_size,
        hidden_act=c.hidden_act,
        hidden_dropout_prob=c.hidden_dropout,
        attention_probs_dropout_prob=c.attention_dropout,
        max_position_embeddings=c.max_position_embeddings,
        type_vocab_size=c.type_vocab_size,
        initializer_range=c.initializer_range,
        layer_norm_eps=c.layer_norm_eps,
        pad_token_id=c.pad_token_id,
        classifier_dropout=c.classifier_dropout,
        tie_word_embeddings=c.tie_word_embeddings,
        position_embedding_type="absolute",
    )


def bert_style_embeddings() -> dict:
    return {
        "embeddings/word_embeddings": Entry("backbone", "embeddings.word_embeddings"),
        "embeddings/position_embeddings": Entry("backbone", "embeddings.position_embeddings"),
        "embeddings/token_type_embeddings": Entry("backbone", "embeddings.token_type_embeddings"),
        "embeddings/norm": Entry("backbone", "embeddings.LayerNorm"),
    }


def bert_style_layers(num_layers: int) -> dict:
    modules = {}
    for i in range(num_layers):
        ours, hf = f"encoder/layers_{i}", f"encoder.layer.{i}"
        modules |= {
            f"{ours}/attention/query": Entry("backbone", f"{hf}.attention.self.query"),
            f"{ours}/attention/key": Entry("backbone", f"{hf}.attention.self.key"),
            f"{ours}/attention/value": Entry("backbone", f"{hf}.attention.self.value"),
            f"{ours}/attention/output": Entry("backbone", f"{hf}.attention.output.dense"),
            f"{ours}/attention_norm": Entry("backbone", f"{hf}.attention.output.LayerNorm"),
            f"{ours}/mlp/intermediate": Entry("backbone", f"{hf}.intermediate.dense"),
            f"{ours}/mlp/output": Entry("backbone", f"{hf}.output.dense"),
            f"{ours}/mlp_norm": Entry("backbone", f"{hf}.output.LayerNorm"),
        }
    return modules


def mlm_output(c: TransformerConfig, bias: str, decoder: str) -> tuple[dict, dict]:
    """(module entries, tied copies) of an MLM output layer that has both a head bias and a decoder bias.

    Tied: the decoder weight copies the word embeddings and the decoder bias copies the head bias.
    Untied: transformers 5 computes with the decoder's own weight and bias; the head bias is a stale copy.
    """
    if c.tie_word_embeddings:
        copies = {f"{decoder}.weight": "embeddings.word_embeddings.weight", f"{decoder}.bias": bias}
        return {"mlm_head/bias": Entry("mlm", bias)}, copies
    entries = {"mlm_head/bias": Entry("mlm", f"{decoder}.bias"), "mlm_head/decoder": Entry("mlm", decoder)}
    return entries, {bias: f"{decoder}.bias"}


def task_heads(classifier: dict) -> dict:
    """Token classification and span heads, named alike in every encoder family, plus its classifier."""
    return classifier | {
        "token_classifier/out": Entry("token_classifier", "classifier"),
        "span_head": Entry("span", "qa_outputs"),
    }


MLM_BIAS, MLM_DECODER = "cls.predictions.bias", "cls.predictions.decoder"


def config_from_hf(hf: dict) -> TransformerConfig:
    return TransformerConfig(family="bert", **bert_style_config_fields(hf))


def config_to_hf(c: TransformerConfig) -> dict:
    return bert_style_config_to_hf(c)


def module_map(c: TransformerConfig, head: str | None) -> dict:
    modules = bert_style_embeddings() | bert_style_layers(c.num_layers)
    modules |= {
        "pooler/dense": Entry("pooler", "pooler.dense"),
        "mlm_head/transform": Entry("mlm", "cls.predictions.transform.dense"),
        "mlm_head/norm": Entry("mlm", "cls.predictions.transform.LayerNorm"),
        "sentence_head/out": Entry("sentence", "cls.seq_relationship"),
    }
    modules |= mlm_output(c, MLM_BIAS, MLM_DECODER)[0]
    return modules | task_heads({"classifier/out": Entry("classifier", "classifier")})


def tied_copies(c: TransformerConfig) -> dict:
    return mlm_output(c, MLM_BIAS, MLM_DECODER)[1]


BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")

SPEC = FamilySpec(
    model_type="bert",
    base_prefix="bert",
    architectures={
        None: "BertModel",
        "mlm": "BertForMaskedLM",
        "pretraining": "BertForPreTraining",
        "nsp": "BertForNextSentencePrediction",
        "classification": "BertForSequenceClassification",
        "token_classification": "BertForTokenClassification",
        "span": "BertForQuestionAnswering",
    },
    config_from_hf=config_from_hf,
    config_to_hf=config_to_hf,
    module_map=module_map,
    tied_copies=tied_copies,
    buffers=BUFFERS,
)
