"""Word-level inputs: sentences given as words, tokenised together, each word read at its first sub-token."""

import numpy as np


def word_token_positions(tokenizer, words_per_sentence, max_length: int = 256):
    """(ids, positions): token id lists of the sentences (words split as given), and for each sentence the index
    of every word's first sub-token, None for a word cut off by max_length."""
    if not words_per_sentence:
        return [], []
    encoding = tokenizer(
        [list(words) for words in words_per_sentence], is_split_into_words=True, truncation=True, max_length=max_length
    )
    ids, positions = [], []
    for index, words in enumerate(words_per_sentence):
        first = {}
        for token, word in enumerate(encoding.word_ids(index)):
            if word is not None and word not in first:
                first[word] = token
        ids.append(encoding["input_ids"][index])
        positions.append([first.get(word) for word in range(len(words))])
    return ids, positions


def is_uncased(tokenizer) -> bool:
    """Whether the tokenizer lower-cases its input (then a word's capitalisation is not in its token ids). Read
    from its normaliser, not from ids: in a small vocabulary "Paris" and "paris" may both be [UNK]."""
    normalizer = getattr(getattr(tokenizer, "backend_tokenizer", None), "normalizer", None)
    if normalizer is not None:
        return normalizer.normalize_str("Paris") == "paris"
    return bool(getattr(tokenizer, "do_lower_case", False))


def kept_positions(positions, keep) -> list[list[int]]:
    """positions restricted to the words where keep[i][j] is true (and that were not cut off)."""
    return [
        [p for p, k in zip(row, keep_row, strict=True) if k and p is not None]
        for row, keep_row in zip(positions, keep, strict=True)
    ]


def flat(values_per_sentence, positions, keep) -> np.ndarray:
    """The values of the kept, not cut-off words, sentence by sentence (the row order of token features)."""
    return np.asarray(
        [
            value
            for values, row, keep_row in zip(values_per_sentence, positions, keep, strict=True)
            for value, p, k in zip(values, row, keep_row, strict=True)
            if k and p is not None
        ]
    )
