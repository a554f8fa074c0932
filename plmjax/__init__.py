"""plmjax: pretraining and adapting pretrained language models in JAX/Flax.

The names below load their subpackage on first use, so `import plmjax.models` (or any subpackage) imports that
subpackage and what it depends on, nothing above it: the layering in docs/design.md holds at import time too.
"""

import importlib

__version__ = "0.1.0"

# Public name -> the module that defines it.
_EXPORTS = {
    "DecoderModel": "plmjax.models",
    "EncoderModel": "plmjax.models",
    "Seq2SeqModel": "plmjax.models",
    "TransformerConfig": "plmjax.models",
    "init_params": "plmjax.models",
    "preset": "plmjax.models",
    "from_pretrained": "plmjax.hf",
    "load_tokenizer": "plmjax.hf",
    "save_pretrained": "plmjax.hf",
    "Perplexity": "plmjax.generation",
    "generate": "plmjax.generation",
    "sliding_window_perplexity": "plmjax.generation",
    "token_log_likelihoods": "plmjax.generation",
}
_SUBPACKAGES = ("assembly", "data", "generation", "hf", "models", "objectives", "peft", "train")

__all__ = sorted([*_EXPORTS, "generation", "hf", "models"])


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f"plmjax.{name}")
    else:
        raise AttributeError(f"module 'plmjax' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_EXPORTS, *_SUBPACKAGES])
