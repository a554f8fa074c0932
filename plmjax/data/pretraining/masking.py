"""Masked-LM selection and corruption for one sequence: token, whole-word, span (SpanBERT) and ERNIE's phrase and
entity masking (plmjax.data.pretraining.knowledge_masking).

`mask_prob` of a sequence's maskable tokens (not special, not padding) are selected (BERT: exactly
`max(1, round(n * mask_prob))`, whole words never overflowing that budget); each selected token becomes the mask
token with probability 0.8, a random non-special token with 0.1, and stays itself with 0.1 (span masking decides
once per span, as SpanBERT does; phrase and entity masking once per unit). Special tokens are never selected and
never drawn as the random replacement.

Word boundaries come from a fast tokenizer's `word_ids()` when given, else from the vocabulary: a WordPiece `##`
token continues the word before it; in a byte-level BPE vocabulary a token without the `Ġ` (space) prefix
continues it. A token after a special token always starts a word.
"""

import numpy as np

from plmjax.data.pretraining.knowledge_masking import KNOWLEDGE_UNITS

MASK_UNITS = ("token", "word", "span", *KNOWLEDGE_UNITS)
# Units of several words whose 80/10/10 is decided once for the whole unit.
WHOLE_UNIT_CORRUPTION = ("span", *KNOWLEDGE_UNITS)


def example_rngs(seed: int, indices, epoch: int | None = None) -> list[np.random.Generator]:
    """One generator per example: static masking (`epoch=None`) seeds by (seed, example index) only, so an example
    gets the same mask every epoch; dynamic masking (RoBERTa) seeds by (seed, epoch, example index)."""
    if epoch is None:
        return [np.random.default_rng([seed, int(index)]) for index in indices]
    return [np.random.default_rng([seed, epoch, int(index)]) for index in indices]


def per_example_generators(rng, count: int) -> list[np.random.Generator]:
    """`rng` as one generator per example: a single `Generator` serves the whole batch, in example order."""
    if isinstance(rng, np.random.Generator):
        return [rng] * count
    generators = list(rng)
    if len(generators) != count:
        raise ValueError(f"got {len(generators)} generators for {count} examples")
    return generators


def spanbert_span_length_probs(p: float = 0.2, max_length: int = 10) -> np.ndarray:
    """P(span of k words), k = 1..max_length: Geometric(p) restricted to 1..max_length and renormalised, as in
    SpanBERT (mean 3.8 words for p=0.2, max 10)."""
    lengths = np.arange(1, max_length + 1)
    probs = p * (1 - p) ** (lengths - 1)
    return probs / probs.sum()


def continuation_table(tokenizer) -> np.ndarray:
    """A bool per vocabulary id: True where the token continues the previous token's word (WordPiece `##...`;
    byte-level BPE: no leading `Ġ`). Raises if the vocabulary shows neither convention."""
    vocab = tokenizer.get_vocab()
    table = np.zeros(max(len(tokenizer), max(vocab.values()) + 1), dtype=bool)
    tokens = list(vocab)
    if any(token.startswith("##") for token in tokens):
        for token, index in vocab.items():
            table[index] = token.startswith("##")
    elif any(token.startswith("\u0120") for token in tokens):
        for token, index in vocab.items():
            table[index] = not token.startswith("\u0120")
    else:
        raise ValueError("cannot tell word boundaries from this vocabulary (no `##` or `Ġ` tokens): pass word_ids")
    return table


class MlmMasker:
    """Selects and corrupts masked-LM positions of one sequence; see the module docstring.

    `unit`: "token" (BERT), "word" (whole-word masking: all pieces of a word together), "span" (SpanBERT: spans
    of whole words, span lengths in words ~ `spanbert_span_length_probs(span_p, max_span_words)`, until the budget
    is filled), or ERNIE's "phrase", "entity" or "knowledge" (both): whole units from `knowledge` (a
    `KnowledgeSpans`), selected as whole words are. `continuation` (bool per vocabulary id, see
    `continuation_table`) gives word boundaries for all but "token" when no `word_ids` are passed to `mask`.
    `max_predictions` caps the selected count (BERT's `max_predictions_per_seq`).
    """

    def __init__(
        self,
        *,
        vocab_size: int,
        mask_token_id: int,
        special_ids,
        mask_prob: float = 0.15,
        mask_token_prob: float = 0.8,
        random_token_prob: float = 0.1,
        unit: str = "token",
        continuation: np.ndarray | None = None,
        span_p: float = 0.2,
        max_span_words: int = 10,
        max_predictions: int | None = None,
        knowledge=None,
    ):
        if unit not in MASK_UNITS:
            raise ValueError(f"unknown mask unit {unit!r}; expected one of {MASK_UNITS}")
        if unit in KNOWLEDGE_UNITS and knowledge is None:
            raise ValueError(f"unit={unit!r} needs its phrases and entities: pass knowledge=KnowledgeSpans(...)")
        if not 0 <= mask_token_prob + random_token_prob <= 1:
            raise ValueError("mask_token_prob + random_token_prob must be in [0, 1]")
        self.vocab_size = vocab_size
        self.mask_token_id = mask_token_id
        self.special_ids = np.array(sorted({int(i) for i in special_ids} | {mask_token_id}), dtype=np.int64)
        self.mask_prob = mask_prob
        self.mask_token_prob = mask_token_prob
        self.random_token_prob = random_token_prob
        self.unit = unit
        self.continuation = None if continuation is None else np.asarray(continuation, dtype=bool)
        self.span_length_probs = spanbert_span_length_probs(span_p, max_span_words)
        self.max_predictions = max_predictions
        self.knowledge = knowledge
        self.random_candidates = np.setdiff1d(np.arange(vocab_size), self.special_ids)

    @classmethod
    def from_tokenizer(cls, tokenizer, **options):
        """A masker for an HF tokenizer: its vocabulary size, mask token, special ids and (for "word"/"span")
        word boundaries."""
        if tokenizer.mask_token_id is None:
            raise ValueError("the tokenizer has no mask token")
        if options.get("unit", "token") != "token" and "continuation" not in options:
            options["continuation"] = continuation_table(tokenizer)
        return cls(
            vocab_size=len(tokenizer),
            mask_token_id=tokenizer.mask_token_id,
            special_ids=tokenizer.all_special_ids,
            **options,
        )

    def budget(self, num_maskable: int) -> int:
        """How many tokens a sequence with `num_maskable` maskable tokens gets selected."""
        if num_maskable == 0:
            return 0
        count = max(1, int(round(num_maskable * self.mask_prob)))
        if self.max_predictions is not None:
            count = min(count, self.max_predictions)
        return count

    def word_index(self, ids: np.ndarray, maskable: np.ndarray, word_ids=None) -> np.ndarray:
        """The word number of every position (-1 where not maskable); a word never spans a non-maskable token."""
        if word_ids is not None:
            previous = np.concatenate([[None], list(word_ids)[:-1]])
            starts = np.array([w != p for w, p in zip(word_ids, previous, strict=True)], dtype=bool)
        elif self.continuation is not None:
            starts = ~self.continuation[ids]
        else:
            raise ValueError(f"unit={self.unit!r} needs word boundaries: pass `continuation` or `word_ids`")
        after_unmaskable = np.concatenate([[True], ~maskable[:-1]])
        starts = (starts | after_unmaskable) & maskable
        words = np.cumsum(starts) - 1
        return np.where(maskable, words, -1)

    def select_units(self, ids: np.ndarray, rng: np.random.Generator, word_ids=None) -> list[tuple[int, int]]:
        """The selected tokens, words or spans (by `unit`) as `(start, end)` position ranges, in selection order."""
        ids = np.asarray(ids)
        maskable = ~np.isin(ids, self.special_ids)
        budget = self.budget(int(maskable.sum()))
        if budget == 0:
            return []
        if self.unit == "token":
            return [(int(p), int(p) + 1) for p in rng.choice(np.flatnonzero(maskable), budget, replace=False)]
        words = self.word_index(ids, maskable, word_ids)
        # Each word is a contiguous run of maskable positions: it starts where the word number changes.
        positions = np.flatnonzero(maskable)
        word_of = words[positions]
        changes = word_of[1:] != word_of[:-1]
        starts = positions[np.concatenate([[True], changes])]
        ends = positions[np.concatenate([changes, [True]])] + 1
        if self.unit == "span":
            return self._select_spans(starts, ends, budget, rng)
        if self.unit in KNOWLEDGE_UNITS:
            starts, ends = self.knowledge.units(ids, starts, ends, self.unit)
        return self._select_words(starts, ends, budget, rng)

    def sample_span_words(self, rng: np.random.Generator, size: int | None = None):
        """Span lengths in words, ~ `spanbert_span_length_probs`."""
        return rng.choice(np.arange(1, len(self.span_length_probs) + 1), size, p=self.span_length_probs)

    def _select_words(self, starts, ends, budget, rng):
        # BERT's whole-word masking: visit words in random order, take each that still fits the budget.
        units, count = [], 0
        for word in rng.permutation(len(starts)):
            size = ends[word] - starts[word]
            if count + size <= budget:
                units.append((int(starts[word]), int(ends[word])))
                count += size
            if count == budget:
                break
        return units

    def _select_spans(self, starts, ends, budget, rng):
        # SpanBERT: pick a span length (in words) and a random unselected anchor word; the span covers that word
        # and the following ones, stopping at a non-maskable token, an already selected word or the budget.
        taken = np.zeros(len(starts), dtype=bool)
        too_big = np.zeros(len(starts), dtype=bool)
        units, count = [], 0
        while count < budget:
            open_words = np.flatnonzero(~taken & ~too_big)
            if len(open_words) == 0:
                break
            span_words = int(self.sample_span_words(rng))
            word = int(rng.choice(open_words))
            if count + ends[word] - starts[word] > budget:
                too_big[word] = True
                continue
            first = word
            for _ in range(span_words):
                size = ends[word] - starts[word]
                if taken[word] or count + size > budget:
                    break
                taken[word] = True
                count += size
                last = word
                # The next word continues the span only if it is adjacent (no special token in between).
                if word + 1 >= len(starts) or starts[word + 1] != ends[word]:
                    break
                word += 1
            units.append((int(starts[first]), int(ends[last])))
        return units

    def corrupt(self, ids: np.ndarray, units: list[tuple[int, int]], rng: np.random.Generator) -> np.ndarray:
        """BERT's 80/10/10 over the selected `units` (`select_units`): a selected token becomes the mask token, a
        random non-special token, or stays. With spans, phrases and entities the choice is made once per unit."""
        corrupted = ids.copy()
        if not units:
            return corrupted
        starts, ends = np.array(units).T
        positions = np.concatenate([np.arange(start, end) for start, end in units])
        whole = self.unit in WHOLE_UNIT_CORRUPTION
        draw = rng.random(len(units) if whole else len(positions))
        if whole:
            draw = np.repeat(draw, ends - starts)
        to_mask = positions[draw < self.mask_token_prob]
        to_random = positions[(draw >= self.mask_token_prob) & (draw < self.mask_token_prob + self.random_token_prob)]
        corrupted[to_mask] = self.mask_token_id
        corrupted[to_random] = rng.choice(self.random_candidates, len(to_random))
        return corrupted

    def mask(self, ids, rng: np.random.Generator, word_ids=None):
        """`(input_ids, mlm_labels, mlm_weights)` for one sequence of ids (specials and padding included)."""
        ids = np.asarray(ids, dtype=np.int64)
        units = self.select_units(ids, rng, word_ids)
        selected = np.zeros(len(ids), dtype=bool)
        for start, end in units:
            selected[start:end] = True
        corrupted = self.corrupt(ids, units, rng)
        labels = np.where(selected, ids, 0)
        return corrupted, labels, selected.astype(np.float32)
