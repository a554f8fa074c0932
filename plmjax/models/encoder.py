"""The encoder family (BERT, RoBERTa, ALBERT, ELECTRA, DistilBERT, MPNet): one stack, one model, config fields
for the differences, and a head chosen by name."""

import flax.linen as nn
import jax
import jax.numpy as jnp

from plmjax.models.attention import attention_bias
from plmjax.models.config import TransformerConfig
from plmjax.models.heads import (
    Classifier,
    MaskedLMHead,
    Pooler,
    ReplacedTokenHead,
    SentenceRelationHead,
    TokenClassifier,
    check_head,
)
from plmjax.models.layers import Embeddings, dense
from plmjax.models.outputs import ModelOutput
from plmjax.models.stack import TransformerStack

_COMMON_HEADS = (None, "mlm", "classification", "token_classification", "span")
HEADS_BY_FAMILY = {
    "bert": _COMMON_HEADS + ("pretraining", "nsp", "sop"),
    "albert": _COMMON_HEADS + ("pretraining", "nsp", "sop"),
    "roberta": _COMMON_HEADS,
    "electra": _COMMON_HEADS + ("rtd",),
    "distilbert": _COMMON_HEADS,
    "mpnet": _COMMON_HEADS,
}
# The sentence-relation task each family pretrains with (the MLM objective with a sentence task checks it).
NATIVE_SENTENCE_TASK = {"bert": "nsp", "albert": "sop"}


def gather_positions(hidden: jax.Array, positions: jax.Array) -> jax.Array:
    """hidden [batch, length, width] at positions [batch, k] -> [batch, k, width]."""
    return jnp.take_along_axis(hidden, positions[..., None].astype(jnp.int32), axis=1)


def uses_pooler(config: TransformerConfig, head: str | None) -> bool:
    if not config.has_pooler:
        return False
    return head in (None, "pretraining", "nsp", "sop") or (
        head == "classification" and config.classifier_activation is None
    )


class EncoderModel(nn.Module):
    """A bidirectional Transformer encoder with an optional head.

    head: None (backbone, plus the pooler where the family has one), "mlm", "pretraining" (MLM + the
    family's NSP/SOP), "nsp", "sop", "classification" (num_labels == 1: regression),
    "token_classification", "span" (start/end logits) or "rtd" (ELECTRA discriminator).
    """

    config: TransformerConfig
    head: str | None = None
    num_labels: int = 2

    def setup(self):
        c, head = self.config, self.head
        check_head(c, head, HEADS_BY_FAMILY, "an encoder")
        self.embeddings = Embeddings(c)
        self.encoder = TransformerStack(c)
        # Modules the methods add to the model (a soft prompt), as attributes under their names.
        for name, module in c.peft.model_modules(c).items():
            setattr(self, name, module)
        if uses_pooler(c, head):
            self.pooler = Pooler(c)
        if head in ("mlm", "pretraining"):
            self.mlm_head = MaskedLMHead(c)
        if head in ("pretraining", "nsp", "sop"):
            self.sentence_head = SentenceRelationHead(c)
        if head == "classification":
            self.classifier = Classifier(c, self.num_labels)
        if head == "token_classification":
            self.token_classifier = TokenClassifier(c, self.num_labels)
        if head == "span":
            self.span_head = dense(c, 2, ("embed", "labels"), "span_head")
        if head == "rtd":
            self.rtd_head = ReplacedTokenHead(c)

    def __call__(
        self,
        input_ids,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        deterministic: bool = True,
        output_hidden_states: bool = False,
        output_attentions: bool = False,
        masked_positions=None,
        vocab_ids=None,
    ) -> ModelOutput:
        """masked_positions: [batch, predictions] indices into the output sequence; the MLM head then runs only
        there (logits [batch, predictions, vocab]), as original BERT did with max_predictions_per_seq. On
        BERT-base at sequence 128 the vocabulary projection over every position is a fifth of a training step.
        vocab_ids: [n] word ids; the MLM head's logits for those words only ([..., n]; prompt verbalizers)."""
        c, head = self.config, self.head
        x, bias = self.embed(input_ids, attention_mask, token_type_ids, position_ids, deterministic)
        hidden, hidden_states, attentions = self.encoder(x, bias, deterministic)
        pooled = self.pooler(hidden) if uses_pooler(c, head) else None

        out = {}
        if head in ("mlm", "pretraining"):
            predicted = hidden if masked_positions is None else gather_positions(hidden, masked_positions)
            out["logits"] = self.mlm_head(predicted, self.embeddings, vocab_ids)
        if head == "pretraining":
            out["sentence_logits"] = self.sentence_head(pooled, deterministic)
        if head in ("nsp", "sop"):
            out["logits"] = self.sentence_head(pooled, deterministic)
        if head == "classification":
            out["logits"] = self.classifier(hidden, pooled, deterministic)
        if head == "token_classification":
            out["logits"] = self.token_classifier(hidden, deterministic)
        if head == "span":
            # HF applies no dropout before qa_outputs.
            logits = self.span_head(hidden)
            out.update(logits=logits, start_logits=logits[..., 0], end_logits=logits[..., 1])
        if head == "rtd":
            out["logits"] = self.rtd_head(hidden)
        return ModelOutput(
            last_hidden_state=hidden,
            pooler_output=pooled,
            hidden_states=hidden_states if output_hidden_states else None,
            attentions=attentions if output_attentions else None,
            **out,
        )

    def embed(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, deterministic=True):
        """(the first layer's input [batch, length, hidden], the additive self-attention bias or None)."""
        c = self.config
        x = self.embeddings(input_ids, token_type_ids, position_ids, deterministic, c.peft.model_extras(self))
        return x, attention_bias(c.peft.input_mask(attention_mask), c.compute_dtype)

    def classify(self, hidden, deterministic: bool = True):
        """The classification head's logits of a layer's output [batch, length, hidden] (the pooler first where
        the classifier reads it): what __call__ computes from the last layer's, for any layer's."""
        pooled = self.pooler(hidden) if uses_pooler(self.config, self.head) else None
        return self.classifier(hidden, pooled, deterministic)

    def dummy_inputs(self, batch: int = 1, length: int = 8):
        """Inputs for model.init."""
        return jnp.ones((batch, length), jnp.int32)
