"""plmjax: pretraining and adapting pretrained language models in JAX/Flax."""

from plmjax import generation, hf, models
from plmjax.generation import Perplexity, generate, sliding_window_perplexity, token_log_likelihoods
from plmjax.hf import from_pretrained, load_tokenizer, save_pretrained
from plmjax.models import DecoderModel, EncoderModel, Seq2SeqModel, TransformerConfig, init_params, preset

__version__ = "0.1.0"

__all__ = [
    "DecoderModel",
    "EncoderModel",
    "Perplexity",
    "Seq2SeqModel",
    "TransformerConfig",
    "from_pretrained",
    "generate",
    "generation",
    "hf",
    "init_params",
    "load_tokenizer",
    "models",
    "preset",
    "save_pretrained",
    "sliding_window_perplexity",
    "token_log_likelihoods",
]
