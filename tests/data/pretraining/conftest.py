"""Fixtures for the pretraining data tests: a generated corpus and tokenizers trained on it (no files, no hub)."""

import numpy as np
import pytest

from plmjax.data.pretraining import train_bpe_tokenizer, train_wordpiece_tokenizer

_WORDS = (
    "the a cat dog bird sat ran flew on under over mat tree sky fast slow big small red blue green is was not and "
    "it he she they saw quick brown fox jumps lazy unbelievable extraordinary reconstruction antidisestablishment "
    "wonderful playing played player plays runner running"
)


def generated_sentences(count: int, seed: int = 0) -> list[str]:
    """Sentences of 4-12 words from a fixed word list, capitalised, ending in a full stop."""
    rng = np.random.default_rng(seed)
    sentences = []
    for _ in range(count):
        words = rng.choice(_WORDS.split(), int(rng.integers(4, 13))).tolist()
        sentences.append(" ".join(words).capitalize() + ".")
    return sentences


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    return generated_sentences(400)


@pytest.fixture(scope="session")
def wordpiece_tokenizer(tmp_path_factory, corpus):
    # A small vocabulary, so the long words are cut into several `##` pieces (whole-word masking needs them).
    return train_wordpiece_tokenizer(str(tmp_path_factory.mktemp("wordpiece")), texts=corpus, vocab_size=90)


@pytest.fixture(scope="session")
def bpe_tokenizer(tmp_path_factory, corpus):
    return train_bpe_tokenizer(str(tmp_path_factory.mktemp("bpe")), texts=corpus, vocab_size=300)
