"""A word-level vocabulary for word language models (ELMo's biLM): whitespace-separated words, as WikiText's
files are already tokenised.

Every word type of the corpus gets an id, the specials first and then the words from most to least frequent, so
the softmax vocabulary (the `softmax_size` most frequent ids) is a prefix of the ids. A word past it keeps its
own id, hence its characters: ELMo reads every word through its character CNN and predicts <unk> for a word
outside its softmax (`softmax_ids`). Saved as `words.json` in a directory.
"""

import collections

import numpy as np

from plmjax.data.pretraining.saved_vocabulary import SavedVocabulary

WORDS_FILE = "words.json"
# <S> and </S> are ELMo's sentence markers (their own character ids); </S> also ends each document.
SPECIALS = ("<pad>", "<S>", "</S>", "<unk>")


class WordTokenizer(SavedVocabulary):
    """Callable like an HF tokenizer on a list of texts (`tokenize_documents` works with it)."""

    pad_token_id, bos_token_id, eos_token_id, unk_token_id = range(len(SPECIALS))
    mask_token_id = cls_token_id = sep_token_id = None
    all_special_ids = list(range(len(SPECIALS)))  # noqa: RUF012 (read-only, like an HF tokenizer's)
    FILE = WORDS_FILE

    def __init__(self, words, softmax_size: int):
        self.words = list(words)
        if tuple(self.words[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a word vocabulary starts with the specials {SPECIALS}")
        self.ids = {word: index for index, word in enumerate(self.words)}
        if len(self.ids) != len(self.words):
            raise ValueError("words must be distinct")
        if softmax_size <= len(SPECIALS):
            raise ValueError(f"softmax_size {softmax_size} leaves no word beside the specials {SPECIALS}")
        self.softmax_size = min(softmax_size, len(self.words))

    @classmethod
    def from_texts(cls, texts, softmax_size: int) -> "WordTokenizer":
        counts = collections.Counter(word for text in texts for word in text.split())
        for special in SPECIALS:
            counts.pop(special, None)
        ranked = sorted(counts, key=lambda word: (-counts[word], word))
        return cls([*SPECIALS, *ranked], softmax_size)

    @classmethod
    def from_saved(cls, saved: dict) -> "WordTokenizer":
        return cls(saved["words"], saved["softmax_size"])

    def to_saved(self) -> dict:
        return {"softmax_size": self.softmax_size, "words": self.words}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, text: str) -> list[int]:
        """A word the vocabulary never saw is <unk> (its characters are lost: build the vocabulary on all text)."""
        return [self.ids.get(word, self.unk_token_id) for word in text.split()]

    def decode(self, ids) -> str:
        return " ".join(self.words[int(i)] for i in ids)

    def __call__(self, texts, add_special_tokens: bool = False):
        del add_special_tokens  # documents are separated by </S> when streamed (plmjax.data.pretraining.stream)
        return {"input_ids": [self.encode(text) for text in texts]}

    def softmax_ids(self, ids: np.ndarray) -> np.ndarray:
        """The softmax's targets: each id, or <unk> past the softmax vocabulary."""
        return np.where(ids < self.softmax_size, ids, self.unk_token_id).astype(np.int32)

    def char_table(self, max_chars: int) -> np.ndarray:
        """[len(self), max_chars] ELMo character ids of every word (plmjax.models.elmo.elmo_char_ids); the
        <pad> row is all 0, a padded token."""
        from plmjax.models.elmo import elmo_char_ids

        table = elmo_char_ids(self.words, max_chars)
        table[self.pad_token_id] = 0
        return table
