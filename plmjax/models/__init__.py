"""Pure-functional Flax models: one config dataclass, one implementation per architecture idea."""

from plmjax.models.config import FAMILIES, TransformerConfig
from plmjax.models.encoder import HEADS_BY_FAMILY, EncoderModel
from plmjax.models.init import init_params
from plmjax.models.outputs import ModelOutput
from plmjax.models.pooling import mean_pool
from plmjax.models.presets import PRESETS, preset

__all__ = [
    "FAMILIES",
    "HEADS_BY_FAMILY",
    "PRESETS",
    "EncoderModel",
    "ModelOutput",
    "TransformerConfig",
    "init_params",
    "mean_pool",
    "preset",
]
