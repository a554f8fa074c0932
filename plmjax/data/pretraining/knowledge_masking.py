"""ERNIE's knowledge masking (Sun et al. 2019): whole phrases and whole named entities as masking units.

ERNIE 1.0 masks multi-word units together, so the model must predict a phrase ("a series of") or an entity
("New York") from its context rather than one word from its neighbours inside the unit. Where ERNIE took its
units from a chunker and a named-entity tagger, plmjax computes both from the training text itself:

- phrases: word n-grams that occur together far more often than their words alone would (word2vec's phrase
  score, `(count(ab) - delta) * N / (count(a) * count(b))`, applied in passes so merged bigrams grow into
  longer phrases; Mikolov et al. 2013);
- entities: runs of capitalised words inside a sentence (never its first word, which is capitalised anyway)
  that appear capitalised at least `min_count` times and more often capitalised than not, a gazetteer learnt
  from capitalisation. Lower-cased tokenizers (MiniLM's, BERT-uncased) lose case, so the gazetteer is built
  from the raw text and matched on lower-cased words.

At masking time `KnowledgeSpans` finds the longest entity, else phrase, starting at each word of a sequence
(words as MlmMasker sees them: WordPiece or byte-level BPE pieces joined), and MlmMasker selects whole units
(`unit="phrase"`, `"entity"` or `"knowledge"`: both) until the masking budget is filled, as whole-word masking
selects words. A word in no unit is a unit of its own.
"""

import collections
import re

import numpy as np

# How the text is cut into words for counting: BERT's basic tokenizer (runs of letters and digits, and each
# punctuation mark alone), so the words counted are the words the tokenizers' pieces join back into.
_WORD = re.compile(r"[^\W_]+|[^\w\s]|_")
# MlmMasker's units that KnowledgeSpans builds.
KNOWLEDGE_UNITS = ("phrase", "entity", "knowledge")
_SENTENCE_END = {".", "!", "?", ":", ";", '"', "'", "(", ")", "[", "]", "=", "@"}


def words_of(text: str) -> list[str]:
    return _WORD.findall(text)


def phrase_lexicon(
    texts, *, passes: int = 2, min_count: int = 5, delta: float = 5.0, threshold: float = 10.0, max_words: int = 4
) -> set[tuple[str, ...]]:
    """Lower-cased word tuples (2..max_words words) that the phrase score joins in `texts` (an iterable of
    lines). Each pass scores adjacent units, joins every pair above `threshold` (left to right) and counts again,
    so pass k can build phrases of up to 2**k words. Pairs with punctuation or a count below `min_count` are
    never joined."""
    lines = [tuple((w.lower(),) for w in words_of(text)) for text in texts]
    lexicon = set()
    for _ in range(passes):
        unigrams, bigrams = collections.Counter(), collections.Counter()
        for units in lines:
            unigrams.update(units)
            bigrams.update(zip(units, units[1:], strict=False))
        total = sum(unigrams.values())
        joined = {
            pair
            for pair, count in bigrams.items()
            if count >= min_count
            and len(pair[0]) + len(pair[1]) <= max_words
            and all(w.isalnum() for unit in pair for w in unit)
            and (count - delta) * total / (unigrams[pair[0]] * unigrams[pair[1]]) > threshold
        }
        if not joined:
            break
        lexicon |= {a + b for a, b in joined}
        lines = [_join_pairs(units, joined) for units in lines]
    return lexicon


def _join_pairs(units, joined):
    out, i = [], 0
    while i < len(units):
        if i + 1 < len(units) and (units[i], units[i + 1]) in joined:
            out.append(units[i] + units[i + 1])
            i += 2
        else:
            out.append(units[i])
            i += 1
    return tuple(out)


def entity_gazetteer(texts, *, min_count: int = 2, max_words: int = 4) -> set[tuple[str, ...]]:
    """Lower-cased word tuples (1..max_words words) that appear in `texts` as a maximal run of capitalised
    words not at a sentence start, at least `min_count` times, and capitalised more often than lower-cased."""
    capitalised, lowered = collections.Counter(), collections.Counter()
    for text in texts:
        words = words_of(text)
        run = []
        for i, word in enumerate(words + [""]):
            sentence_start = i == 0 or words[i - 1] in _SENTENCE_END
            if word[:1].isupper() and word.isalpha() and not sentence_start:
                run.append(word.lower())
                continue
            if 0 < len(run) <= max_words:
                capitalised[tuple(run)] += 1
            run = []
        lower = [w for w in words if w.isalpha() and w.islower()]
        for n in range(1, max_words + 1):
            lowered.update(zip(*(lower[k:] for k in range(n)), strict=False))
    return {span for span, count in capitalised.items() if count >= min_count and count > lowered[span]}


def piece_texts(tokenizer) -> list[str]:
    """Each vocabulary id's text as part of a word: lower-cased, without WordPiece's `##` or BPE's `Ġ`."""
    vocab = tokenizer.get_vocab()
    table = [""] * max(len(tokenizer), max(vocab.values()) + 1)
    for token, index in vocab.items():
        table[index] = token.removeprefix("##").removeprefix("\u0120").lower()
    return table


class KnowledgeSpans:
    """Finds phrase and entity units in a sequence's words. `phrases` and `entities`: lower-cased word tuples
    (`phrase_lexicon`, `entity_gazetteer`, or lists of one's own: a chunker's phrases, a gazetteer)."""

    def __init__(self, piece_text, phrases=(), entities=()):
        self.piece_text = list(piece_text)
        self.lexicons = {"phrase": {tuple(p) for p in phrases}, "entity": {tuple(e) for e in entities}}
        self.max_words = max((len(u) for lexicon in self.lexicons.values() for u in lexicon), default=1)

    @classmethod
    def from_texts(cls, tokenizer, texts, **options):
        """Both lexicons computed from `texts` (the training text), for `tokenizer`'s pieces."""
        texts = list(texts)
        phrases = phrase_lexicon(texts, **options.get("phrase", {}))
        return cls(piece_texts(tokenizer), phrases, entity_gazetteer(texts, **options.get("entity", {})))

    def units(self, ids: np.ndarray, starts: np.ndarray, ends: np.ndarray, kind: str):
        """Word ranges `[starts[i], ends[i])` (token positions) merged into units: arrays (unit starts, unit ends).
        At each word the longest entity (for "entity" and "knowledge") else the longest phrase ("phrase",
        "knowledge") that starts there and runs over adjacent words becomes one unit."""
        if kind not in KNOWLEDGE_UNITS:
            raise ValueError(f"unknown knowledge unit {kind!r}; expected one of {KNOWLEDGE_UNITS}")
        lexicons = [self.lexicons[k] for k in ("entity", "phrase") if kind in (k, "knowledge")]
        words = ["".join(self.piece_text[t] for t in ids[s:e]) for s, e in zip(starts, ends, strict=True)]
        unit_starts, unit_ends, i = [], [], 0
        while i < len(words):
            length = self._longest_match(words, starts, ends, i, lexicons)
            unit_starts.append(starts[i])
            unit_ends.append(ends[i + length - 1])
            i += length
        return np.asarray(unit_starts), np.asarray(unit_ends)

    def _longest_match(self, words, starts, ends, i, lexicons) -> int:
        for lexicon in lexicons:
            for n in range(min(self.max_words, len(words) - i), 1, -1):
                adjacent = all(starts[k + 1] == ends[k] for k in range(i, i + n - 1))
                if adjacent and tuple(words[i : i + n]) in lexicon:
                    return n
        return 1  # a word in no unit (or a one-word entity) is a unit of its own
