"""Masked-LM statistics over many sequences: selection rate, 80/10/10, whole words, spans, static/dynamic masks.

Tolerances are 5 binomial standard deviations: a correct collator fails about once in 3.5 million runs, and a
rate off by a couple of points fails every time.
"""

import numpy as np
import pytest

from plmjax.data.pretraining import MlmCollator, MlmMasker, continuation_table, example_rngs
from plmjax.data.pretraining.masking import spanbert_span_length_probs

PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4
SPECIAL = (PAD, UNK, CLS, SEP, MASK)
VOCAB = 1000
# Ids 5..504 start a word; 505..999 continue one (like WordPiece `##` pieces).
CONTINUATION = np.arange(VOCAB) >= 505


def five_sigma(p: float, n: int) -> float:
    return 5 * np.sqrt(p * (1 - p) / n)


def random_sequences(count: int, length: int, seed: int = 0) -> list[list[int]]:
    """[CLS] A [SEP] B [SEP] with random non-special ids (several specials inside, as in NSP pairs)."""
    rng = np.random.default_rng(seed)
    half = length // 2
    return [
        [CLS, *rng.integers(5, VOCAB, half).tolist(), SEP, *rng.integers(5, VOCAB, length - half).tolist(), SEP]
        for _ in range(count)
    ]


def word_sequences(count: int, words: int, seed: int = 0) -> list[list[int]]:
    """[CLS] words [SEP], each word a start id followed by 0-3 continuation ids."""
    rng = np.random.default_rng(seed)
    sequences = []
    for _ in range(count):
        ids = [CLS]
        for _ in range(words):
            ids.append(int(rng.integers(5, 505)))
            ids.extend(rng.integers(505, VOCAB, int(rng.integers(0, 4))).tolist())
        sequences.append([*ids, SEP])
    return sequences


def masker(**options) -> MlmMasker:
    return MlmMasker(vocab_size=VOCAB, mask_token_id=MASK, special_ids=SPECIAL, continuation=CONTINUATION, **options)


def collate(sequences, unit="token", seed=0, max_length=None, **options):
    max_length = max_length or max(len(s) for s in sequences)
    collator = MlmCollator(masker(unit=unit, **options), max_length, PAD)
    return collator(sequences, np.random.default_rng(seed))


def test_token_masking_rate_and_80_10_10():
    sequences = random_sequences(3000, 120)
    original = np.array(sequences)
    batch = collate(sequences)
    selected = batch["mlm_weights"] > 0
    # BERT's budget: exactly round(0.15 * 120) = 18 of the 120 maskable tokens per sequence.
    assert (selected.sum(axis=1) == 18).all()
    assert not selected[np.isin(original, SPECIAL)].any()
    np.testing.assert_array_equal(batch["mlm_labels"], np.where(selected, original, 0))
    corrupted = batch["input_ids"][selected]
    truth = original[selected]
    n = selected.sum()
    masked = np.mean(corrupted == MASK)
    # A random replacement may draw the original token again (1 in 995 non-special ids): it then reads unchanged.
    random_p = 0.1 * (1 - 1 / (VOCAB - 5))
    randomised = np.mean((corrupted != MASK) & (corrupted != truth))
    unchanged = np.mean(corrupted == truth)
    assert abs(masked - 0.8) < five_sigma(0.8, n)
    assert abs(randomised - random_p) < five_sigma(random_p, n)
    assert abs(unchanged - (1 - 0.8 - random_p)) < five_sigma(0.1, n)
    # Random replacements are never special tokens; unselected positions are untouched.
    assert not np.isin(corrupted[corrupted != MASK], SPECIAL).any()
    np.testing.assert_array_equal(batch["input_ids"][~selected], original[~selected])


def test_every_maskable_position_is_equally_likely():
    sequences = random_sequences(4000, 60, seed=1)
    selected = collate(sequences, seed=1)["mlm_weights"] > 0
    rate = selected.mean(axis=0)
    maskable = ~np.isin(np.array(sequences[0]), SPECIAL)
    p = 9 / 60  # round(0.15 * 60) of 60
    assert np.all(np.abs(rate[maskable] - p) < five_sigma(p, 4000))
    assert np.all(rate[~maskable] == 0)


def test_bernoulli_rate_tracks_mask_prob():
    # The budget follows mask_prob (a collator configured for 40% must select 40%).
    batch = collate(random_sequences(200, 100), mask_prob=0.4)
    assert batch["mlm_weights"].sum() == 200 * 40


def test_whole_word_masking_selects_every_piece_of_a_word():
    sequences = word_sequences(1500, 40, seed=2)
    max_length = max(len(s) for s in sequences)
    batch = collate(sequences, unit="word", max_length=max_length, seed=2)
    total_selected = total_maskable = 0
    for row, ids in enumerate(sequences):
        ids = np.array(ids)
        selected = batch["mlm_weights"][row, : len(ids)] > 0
        word = np.cumsum(~CONTINUATION[ids]) * ~np.isin(ids, SPECIAL)
        for w in np.unique(word[word > 0]):
            assert len(set(selected[word == w])) == 1, f"row {row}: word {w} partly selected"
        budget = int(round(0.15 * (len(ids) - 2)))
        assert selected.sum() <= budget
        total_selected += selected.sum()
        total_maskable += len(ids) - 2
    # Words that no longer fit are skipped, so the budget is filled to within a word; the rate stays near 15%.
    assert 0.145 < total_selected / total_maskable <= 0.15
    corrupted = batch["input_ids"][batch["mlm_weights"] > 0]
    n = len(corrupted)
    assert abs(np.mean(corrupted == MASK) - 0.8) < five_sigma(0.8, n)


def test_whole_words_from_a_wordpiece_tokenizer_and_from_word_ids(wordpiece_tokenizer):
    text = "the unbelievably wonderful players were reconstructing antidisestablishmentarianism quickly "
    encoded = wordpiece_tokenizer(text, text)
    ids = encoded["input_ids"]
    table = continuation_table(wordpiece_tokenizer)
    assert table[ids].any()  # the test text has `##` pieces
    by_table = MlmMasker.from_tokenizer(wordpiece_tokenizer, unit="word")
    words_table = by_table.word_index(np.array(ids), ~np.isin(ids, wordpiece_tokenizer.all_special_ids))
    words_ids = by_table.word_index(
        np.array(ids), ~np.isin(ids, wordpiece_tokenizer.all_special_ids), encoded.word_ids()
    )
    np.testing.assert_array_equal(words_table, words_ids)
    collator = MlmCollator.from_tokenizer(wordpiece_tokenizer, len(ids), unit="word")
    examples = [{"input_ids": ids, "word_ids": encoded.word_ids()}] * 200
    batch = collator(examples, example_rngs(0, range(200)))
    selected = batch["mlm_weights"][:, : len(ids)] > 0
    for w in np.unique(words_ids[words_ids >= 0]):
        columns = selected[:, words_ids == w]
        assert (columns.all(axis=1) | ~columns.any(axis=1)).all()
    assert not selected[:, np.isin(ids, wordpiece_tokenizer.all_special_ids)].any()


def test_byte_level_bpe_words_start_at_the_space_marker(bpe_tokenizer):
    ids = bpe_tokenizer("Unbelievable playing of the antidisestablishment runner.")["input_ids"]
    tokens = bpe_tokenizer.convert_ids_to_tokens(ids)
    masker_ = MlmMasker.from_tokenizer(bpe_tokenizer, unit="word")
    words = masker_.word_index(np.array(ids), ~np.isin(ids, bpe_tokenizer.all_special_ids))
    for position in range(1, len(ids) - 1):
        starts_word = words[position] != words[position - 1]
        assert starts_word == (tokens[position].startswith("\u0120") or position == 1), tokens[position]


def test_span_masking_selects_whole_words_and_fills_the_budget():
    sequences = word_sequences(600, 120, seed=3)
    max_length = max(len(s) for s in sequences)
    batch = collate(sequences, unit="span", max_length=max_length, seed=3)
    total_selected = total_budget = 0
    for row, ids in enumerate(sequences):
        ids = np.array(ids)
        selected = batch["mlm_weights"][row, : len(ids)] > 0
        word = np.cumsum(~CONTINUATION[ids])
        for w in np.unique(word[1:-1]):
            assert len(set(selected[word == w])) == 1
        total_selected += selected.sum()
        total_budget += int(round(0.15 * (len(ids) - 2)))
    # Spans stop at the budget and a word that no longer fits is skipped: the budget is all but filled.
    assert total_selected <= total_budget and total_selected / total_budget > 0.97


def test_spanbert_span_lengths_are_truncated_geometric():
    probs = spanbert_span_length_probs(0.2, 10)
    assert probs.sum() == pytest.approx(1.0)
    assert (probs[1:] / probs[:-1]) == pytest.approx(np.full(9, 0.8))
    mean = np.dot(np.arange(1, 11), probs)
    assert mean == pytest.approx(3.797, abs=1e-3)  # SpanBERT's "mean span length 3.8"
    draws = masker(unit="span").sample_span_words(np.random.default_rng(0), 100_000)
    std = np.sqrt(np.dot((np.arange(1, 11) - mean) ** 2, probs))
    assert abs(draws.mean() - mean) < 5 * std / np.sqrt(len(draws))
    assert draws.min() == 1 and draws.max() == 10


def test_placed_spans_are_contiguous_words_near_the_sampled_length():
    # One-token words, so span lengths in words are span lengths in tokens.
    rng = np.random.default_rng(5)
    span_masker = masker(unit="span")
    lengths = []
    for _ in range(400):
        ids = np.concatenate([[CLS], rng.integers(5, 505, 1000), [SEP]])
        units = span_masker.select_units(ids, rng)
        covered = np.concatenate([np.arange(a, b) for a, b in units])
        assert len(covered) == len(set(covered.tolist())) == 150  # disjoint, exactly the budget
        lengths.extend(b - a for a, b in units)
    # A span that runs into an already selected word or the budget stops early, so placed spans average a bit
    # under the sampled 3.80 (3.56 in simulation); Geometric(0.25) gives 3.12, a 12-word cap 3.89, per-token 1.
    assert 3.45 < np.mean(lengths) < 3.70


def test_span_masking_replaces_whole_spans_80_10_10():
    span_masker = masker(unit="span")
    rng = np.random.default_rng(6)
    outcomes = []
    for _ in range(300):
        ids = np.concatenate([[CLS], rng.integers(5, 505, 400), [SEP]])
        units = span_masker.select_units(ids, rng)
        corrupted = span_masker.corrupt(ids, units, rng)
        for start, end in units:
            piece, truth = corrupted[start:end], ids[start:end]
            if (piece == MASK).all():
                outcomes.append("mask")
            elif (piece == truth).all():
                outcomes.append("same")  # (or a random span that redrew every original token: ~never)
            else:
                assert not (piece == MASK).any(), "a span is masked all or nothing"
                outcomes.append("random")
    outcomes = np.array(outcomes)
    n = len(outcomes)
    assert abs(np.mean(outcomes == "mask") - 0.8) < five_sigma(0.8, n)
    assert abs(np.mean(outcomes == "random") - 0.1) < five_sigma(0.1, n)


def test_static_masks_repeat_across_epochs_and_dynamic_masks_change():
    sequences = random_sequences(64, 60, seed=4)
    collator = MlmCollator(masker(), 63, PAD)
    static = [collator(sequences, example_rngs(7, range(64)))["input_ids"] for _ in range(2)]
    np.testing.assert_array_equal(static[0], static[1])
    epoch0 = collator(sequences, example_rngs(7, range(64), epoch=0))
    epoch1 = collator(sequences, example_rngs(7, range(64), epoch=1))
    differs = (epoch0["mlm_weights"] != epoch1["mlm_weights"]).any(axis=1)
    assert differs.all()
    # The static mask of example 5 does not depend on its batch neighbours: it is seeded by its index only.
    alone = collator([sequences[5]], example_rngs(7, [5]))["input_ids"][0]
    np.testing.assert_array_equal(alone, static[0][5])
    # Determinism: same seed, same epoch, same batch; another seed, another batch.
    again = collator(sequences, example_rngs(7, range(64), epoch=1))
    for key in epoch1:
        np.testing.assert_array_equal(again[key], epoch1[key])
    other = collator(sequences, example_rngs(8, range(64), epoch=1))
    assert (other["mlm_weights"] != epoch1["mlm_weights"]).any()


def test_batch_layout_and_padding_rows():
    sequences = [[CLS, 10, 11, 12, SEP], [CLS, 20, SEP]]
    collator = MlmCollator(masker(mask_prob=0.5), 8, PAD, batch_size=4)
    batch = collator(sequences, np.random.default_rng(0))
    assert set(batch) == {"input_ids", "attention_mask", "weights", "mlm_labels", "mlm_weights"}
    for key in ("input_ids", "attention_mask", "mlm_labels"):
        assert batch[key].shape == (4, 8) and batch[key].dtype == np.int32
    assert batch["mlm_weights"].dtype == np.float32 and batch["weights"].dtype == np.float32
    np.testing.assert_array_equal(batch["weights"], [1, 1, 0, 0])
    np.testing.assert_array_equal(batch["attention_mask"][:, :5], [[1] * 5, [1, 1, 1, 0, 0], [0] * 5, [0] * 5])
    # Budgets: round(0.5 * 3) = 2 and, for one maskable token, at least 1.
    assert batch["mlm_weights"].sum(axis=1).tolist() == [2, 1, 0, 0]
    assert batch["mlm_weights"][1, 1] == 1 and batch["mlm_labels"][1, 1] == 20
    assert (batch["input_ids"][:, 5:] == PAD).all() and (batch["mlm_weights"][:, 5:] == 0).all()
    with pytest.raises(ValueError, match="more than max_length"):
        collator([[CLS, *range(5, 20), SEP]], np.random.default_rng(0))
