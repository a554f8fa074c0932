"""BART denoising: token masking, token deletion, text infilling, sentence permutation, document rotation.

Any combination, by options. The defaults are the BART paper's chosen model as fairseq pretrains it: text
infilling of 30% of the words (fairseq `--mask 0.3 --mask-length span-poisson --replace-length 1`, spans of whole
words by the BPE's word starts) with span lengths ~ Poisson(3) (the paper's lambda; the command the authors
shared in fairseq issue #1899 uses `--poisson-lambda 3.5`), 10% of the masks a random token instead
(`--mask-random 0.1`), and all sentences permuted (`--permute-sentences 1`); no rotation, no insertion.

Order (fairseq's): sentence permutation, token deletion, token masking, text infilling, document rotation. The
encoder sees `<s> noised </s>`; the decoder predicts the original `<s> text </s>` from it shifted right after
the decoder start token (BART: </s>).
"""

import numpy as np

from plmjax.data.pretraining.collators import empty_seq2seq_batch, put_seq2seq_row
from plmjax.data.pretraining.masking import continuation_table, per_example_generators


def _count(length: int, ratio: float) -> int:
    return int(round(length * ratio))


class BartDenoisingCollator:
    """Seq2seq batches: `input_ids`, `attention_mask` (encoder, `max_length`), `decoder_input_ids`,
    `decoder_attention_mask`, `target_ids`, `target_weights` (decoder, `max_length`) and `weights` [batch].

    An example is a list of sentences (each a list of ids, no special tokens; `pack_sentences` builds them) or
    one flat list of ids (a single sentence: permutation does nothing). Its text is truncated to `max_length - 2`.
    Ratios are fractions (rounded): `token_mask_ratio` of the tokens become the mask token, `token_delete_ratio`
    are deleted, `infill_ratio` of the words are covered by spans (lengths in words ~ Poisson(`poisson_lambda`))
    each replaced by ONE mask token; a 0-length span inserts a mask. `random_ratio` of the masks are a random
    non-special token. Words: `continuation` (bool per vocabulary id, `masking.continuation_table`) marks tokens
    that continue a word, and a sentence's first token starts one; without it every token is a word (subword
    spans).
    """

    def __init__(
        self,
        *,
        max_length: int,
        bos_token_id: int,
        eos_token_id: int,
        pad_token_id: int,
        mask_token_id: int,
        vocab_size: int,
        special_ids=(),
        decoder_start_token_id: int | None = None,
        infill_ratio: float = 0.3,
        poisson_lambda: float = 3.0,
        random_ratio: float = 0.1,
        token_mask_ratio: float = 0.0,
        token_delete_ratio: float = 0.0,
        permute_sentences: bool = True,
        rotate_document: bool = False,
        continuation: np.ndarray | None = None,
        batch_size: int | None = None,
    ):
        self.max_length = max_length
        self.bos_token_id = bos_token_id
        self.eos_token_id = eos_token_id
        self.pad_token_id = pad_token_id
        self.mask_token_id = mask_token_id
        self.decoder_start_token_id = eos_token_id if decoder_start_token_id is None else decoder_start_token_id
        self.infill_ratio = infill_ratio
        self.poisson_lambda = poisson_lambda
        self.random_ratio = random_ratio
        self.token_mask_ratio = token_mask_ratio
        self.token_delete_ratio = token_delete_ratio
        self.permute_sentences = permute_sentences
        self.rotate_document = rotate_document
        self.continuation = None if continuation is None else np.asarray(continuation, dtype=bool)
        self.batch_size = batch_size
        special = {bos_token_id, eos_token_id, pad_token_id, mask_token_id, *special_ids}
        self.random_candidates = np.setdiff1d(np.arange(vocab_size), np.array(sorted(special)))

    @classmethod
    def from_tokenizer(cls, tokenizer, max_length: int, *, whole_words: bool = True, **options):
        """A collator for an HF BART-style tokenizer (<s>, </s>, <pad>, <mask>); `options` as in the constructor.
        `whole_words`: infill spans of words (fairseq's span-poisson with BPE word starts), else of subwords."""
        ids = {name: getattr(tokenizer, f"{name}_token_id") for name in ("bos", "eos", "pad", "mask")}
        missing = [name for name, value in ids.items() if value is None]
        if missing:
            raise ValueError(f"BART denoising needs the tokenizer's {missing} token(s)")
        if whole_words and "continuation" not in options:
            options["continuation"] = continuation_table(tokenizer)
        return cls(
            max_length=max_length,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            mask_token_id=tokenizer.mask_token_id,
            vocab_size=len(tokenizer),
            special_ids=tokenizer.all_special_ids,
            **options,
        )

    def _word_starts(self, sentence: np.ndarray) -> np.ndarray:
        if self.continuation is None:
            return np.ones(len(sentence), dtype=bool)
        starts = ~self.continuation[sentence]
        starts[0] = True
        return starts

    def _mask_or_random(self, count: int, rng) -> np.ndarray:
        tokens = np.full(count, self.mask_token_id, dtype=np.int64)
        use_random = rng.random(count) < self.random_ratio
        tokens[use_random] = rng.choice(self.random_candidates, int(use_random.sum()))
        return tokens

    def infill_span_lengths(self, budget: int, rng) -> np.ndarray:
        """Poisson span lengths drawn until they cover `budget` words, the last one shortened to end exactly there
        (fairseq); zero-length spans are kept (each inserts a mask)."""
        lengths: list[int] = []
        total = 0
        while total < budget:
            draw = rng.poisson(self.poisson_lambda, size=max(8, budget))
            for length in draw:
                length = min(int(length), budget - total)
                lengths.append(length)
                total += length
                if total == budget:
                    break
        return np.array(lengths, dtype=np.int64)

    def infill(self, tokens: np.ndarray, word_starts: np.ndarray, rng) -> np.ndarray:
        """Text infilling over words (`word_starts`: True where a token starts one; all True = subword spans): the
        spans are placed at random without overlapping, each replaced by one mask."""
        words = np.split(tokens, np.flatnonzero(word_starts)[1:]) if len(tokens) else []
        budget = _count(len(words), self.infill_ratio)
        if budget == 0:
            return tokens
        spans = self.infill_span_lengths(budget, rng)
        kept = len(words) - budget
        # Span j sits right before kept word gaps[j] (gap `kept` = after the last one); order within a gap is free.
        gaps = np.sort(rng.integers(0, kept + 1, size=len(spans)))
        masks = self._mask_or_random(len(spans), rng)
        out: list[np.ndarray] = []
        position = 0
        span = 0
        for gap in range(kept + 1):
            while span < len(spans) and gaps[span] == gap:
                out.append(masks[span : span + 1])
                position += int(spans[span])
                span += 1
            if gap < kept:
                out.append(words[position])
                position += 1
        return np.concatenate(out)

    def noise(self, example, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """`(noised text, original text)` of one example, without <s> and </s>."""
        sentences = [example] if len(example) and np.isscalar(example[0]) else list(example)
        sentences = [np.asarray(sentence, dtype=np.int64) for sentence in sentences if len(sentence)]
        original = np.concatenate(sentences) if sentences else np.zeros(0, dtype=np.int64)
        # Truncate the text (and its sentences) to what fits between <s> and </s>.
        limit = self.max_length - 2
        original = original[:limit]
        kept, total = [], 0
        for sentence in sentences:
            if total >= limit:
                break
            kept.append(sentence[: limit - total])
            total += len(kept[-1])
        sentences = kept
        if self.permute_sentences and len(sentences) > 1:
            sentences = [sentences[i] for i in rng.permutation(len(sentences))]
        tokens = np.concatenate(sentences) if sentences else original
        # A sentence's first token starts a word even without a space marker (sentences are encoded one by one).
        starts = [self._word_starts(sentence) for sentence in sentences]
        word_starts = np.concatenate(starts) if starts else np.zeros(0, dtype=bool)
        if self.token_delete_ratio:
            delete = rng.choice(len(tokens), _count(len(tokens), self.token_delete_ratio), replace=False)
            tokens, word_starts = np.delete(tokens, delete), np.delete(word_starts, delete)
        if self.token_mask_ratio:
            positions = rng.choice(len(tokens), _count(len(tokens), self.token_mask_ratio), replace=False)
            tokens = tokens.copy()
            tokens[positions] = self._mask_or_random(len(positions), rng)
        if self.infill_ratio and len(tokens):
            word_starts[0] = True
            tokens = self.infill(tokens, word_starts, rng)
        if self.rotate_document and len(tokens) > 1:
            tokens = np.roll(tokens, -int(rng.integers(len(tokens))))
        return tokens, original

    def __call__(self, examples, rng) -> dict:
        """`rng`: one generator for the batch, or one per example."""
        rngs = per_example_generators(rng, len(examples))
        rows = self.batch_size if self.batch_size is not None else len(examples)
        if rows < len(examples):
            raise ValueError(f"{len(examples)} examples do not fit in a batch of {rows}")
        batch = empty_seq2seq_batch(rows, self.max_length, self.max_length, self.pad_token_id)
        for row, (example, example_rng) in enumerate(zip(examples, rngs, strict=True)):
            noised, original = self.noise(example, example_rng)
            # Insertions can make the noised text longer than the original: keep what fits, and </s>.
            encoder = [self.bos_token_id, *noised[: self.max_length - 2].tolist(), self.eos_token_id]
            target = [self.bos_token_id, *original.tolist(), self.eos_token_id]
            put_seq2seq_row(batch, row, encoder, target, self.decoder_start_token_id)
        return batch
