"""Which model class and heads each family has, in one place for the HF importers."""

import flax.linen as nn

from plmjax.models import decoder, encoder, seq2seq, xlnet
from plmjax.models.config import DECODER_FAMILIES, PERMUTATION_FAMILIES, SEQ2SEQ_FAMILIES, TransformerConfig
from plmjax.models.heads import check_head

HEADS_BY_FAMILY = encoder.HEADS_BY_FAMILY | decoder.HEADS_BY_FAMILY | seq2seq.HEADS_BY_FAMILY | xlnet.HEADS_BY_FAMILY


def model_class(family: str) -> type[nn.Module]:
    if family in DECODER_FAMILIES:
        return decoder.DecoderModel
    if family in SEQ2SEQ_FAMILIES:
        return seq2seq.Seq2SeqModel
    if family in PERMUTATION_FAMILIES:
        return xlnet.XLNetModel
    return encoder.EncoderModel


def build_model(config: TransformerConfig, head: str | None = None, num_labels: int = 2) -> nn.Module:
    """The model of config.family with the named head."""
    # At build time rather than at the model's first call (flax runs setup lazily).
    check_head(config, head, HEADS_BY_FAMILY, "a supported family")
    return model_class(config.family)(config, head=head, num_labels=num_labels)
