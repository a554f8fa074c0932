"""plmjax: pretraining and adapting pretrained language models in JAX/Flax."""

from plmjax import hf, models
from plmjax.hf import from_pretrained, load_tokenizer, save_pretrained
from plmjax.models import EncoderModel, TransformerConfig, init_params, preset

__version__ = "0.1.0"

__all__ = [
    "EncoderModel",
    "TransformerConfig",
    "from_pretrained",
    "hf",
    "init_params",
    "load_tokenizer",
    "models",
    "preset",
    "save_pretrained",
]
