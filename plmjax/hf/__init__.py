"""HF checkpoint import/export: one explicit name map per family, strict by default."""

from plmjax.hf.pretrained import from_pretrained, load_tokenizer, save_pretrained
from plmjax.hf.weights import CheckpointMismatchError

__all__ = ["CheckpointMismatchError", "from_pretrained", "load_tokenizer", "save_pretrained"]
