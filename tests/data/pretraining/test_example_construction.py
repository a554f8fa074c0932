"""Segment pairs (NSP / SOP), packing for causal LM and MLM, and the causal-LM collator."""

import numpy as np
import pytest

from plmjax.data.pretraining import (
    CausalLmCollator,
    MlmCollator,
    MlmMasker,
    create_segment_pairs,
    join_segment,
    pack_documents,
    pack_sentences,
    truncate_pair,
)

CLS, SEP = 2, 3


def numbered_documents(count: int, seed: int = 0):
    """Document d holds tokens 1000 * (d + 1) + k, k counting up through the document, so a token tells which
    document it comes from and where; 2-12 sentences of 3-20 tokens."""
    rng = np.random.default_rng(seed)
    documents = []
    for d in range(count):
        sentences, k = [], 0
        for _ in range(int(rng.integers(2, 13))):
            length = int(rng.integers(3, 21))
            sentences.append([1000 * (d + 1) + k + i for i in range(length)])
            k += length
        documents.append(sentences)
    return documents


def segment_pairs(documents, seed: int, max_length: int = 64, **options):
    """create_segment_pairs with this file's [CLS] / [SEP] ids and a seeded generator."""
    rng = np.random.default_rng(seed)
    return create_segment_pairs(
        documents, max_length=max_length, cls_token_id=CLS, sep_token_id=SEP, rng=rng, **options
    )


def split_pair(pair):
    ids = pair["input_ids"]
    first_sep = ids.index(SEP)
    assert ids[0] == CLS and ids[-1] == SEP
    return np.array(ids[1:first_sep]), np.array(ids[first_sep + 1 : -1])


def test_nsp_labels_are_balanced_and_random_segments_come_from_another_document():
    pairs = segment_pairs(numbered_documents(3000), seed=0, task="nsp")
    labels = np.array([pair["sentence_label"] for pair in pairs])
    assert len(pairs) > 5000  # 5 sigma = 0.035: a 45% rate fails
    assert abs(labels.mean() - 0.5) < 5 * np.sqrt(0.25 / len(pairs))
    for pair in pairs:
        a, b = split_pair(pair)
        assert len(a) and len(b) and len(pair["input_ids"]) <= 64
        assert pair["token_type_ids"] == [0] * (len(a) + 2) + [1] * (len(b) + 1)
        doc_a, doc_b = set(a // 1000), set(b // 1000)
        assert len(doc_a) == 1 and len(doc_b) == 1  # each segment inside one document
        if pair["sentence_label"] == 1:
            assert doc_a != doc_b
        else:
            # The actual next segment: same document, right after A (truncation may trim A's end, B's start).
            assert doc_a == doc_b and a.max() < b.min()
            assert np.all(np.diff(a) == 1) and np.all(np.diff(b) == 1)


def test_nsp_never_draws_the_random_segment_from_the_same_document():
    # With two documents, a draw that allowed the same document would pick it half the time.
    documents = [document * 20 for document in numbered_documents(2, seed=5)]  # long: many pairs each
    pairs = segment_pairs(documents, seed=5, max_length=32, task="nsp")
    random_pairs = [pair for pair in pairs if pair["sentence_label"] == 1]
    assert len(random_pairs) > 30
    for pair in random_pairs:
        a, b = split_pair(pair)
        assert set(a // 1000) != set(b // 1000)


def test_sop_swaps_half_of_the_pairs():
    pairs = segment_pairs(numbered_documents(3000, seed=1), seed=1, task="sop")
    labels = np.array([pair["sentence_label"] for pair in pairs])
    assert abs(labels.mean() - 0.5) < 5 * np.sqrt(0.25 / len(pairs))
    for pair in pairs:
        a, b = split_pair(pair)
        assert set(a // 1000) == set(b // 1000)  # SOP never leaves the document
        if pair["sentence_label"] == 0:
            assert a.max() < b.min()
        else:
            assert b.max() < a.min()


def test_pairs_fill_the_target_length_except_short_ones():
    documents = numbered_documents(300, seed=2)
    pairs = segment_pairs(documents, seed=2, max_length=48, task="nsp")
    lengths = np.array([len(pair["input_ids"]) for pair in pairs])
    assert lengths.max() == 48
    # With long documents most pairs reach the full length; short_seq_prob=0 makes no short targets on purpose.
    no_short = segment_pairs(documents, seed=2, max_length=48, task="sop", short_seq_prob=0.0)
    always_short = segment_pairs(documents, seed=2, max_length=48, task="sop", short_seq_prob=1.0)
    assert np.mean([len(p["input_ids"]) for p in always_short]) < np.mean([len(p["input_ids"]) for p in no_short])
    with pytest.raises(ValueError, match="at least 2"):
        segment_pairs(documents[:1], seed=0, max_length=48)


def test_truncate_pair_trims_the_longer_segment_from_both_ends():
    rng = np.random.default_rng(0)
    front = back = 0
    for _ in range(200):
        a, b = list(range(10)), list(range(100, 130))
        truncate_pair(a, b, 20, rng)
        assert len(a) + len(b) == 20 and a == list(range(10))
        front += b[0] != 100
        back += b[-1] != 129
    assert front > 50 and back > 50


def test_nsp_pairs_collate_with_mlm():
    pairs = segment_pairs(numbered_documents(20), seed=3)
    masker = MlmMasker(vocab_size=30000, mask_token_id=4, special_ids=(0, 1, CLS, SEP, 4))
    batch = MlmCollator(masker, 64, 0)(pairs[:8], np.random.default_rng(0))
    assert set(batch) == {
        "input_ids",
        "attention_mask",
        "token_type_ids",
        "weights",
        "sentence_labels",
        "mlm_labels",
        "mlm_weights",
    }
    assert batch["sentence_labels"].tolist() == [pair["sentence_label"] for pair in pairs[:8]]
    assert batch["sentence_labels"].dtype == np.int32 and batch["token_type_ids"].dtype == np.int32
    for row, pair in enumerate(pairs[:8]):
        n = len(pair["input_ids"])
        assert batch["token_type_ids"][row, :n].tolist() == pair["token_type_ids"]
        assert (batch["token_type_ids"][row, n:] == 0).all()
        specials = np.isin(pair["input_ids"], (CLS, SEP))
        assert (batch["input_ids"][row, :n][specials] == np.array(pair["input_ids"])[specials]).all()


def test_pack_documents_for_causal_lm():
    documents = [[10, 11, 12], [20, 21], [30, 31, 32, 33]]
    rows = pack_documents(documents, 4, separator_id=0)
    assert rows == [[10, 11, 12, 0], [20, 21, 0, 30], [31, 32, 33, 0]]
    assert pack_documents(documents, 5, separator_id=0) == [[10, 11, 12, 0, 20], [21, 0, 30, 31, 32]]
    assert pack_documents(documents, 5, separator_id=0, drop_remainder=False)[-1] == [33, 0]
    assert pack_documents(documents, 3) == [[10, 11, 12], [20, 21, 30], [31, 32, 33]]


def test_causal_lm_collator_shifts_targets():
    batch = CausalLmCollator(5, 0, batch_size=3)([[7, 8, 9, 1, 5], [4, 6]])
    np.testing.assert_array_equal(batch["target_ids"][0], [8, 9, 1, 5, 0])
    np.testing.assert_array_equal(batch["target_weights"][0], [1, 1, 1, 1, 0])
    np.testing.assert_array_equal(batch["target_ids"][1, :1], [6])
    np.testing.assert_array_equal(batch["target_weights"][1], [1, 0, 0, 0, 0])
    np.testing.assert_array_equal(batch["target_weights"][2], [0] * 5)
    np.testing.assert_array_equal(batch["weights"], [1, 1, 0])
    assert batch["target_weights"].dtype == np.float32 and batch["target_ids"].dtype == np.int32


def test_pack_sentences_keeps_whole_sentences_within_the_limit():
    documents = [[[1] * 3, [2] * 4, [3] * 2], [[4] * 9], [[5] * 2]]
    assert pack_sentences(documents, 6) == [[[1] * 3], [[2] * 4, [3] * 2], [[4] * 6], [[4] * 3], [[5] * 2]]
    crossing = pack_sentences(documents, 6, cross_documents=True, separator_id=9)
    assert crossing == [[[1] * 3], [[2] * 4], [[3, 3, 9]], [[4] * 6], [[4, 4, 4, 9]], [[5, 5, 9]]]
    assert all(sum(map(len, segment)) <= 6 for segment in crossing)
    assert join_segment([[5, 6], [7]], bos_id=CLS, eos_id=SEP) == [CLS, 5, 6, 7, SEP]
