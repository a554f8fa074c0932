"""BART noising: infilling statistics (Poisson span mean, mask ratio), the other noises, and the batch layout."""

import numpy as np
import pytest

from plmjax.data.pretraining import BartDenoisingCollator

BOS, PAD, EOS, UNK, MASK = 0, 1, 2, 3, 4
VOCAB = 50_000


def collator(max_length=512, **options) -> BartDenoisingCollator:
    defaults = {"random_ratio": 0.0, "permute_sentences": False}
    return BartDenoisingCollator(
        max_length=max_length,
        bos_token_id=BOS,
        eos_token_id=EOS,
        pad_token_id=PAD,
        mask_token_id=MASK,
        vocab_size=VOCAB,
        special_ids=(UNK,),
        **{**defaults, **options},
    )


def align(noised: np.ndarray, original: np.ndarray) -> tuple[int, int, int]:
    """`(masks, tokens removed, masks that must be insertions)` for a noised text of unique ids, asserting the kept
    tokens are the original's in order and that every removed stretch is marked by at least one mask."""
    position = {token: index for index, token in enumerate(original.tolist())}
    kept = [position[token] for token in noised.tolist() if token != MASK]
    assert np.all(np.diff(kept) > 0)
    masks = removed = insertions = 0
    previous, run = -1, 0
    for token in [*noised.tolist(), None]:
        if token == MASK:
            run += 1
            continue
        index = len(original) if token is None else position[token]
        gap = index - previous - 1
        assert run >= 1 or gap == 0
        masks += run
        removed += gap
        insertions += max(0, run - gap)  # a non-empty span covers at least one token
        previous, run = index, 0
    return masks, removed, insertions


def test_text_infilling_masks_30_percent_in_poisson_3_spans():
    noiser = collator(max_length=1024)
    rng = np.random.default_rng(0)
    masks = removed = total = 0
    for _ in range(150):
        original = np.arange(100, 1100)
        noised, target = noiser.noise(original, rng)
        np.testing.assert_array_equal(target, original)
        count, gone, _ = align(noised, original)
        masks += count
        removed += gone
        total += len(original)
        assert gone == 300  # exactly round(0.3 * 1000) tokens covered by spans
    # One mask per span (0-length spans included), so removed / masks is the mean span length. Sampling stops
    # once the spans cover the budget (the last one shortened): renewal theory puts E[spans] at
    # 300/3 + E[L^2]/(2*3^2) = 100.7 per row, a bias of -0.02 on the mean, allowed on top of 5 sigma.
    assert abs(removed / masks - 3.0) < 5 * np.sqrt(3.0 / masks) + 0.02


def test_zero_length_spans_insert_a_mask():
    noiser = collator(poisson_lambda=0.3)  # P(0) = 0.74: most spans are insertions
    rng = np.random.default_rng(1)
    insertions = masks = 0
    for _ in range(20):
        original = np.arange(100, 400)
        noised, _ = noiser.noise(original, rng)
        count, gone, inserted = align(noised, original)
        assert gone == 90
        masks += count
        insertions += inserted
    assert masks > 20 * 90  # more masks than covered tokens: many spans were empty
    assert insertions > masks / 3


def test_random_ratio_replaces_masks_with_non_special_tokens():
    noiser = collator(max_length=1024, random_ratio=0.1, infill_ratio=0.0, token_mask_ratio=0.5)
    rng = np.random.default_rng(2)
    original = np.full(1000, 7)
    changed = 0
    for _ in range(40):
        noised, _ = noiser.noise(original, rng)
        masked = (noised == MASK).sum()
        randomised = ((noised != MASK) & (noised != 7)).sum()
        # A random replacement may draw 7 again (1 in 49,995): then masked + randomised is 499.
        assert 498 <= masked + randomised <= 500
        changed += randomised
        assert not np.isin(noised[noised != MASK], (BOS, PAD, EOS, UNK)).any()
    n = 40 * 500
    assert abs(changed / n - 0.1) < 5 * np.sqrt(0.09 / n)


def test_token_deletion_and_masking_counts():
    rng = np.random.default_rng(3)
    original = np.arange(100, 300)
    deleted, _ = collator(infill_ratio=0.0, token_delete_ratio=0.2).noise(original, rng)
    assert len(deleted) == 160 and np.all(np.diff(deleted) > 0) and set(deleted) <= set(original)
    masked, _ = collator(infill_ratio=0.0, token_mask_ratio=0.25).noise(original, rng)
    assert len(masked) == 200 and (masked == MASK).sum() == 50
    np.testing.assert_array_equal(masked[masked != MASK], original[masked != MASK])


def test_sentence_permutation_and_document_rotation():
    sentences = [list(range(100 * s, 100 * s + 5)) for s in range(1, 7)]
    flat = np.concatenate(sentences)
    rng = np.random.default_rng(4)
    orders = set()
    permuter = collator(infill_ratio=0.0, permute_sentences=True)
    for _ in range(50):
        noised, target = permuter.noise(sentences, rng)
        np.testing.assert_array_equal(target, flat)  # the target is always the original order
        pieces = noised.reshape(6, 5)
        assert sorted(map(tuple, pieces.tolist())) == sorted(map(tuple, sentences))
        orders.add(tuple(pieces[:, 0].tolist()))
    assert len(orders) > 40
    starts = set()
    rotator = collator(infill_ratio=0.0, rotate_document=True)
    for _ in range(200):
        rotated, _ = rotator.noise(flat, rng)
        shift = int(np.flatnonzero(rotated == flat[0])[0])
        np.testing.assert_array_equal(np.roll(rotated, -shift), flat)
        starts.add(int(rotated[0]))
    assert len(starts) > 20


def test_batch_layout_and_shifted_decoder_inputs():
    noiser = collator(max_length=16, batch_size=3)
    batch = noiser([[[10, 11, 12], [13, 14]], list(range(20, 40))], np.random.default_rng(5))
    assert set(batch) == {
        "input_ids",
        "attention_mask",
        "decoder_input_ids",
        "decoder_attention_mask",
        "target_ids",
        "target_weights",
        "weights",
    }
    assert all(array.shape == (3, 16) for key, array in batch.items() if key != "weights")
    np.testing.assert_array_equal(batch["target_ids"][0, :7], [BOS, 10, 11, 12, 13, 14, EOS])
    np.testing.assert_array_equal(batch["decoder_input_ids"][0, :7], [EOS, BOS, 10, 11, 12, 13, 14])
    np.testing.assert_array_equal(batch["target_weights"][0], [1] * 7 + [0] * 9)
    np.testing.assert_array_equal(batch["decoder_attention_mask"][0], [1] * 7 + [0] * 9)
    # The second text is truncated to max_length - 2 = 14 tokens between <s> and </s>.
    np.testing.assert_array_equal(batch["target_ids"][1], [BOS, *range(20, 34), EOS])
    encoder = batch["input_ids"][1][batch["attention_mask"][1] == 1]
    assert encoder[0] == BOS and encoder[-1] == EOS and (encoder == MASK).sum() >= 1
    np.testing.assert_array_equal(batch["weights"], [1, 1, 0])
    assert batch["target_weights"].dtype == np.float32 and batch["input_ids"].dtype == np.int32


def test_same_generator_state_same_noise():
    text = list(range(10, 200))
    first = collator()([text] * 4, [np.random.default_rng(s) for s in range(4)])
    second = collator()([text] * 4, [np.random.default_rng(s) for s in range(4)])
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    assert len({tuple(row) for row in first["input_ids"].tolist()}) == 4


@pytest.mark.parametrize("ratio", [0.15, 0.5])
def test_infill_ratio_sets_the_covered_fraction(ratio):
    original = np.arange(100, 500)
    noised, _ = collator(infill_ratio=ratio).noise(original, np.random.default_rng(6))
    assert align(noised, original)[1] == round(400 * ratio)


def test_whole_word_infilling_masks_30_percent_of_the_words_in_poisson_3_spans():
    continuation = np.random.default_rng(7).random(VOCAB) < 0.4  # 40% of the ids continue a word
    continuation[:100] = False
    noiser = collator(max_length=1024, continuation=continuation)
    rng = np.random.default_rng(8)
    masks = removed_words = 0
    for _ in range(150):
        original = np.arange(100, 1100)
        starts = ~continuation[original]
        starts[0] = True
        word_of = np.cumsum(starts) - 1
        noised, _ = noiser.noise(original, rng)
        count, _, _ = align(noised, original)
        kept = np.isin(original, noised)
        # Removed stretches are whole words: a word is either all kept or all removed.
        for word in range(word_of[-1] + 1):
            assert len(set(kept[word_of == word])) == 1
        words_removed = len(np.unique(word_of[~kept]))
        assert words_removed == round(0.3 * (word_of[-1] + 1))
        masks += count
        removed_words += words_removed
    assert abs(removed_words / masks - 3.0) < 5 * np.sqrt(3.0 / masks) + 0.02


def test_from_tokenizer_infills_whole_bpe_words(bpe_tokenizer, corpus):
    noiser = BartDenoisingCollator.from_tokenizer(bpe_tokenizer, 512, random_ratio=0.0, permute_sentences=False)
    ids = bpe_tokenizer(" ".join(corpus[:12]), add_special_tokens=False)["input_ids"]
    batch = noiser([ids], np.random.default_rng(9))
    tokens = bpe_tokenizer.convert_ids_to_tokens(batch["input_ids"][0][batch["attention_mask"][0] > 0])
    assert tokens[0] == "<s>" and tokens[-1] == "</s>" and "<mask>" in tokens
    # A mask replaces whole words, so the token after it starts a word (or is punctuation, </s> or a mask).
    for token, following in zip(tokens, tokens[1:], strict=False):
        if token == "<mask>":
            assert following.startswith("\u0120") or following in ("</s>", "<mask>", ".", ",")
    assert bpe_tokenizer.decode(batch["target_ids"][0], skip_special_tokens=True) == " ".join(corpus[:12])
