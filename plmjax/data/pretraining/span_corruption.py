"""T5 span corruption: the noise mask of T5's `random_spans_noise_mask`, spans replaced by sentinels.

For a row of `length` tokens, `round(length * noise_density)` are noise (at least 1, at most length - 1), in
`round(num_noise / mean_noise_span_length)` spans (at least 1). The noise tokens and the other tokens are each cut
into that many non-empty runs by a uniformly random partition, and the runs alternate, starting with non-noise.
The inputs keep the non-noise tokens with each noise span replaced by one sentinel; the targets are the sentinels
each followed by its noise span (a row always ends with a noise span, as in T5's code); both end in EOS.
Sentinels count down from `first_sentinel_id` (T5's tokenizer: `<extra_id_0>` = 32099 = its last id).
"""

import numpy as np

from plmjax.data.pretraining.collators import empty_seq2seq_batch, put_seq2seq_row
from plmjax.data.pretraining.masking import per_example_generators


def _random_partition(num_items: int, num_segments: int, rng: np.random.Generator) -> np.ndarray:
    """Lengths of `num_segments` non-empty runs that cut `num_items` items, all partitions equally likely: the
    segment starts are a random choice of `num_segments - 1` of the `num_items - 1` places between items."""
    first_in_segment = np.zeros(num_items, dtype=bool)
    first_in_segment[1:] = rng.permutation(np.arange(num_items - 1) < num_segments - 1)
    segment_id = np.cumsum(first_in_segment)
    return np.bincount(segment_id, minlength=num_segments)


def random_spans_noise_mask(
    length: int, rng: np.random.Generator, noise_density: float = 0.15, mean_noise_span_length: float = 3.0
) -> np.ndarray:
    """A bool per position (True = noise), as T5's `random_spans_noise_mask`; the first token is never noise."""
    padded_length = max(length, 2)
    num_noise = int(round(padded_length * noise_density))
    num_noise = min(max(num_noise, 1), padded_length - 1)
    num_spans = max(int(round(num_noise / mean_noise_span_length)), 1)
    noise_lengths = _random_partition(num_noise, num_spans, rng)
    nonnoise_lengths = _random_partition(padded_length - num_noise, num_spans, rng)
    interleaved = np.stack([nonnoise_lengths, noise_lengths], axis=1).reshape(-1)
    span_index = np.repeat(np.arange(2 * num_spans), interleaved)
    return (span_index % 2 == 1)[:length]


def _replace_spans(tokens: np.ndarray, span_mask: np.ndarray, first_sentinel_id: int) -> np.ndarray:
    """Each run of masked tokens becomes one sentinel (counting down from `first_sentinel_id`)."""
    previous = np.concatenate([[False], span_mask[:-1]])
    first = span_mask & ~previous
    sentinels = first_sentinel_id + 1 - np.cumsum(first)
    replaced = np.where(first, sentinels, tokens)
    return replaced[~(span_mask & previous)]


def span_corruption_lengths(
    inputs_length: int, noise_density: float = 0.15, mean_noise_span_length: float = 3.0
) -> tuple[int, int]:
    """`(tokens_length, targets_length)`: the longest raw row whose corrupted inputs (with EOS) fit
    `inputs_length`, and the targets length it then needs (T5's `random_spans_helper`: 568 and 114 for 512)."""

    def lengths(tokens_length):
        num_noise = int(round(tokens_length * noise_density))
        num_spans = int(round(num_noise / mean_noise_span_length))
        return tokens_length - num_noise + num_spans + 1, num_noise + num_spans + 1

    tokens_length = inputs_length - 1
    while lengths(tokens_length + 1)[0] <= inputs_length:
        tokens_length += 1
    return tokens_length, lengths(tokens_length)[1]


class T5SpanCorruptionCollator:
    """Seq2seq batches: `input_ids`, `attention_mask` ([batch, inputs_length]), `decoder_input_ids`,
    `decoder_attention_mask`, `target_ids`, `target_weights` ([batch, targets_length]), `weights` [batch].

    An example is a row of ids without EOS (`pack_documents(documents, tokens_length)` with `tokens_length` from
    `span_corruption_lengths`); a longer row is an error. `decoder_input_ids` are the targets shifted right after
    `decoder_start_token_id` (T5: the pad id, 0).
    """

    def __init__(
        self,
        *,
        inputs_length: int,
        targets_length: int,
        first_sentinel_id: int,
        eos_token_id: int,
        pad_token_id: int,
        decoder_start_token_id: int | None = None,
        noise_density: float = 0.15,
        mean_noise_span_length: float = 3.0,
        batch_size: int | None = None,
    ):
        self.inputs_length = inputs_length
        self.targets_length = targets_length
        self.first_sentinel_id = first_sentinel_id
        self.eos_token_id = eos_token_id
        self.pad_token_id = pad_token_id
        self.decoder_start_token_id = pad_token_id if decoder_start_token_id is None else decoder_start_token_id
        self.noise_density = noise_density
        self.mean_noise_span_length = mean_noise_span_length
        self.batch_size = batch_size

    @classmethod
    def from_tokenizer(cls, tokenizer, inputs_length: int, **options):
        """Lengths from `span_corruption_lengths(inputs_length)`; sentinels counting down from the tokenizer's
        `<extra_id_0>` (unless `first_sentinel_id` is given); EOS and pad from the tokenizer. Returns
        `(collator, tokens_length)`."""
        if tokenizer.eos_token_id is None or tokenizer.pad_token_id is None:
            raise ValueError("T5 span corruption needs a tokenizer with EOS and padding tokens")
        density = options.get("noise_density", 0.15)
        mean = options.get("mean_noise_span_length", 3.0)
        tokens_length, targets_length = span_corruption_lengths(inputs_length, density, mean)
        if "first_sentinel_id" not in options:
            # A real token used as a sentinel would be indistinguishable from text: require T5's sentinels.
            if "<extra_id_0>" not in tokenizer.get_vocab():
                raise ValueError(
                    "the tokenizer has no <extra_id_0> sentinel: train it with extra_ids=100 "
                    "(train_wordpiece_tokenizer / train_bpe_tokenizer) or pass first_sentinel_id"
                )
            options["first_sentinel_id"] = tokenizer.convert_tokens_to_ids("<extra_id_0>")
        collator = cls(
            inputs_length=inputs_length,
            targets_length=targets_length,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            **options,
        )
        return collator, tokens_length

    def corrupt(self, tokens, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """`(inputs, targets)` of one row, each ending in EOS."""
        tokens = np.asarray(tokens, dtype=np.int64)
        noise = random_spans_noise_mask(len(tokens), rng, self.noise_density, self.mean_noise_span_length)
        inputs = _replace_spans(tokens, noise, self.first_sentinel_id)
        targets = _replace_spans(tokens, ~noise, self.first_sentinel_id)
        return np.append(inputs, self.eos_token_id), np.append(targets, self.eos_token_id)

    def __call__(self, examples, rng) -> dict:
        """`rng`: one generator for the batch, or one per example."""
        rngs = per_example_generators(rng, len(examples))
        rows = self.batch_size if self.batch_size is not None else len(examples)
        if rows < len(examples):
            raise ValueError(f"{len(examples)} examples do not fit in a batch of {rows}")
        batch = empty_seq2seq_batch(rows, self.inputs_length, self.targets_length, self.pad_token_id)
        for row, (example, example_rng) in enumerate(zip(examples, rngs, strict=True)):
            inputs, targets = self.corrupt(example, example_rng)
            if len(inputs) > self.inputs_length or len(targets) > self.targets_length:
                raise ValueError(
                    f"example {row} ({len(example)} tokens) corrupts to {len(inputs)} input and {len(targets)} "
                    f"target tokens, more than {self.inputs_length}/{self.targets_length}: see span_corruption_lengths"
                )
            put_seq2seq_row(batch, row, inputs, targets, self.decoder_start_token_id)
        return batch
