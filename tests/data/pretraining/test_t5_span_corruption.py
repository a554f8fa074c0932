"""T5 span corruption: noise density and span lengths, sentinels, reconstruction, lengths and the batch layout."""

import itertools

import numpy as np
import pytest

from plmjax.data.pretraining import (
    T5SpanCorruptionCollator,
    random_spans_noise_mask,
    span_corruption_lengths,
    train_bpe_tokenizer,
)
from plmjax.data.pretraining.span_corruption import _random_partition

PAD, EOS, VOCAB = 0, 1, 32100
FIRST_SENTINEL = VOCAB - 1  # <extra_id_0> in T5's tokenizer


def runs(mask: np.ndarray) -> list[int]:
    """Lengths of the maximal runs of True."""
    return [len(list(group)) for value, group in itertools.groupby(mask.tolist()) if value]


@pytest.mark.parametrize(
    ("length", "num_noise", "num_spans"), [(100, 15, 5), (568, 85, 28), (75, 11, 4), (1000, 150, 50)]
)
def test_noise_density_and_span_count_are_exact(length, num_noise, num_spans):
    # round(length * 0.15) noise tokens in round(num_noise / 3) spans (75: 11.25 -> 11 tokens, 3.67 -> 4 spans).
    rng = np.random.default_rng(length)
    for _ in range(200):
        mask = random_spans_noise_mask(length, rng)
        assert mask.sum() == num_noise and not mask[0] and mask[-1]
        assert len(runs(mask)) == num_spans and len(runs(~mask)) == num_spans


def test_span_lengths_average_three_and_spread_over_the_row():
    rng = np.random.default_rng(0)
    masks = np.array([random_spans_noise_mask(568, rng) for _ in range(3000)])
    lengths = np.concatenate([runs(mask) for mask in masks])
    assert lengths.mean() == pytest.approx(85 / 28)  # round(568 * .15) = 85 noise tokens in round(85 / 3) spans
    # Random partitions, not fixed lengths: span lengths vary (their distribution is geometric-like).
    assert lengths.min() == 1 and lengths.max() >= 12
    assert np.mean(lengths == 1) > 0.25
    # Away from the ends (the row starts with non-noise and ends with noise), every position is noise 15% of the
    # time.
    rate = masks[:, 50:-50].mean(axis=0)
    p = 85 / 568
    assert np.all(np.abs(rate - p) < 5 * np.sqrt(p * (1 - p) / 3000))


def test_random_partition_is_uniform():
    # 5 items in 3 non-empty segments: C(4, 2) = 6 partitions, each with probability 1/6.
    rng = np.random.default_rng(1)
    counts = {}
    n = 12_000
    for _ in range(n):
        key = tuple(_random_partition(5, 3, rng).tolist())
        counts[key] = counts.get(key, 0) + 1
    assert set(counts) == {(1, 1, 3), (1, 3, 1), (3, 1, 1), (1, 2, 2), (2, 1, 2), (2, 2, 1)}
    assert all(abs(c / n - 1 / 6) < 5 * np.sqrt(5 / 36 / n) for c in counts.values())


def test_sentinels_count_down_and_inputs_plus_targets_rebuild_the_row():
    collator = T5SpanCorruptionCollator(
        inputs_length=512, targets_length=114, first_sentinel_id=FIRST_SENTINEL, eos_token_id=EOS, pad_token_id=PAD
    )
    rng = np.random.default_rng(2)
    for _ in range(50):
        row = rng.integers(2, 32000, 568)
        inputs, targets = collator.corrupt(row, rng)
        assert inputs[-1] == EOS and targets[-1] == EOS
        assert len(inputs) == 512 and len(targets) == 114  # T5's 568 -> 512 / 114 at density 0.15
        sentinels = FIRST_SENTINEL - np.arange(28)
        np.testing.assert_array_equal(inputs[inputs >= 32000], sentinels)
        np.testing.assert_array_equal(targets[targets >= 32000], sentinels)
        assert targets[0] == FIRST_SENTINEL  # targets start with <extra_id_0>
        # Put each target span back in place of its sentinel.
        spans = np.split(targets[:-1], np.flatnonzero(targets[:-1] >= 32000))[1:]
        rebuilt = []
        for token in inputs[:-1].tolist():
            if token >= 32000:
                span = spans[FIRST_SENTINEL - token]
                assert span[0] == token and len(span) > 1
                rebuilt.extend(span[1:].tolist())
            else:
                rebuilt.append(token)
        np.testing.assert_array_equal(rebuilt, row)


def test_span_corruption_lengths_match_t5():
    assert span_corruption_lengths(512) == (568, 114)
    # 141 tokens: 21 noise in 7 spans -> 141 - 21 + 7 + 1 = 128 inputs, 21 + 7 + 1 = 29 targets; 142 gives 129.
    assert span_corruption_lengths(128) == (141, 29)


def test_batch_layout_and_shifted_decoder_inputs():
    tokens_length = span_corruption_lengths(64)[0]
    collator = T5SpanCorruptionCollator(
        inputs_length=64,
        targets_length=span_corruption_lengths(64)[1],
        first_sentinel_id=999,
        eos_token_id=EOS,
        pad_token_id=PAD,
        batch_size=4,
    )
    rng = np.random.default_rng(3)
    rows = [rng.integers(2, 900, tokens_length).tolist(), rng.integers(2, 900, 20).tolist()]
    batch = collator(rows, [np.random.default_rng(0), np.random.default_rng(1)])
    assert batch["input_ids"].shape == (4, 64) and batch["target_ids"].shape == batch["decoder_input_ids"].shape
    assert batch["attention_mask"][0].all()  # a full-length row fills the inputs exactly
    np.testing.assert_array_equal(batch["weights"], [1, 1, 0, 0])
    for row in range(2):
        n = int(batch["target_weights"][row].sum())
        np.testing.assert_array_equal(batch["decoder_input_ids"][row, :n], [PAD, *batch["target_ids"][row, : n - 1]])
        assert batch["target_ids"][row, n - 1] == EOS and (batch["target_ids"][row, n:] == PAD).all()
        assert batch["decoder_attention_mask"][row].sum() == n
    assert batch["target_weights"].dtype == np.float32 and batch["input_ids"].dtype == np.int32
    again = collator(rows, [np.random.default_rng(0), np.random.default_rng(1)])
    for key in batch:
        np.testing.assert_array_equal(again[key], batch[key])  # same generators, same corruption
    with pytest.raises(ValueError, match="span_corruption_lengths"):
        collator([list(range(2, 2 + 2 * tokens_length))], np.random.default_rng(0))


def test_from_tokenizer_takes_the_sentinels_of_a_tokenizer_trained_with_extra_ids(tmp_path, corpus, bpe_tokenizer):
    tokenizer = train_bpe_tokenizer(str(tmp_path), texts=corpus, vocab_size=300, extra_ids=100)
    collator, tokens_length = T5SpanCorruptionCollator.from_tokenizer(tokenizer, 64)
    assert collator.first_sentinel_id == tokenizer.convert_tokens_to_ids("<extra_id_0>") == len(tokenizer) - 1
    assert tokenizer.convert_tokens_to_ids("<extra_id_99>") == len(tokenizer) - 100
    assert (collator.eos_token_id, collator.pad_token_id) == (tokenizer.eos_token_id, tokenizer.pad_token_id)
    assert (tokens_length, collator.targets_length) == span_corruption_lengths(64)
    rows = [list(range(10, 10 + tokens_length))]
    batch = collator(rows, np.random.default_rng(0))
    text = tokenizer.decode(batch["target_ids"][0][batch["target_weights"][0] > 0])
    assert text.startswith("<extra_id_0>") and text.endswith("</s>")
    # A tokenizer without sentinels would turn real tokens into sentinels: refused.
    with pytest.raises(ValueError, match="extra_ids"):
        T5SpanCorruptionCollator.from_tokenizer(bpe_tokenizer, 64)
