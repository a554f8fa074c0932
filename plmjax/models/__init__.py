"""Pure-functional Flax models: one config dataclass, one implementation per architecture idea."""

from plmjax.models.config import FAMILIES, TransformerConfig
from plmjax.models.decoder import DecoderModel
from plmjax.models.encoder import EncoderModel
from plmjax.models.init import init_params
from plmjax.models.model_classes import HEADS_BY_FAMILY, build_model
from plmjax.models.outputs import ModelOutput
from plmjax.models.pooling import mean_pool
from plmjax.models.presets import PRESETS, preset
from plmjax.models.seq2seq import Seq2SeqModel

__all__ = [
    "FAMILIES",
    "HEADS_BY_FAMILY",
    "PRESETS",
    "DecoderModel",
    "EncoderModel",
    "ModelOutput",
    "Seq2SeqModel",
    "TransformerConfig",
    "build_model",
    "init_params",
    "mean_pool",
    "preset",
]
