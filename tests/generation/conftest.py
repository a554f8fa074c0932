"""Tiny transformers LM models and their plmjax imports, shared by the generation and scoring tests."""

import numpy as np
import pytest

import plmjax
from tests.hf.tiny_generative_models import make_hf_model

# An EOS id per variant that these random models actually produce, so that stopping gets exercised.
EOS = {"gpt2": 96, "bart": 94, "t5-relu-untied": 42}


@pytest.fixture(scope="session")
def lm_pair(tmp_path_factory):
    """variant -> (transformers model, plmjax model, params), built once per session."""
    pairs = {}

    def get(variant):
        if variant not in pairs:
            reference = make_hf_model(variant, "lm")
            path = tmp_path_factory.mktemp(variant)
            reference.save_pretrained(path)
            pairs[variant] = (reference, *plmjax.from_pretrained(str(path), head="lm"))
        return pairs[variant]

    return get


def prompts(variant: str):
    """(ids, mask) of four prompts of different lengths: left-padded for GPT-2, right-padded encoder inputs."""
    rng = np.random.default_rng(1)
    if variant == "gpt2":
        lengths, width = np.array([7, 3, 5, 1]), 7
        mask = (np.arange(width) >= width - lengths[:, None]).astype(np.int64)
        pad = 0
    else:
        lengths, width = np.array([9, 4, 6, 2]), 9
        mask = (np.arange(width) < lengths[:, None]).astype(np.int64)
        pad = 1 if variant == "bart" else 0
    ids = np.where(mask == 1, rng.integers(3, 99, size=mask.shape), pad)
    return ids, mask


@pytest.fixture(scope="session")
def byte_level_tokenizer():
    """A GPT-2-style byte-level BPE tokenizer for the tiny models' 99 ids: <pad>, <s>, </s>, "Ġ" (space) and the
    26 letters, then seeded merges of them into tokens of up to 4 characters (what stop strings are matched
    against)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    rng = np.random.default_rng(0)
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2}
    for char in "Ġabcdefghijklmnopqrstuvwxyz":
        vocab[char] = len(vocab)
    pieces, merges = list(vocab)[3:], []
    while len(vocab) < 99:
        left, right = rng.choice(pieces, 2)
        merged = left + right
        if merged in vocab or len(merged) > 4 or "Ġ" in merged[1:]:
            continue
        vocab[merged] = len(vocab)
        pieces.append(merged)
        merges.append((left, right))
    backend = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", bos_token="<s>", eos_token="</s>")
