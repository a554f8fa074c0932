"""ERNIE's phrase and entity masking: the lexicons learnt from text, and masking statistics over many sequences.

Tolerances are 5 binomial standard deviations, as in test_mlm_masking.py.
"""

import ml_collections
import numpy as np
import pytest

from plmjax.data import pretraining as pt
from plmjax.data.pretraining.batches import make_collator

PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4
SPECIAL = (PAD, UNK, CLS, SEP, MASK)
VOCAB = 1000
CONTINUATION = np.arange(VOCAB) >= 505  # ids 5..504 start a word, 505..999 continue one
PIECES = [f"w{i}" if i < 505 else f"c{i}" for i in range(VOCAB)]
ENTITY, PHRASE = [7, 9], [11, 13]  # two one-piece words each: one two-token unit each
FILLER = ["the", "a", "of", "cat", "dog", "ran", "sat", "on", "mat", "house", "big", "small", "went", "to"]


def planted_corpus(lines: int = 400, seed: int = 0) -> list[str]:
    """Random filler sentences; every second one has "New York" inside, every third one "in spite of"."""
    rng = np.random.default_rng(seed)
    texts = []
    for i in range(lines):
        words = rng.choice(FILLER, 12).tolist()
        at = int(rng.integers(1, 10))
        if i % 2:
            words[at:at] = ["New", "York"]
        if i % 3 == 0:
            words[at:at] = ["in", "spite", "of"]
        texts.append(" ".join(["It", *words]) + ".")
    return texts


def test_phrases_are_the_collocations_and_entities_the_capitalised_runs():
    texts = planted_corpus()
    phrases = pt.phrase_lexicon(texts)
    assert ("in", "spite", "of") in phrases and ("new", "york") in phrases
    # Frequent filler words next to each other are not phrases: every phrase is part of a planted one.
    assert all(" ".join(p) in "in spite of" or p == ("new", "york") for p in phrases), phrases
    entities = pt.entity_gazetteer(texts)
    assert entities == {("new", "york")}  # "It" opens every sentence and is never an entity
    # Capitalised less often than lower-cased, a word is not an entity: "Apple" twice, "apple" three times.
    extra = ["I ate an Apple today.", "We saw Apple there.", *["an apple fell."] * 3]
    assert ("apple",) not in pt.entity_gazetteer(texts + extra)
    assert ("apple",) in pt.entity_gazetteer(texts + extra[:2])


def unit_sequences(count: int) -> list[list[int]]:
    """[CLS] 20 two-token units [SEP]: the entity, the phrase and 18 words of two pieces, in random order.
    With equal unit sizes whole-unit selection is uniform: a budget of 6 tokens takes 3 of the 20 units."""
    rng = np.random.default_rng(1)
    sequences = []
    for _ in range(count):
        units = [ENTITY, PHRASE] + [[int(rng.integers(20, 505)), int(rng.integers(505, VOCAB))] for _ in range(18)]
        order = rng.permutation(len(units))
        sequences.append([CLS, *[t for k in order for t in units[k]], SEP])
    return sequences


def masked(unit: str, count: int = 4000):
    knowledge = pt.KnowledgeSpans(PIECES, phrases=[("w11", "w13")], entities=[("w7", "w9")])
    masker = pt.MlmMasker(
        vocab_size=VOCAB, mask_token_id=MASK, special_ids=SPECIAL, continuation=CONTINUATION, unit=unit,
        knowledge=knowledge,
    )  # fmt: skip
    sequences = unit_sequences(count)
    batch = pt.MlmCollator(masker, 42, PAD)(sequences, np.random.default_rng(2))
    return np.array(sequences), batch


def unit_positions(sequences: np.ndarray, first_id: int) -> np.ndarray:
    """Per row the position of the unit starting with `first_id` (a unit's two tokens are adjacent)."""
    return np.argmax(sequences == first_id, axis=1)


@pytest.mark.parametrize("unit", ["knowledge", "entity", "phrase"])
def test_units_are_masked_whole_at_the_budget_and_uniformly(unit):
    sequences, batch = masked(unit)
    weights, rows = batch["mlm_weights"], np.arange(len(sequences))
    assert (weights.sum(axis=1) == 6).all()  # round(40 * 0.15) tokens, every row
    # The kind's own units: "entity" and "phrase" leave the other's two words as one-token words.
    first = {"knowledge": ENTITY[0], "entity": ENTITY[0], "phrase": PHRASE[0]}[unit]
    at = unit_positions(sequences, first)
    first_selected, second_selected = weights[rows, at], weights[rows, at + 1]
    assert (first_selected == second_selected).all()  # never half a phrase or entity
    rate, p = first_selected.mean(), 3 / 20
    assert abs(rate - p) < 5 * np.sqrt(p * (1 - p) / len(rows)), rate


@pytest.mark.parametrize("unit, count", [("knowledge", 20), ("entity", 21), ("phrase", 21), ("word", 22)])
def test_each_kind_merges_its_own_units(unit, count):
    knowledge = pt.KnowledgeSpans(PIECES, phrases=[("w11", "w13")], entities=[("w7", "w9")])
    ids = np.array(unit_sequences(1)[0])
    starts, ends = np.arange(1, 41), np.arange(2, 42)
    starts, ends = starts[~CONTINUATION[ids[1:41]]], ends[np.r_[~CONTINUATION[ids[2:41]], True]]
    if unit != "word":
        starts, ends = knowledge.units(ids, starts, ends, unit)
    assert len(starts) == count


def test_a_selected_unit_is_masked_replaced_or_kept_as_a_whole_80_10_10():
    sequences, batch = masked("knowledge", 8000)
    fates = []
    for first in (ENTITY[0], PHRASE[0]):
        at = unit_positions(sequences, first)
        rows = np.flatnonzero(batch["mlm_weights"][np.arange(len(sequences)), at] == 1)
        at = at[rows]
        pair = np.stack([batch["input_ids"][rows, at], batch["input_ids"][rows, at + 1]], axis=1)
        original = np.stack([sequences[rows, at], sequences[rows, at + 1]], axis=1)
        masked_both = (pair == MASK).all(axis=1)
        kept_both = (pair == original).all(axis=1)
        replaced_both = ((pair != MASK) & (pair != original)).sum(axis=1) >= 1  # a random draw may repeat one
        assert (masked_both | kept_both | replaced_both).all()
        assert not ((pair == MASK).any(axis=1) & ~masked_both).any()  # never half masked
        fates.append(np.select([masked_both, kept_both], [0, 2], 1))
    fates = np.concatenate(fates)
    for fate, p in ((0, 0.8), (1, 0.1), (2, 0.1)):
        assert abs((fates == fate).mean() - p) < 5 * np.sqrt(p * (1 - p) / len(fates)) + 0.01, fate


def test_words_join_their_pieces_and_units_stop_at_special_tokens():
    knowledge = pt.KnowledgeSpans(PIECES, entities=[("w7c600", "w9")])
    ids = np.array([CLS, 7, 600, 9, SEP, 7, 600, SEP, 9, SEP])
    starts, ends = np.array([1, 3, 5, 8]), np.array([3, 4, 7, 9])
    unit_starts, unit_ends = knowledge.units(ids, starts, ends, "entity")
    # The first "w7c600 w9" is one unit; the second pair is split by [SEP] and stays two words.
    assert unit_starts.tolist() == [1, 5, 8] and unit_ends.tolist() == [4, 7, 9]


def test_the_trainers_collator_learns_its_units_from_the_corpus(tmp_path, wordpiece_tokenizer):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join(planted_corpus()))
    config = ml_collections.ConfigDict({
        "objective": {"name": "mlm", "mask_unit": "knowledge", "mask_prob": 0.15},
        "data": {"max_length": 32, "corpus_files": str(corpus), "corpus_layout": "blocks"},
    })  # fmt: skip
    collator = make_collator(config, wordpiece_tokenizer, rows=2)
    knowledge = collator.masker.knowledge
    assert ("new", "york") in knowledge.lexicons["entity"] and ("in", "spite", "of") in knowledge.lexicons["phrase"]
    config.data.corpus_files = ""
    with pytest.raises(ValueError, match="corpus_files"):
        make_collator(config, wordpiece_tokenizer, rows=2)


def test_knowledge_units_without_their_lexicons_are_a_clear_error():
    with pytest.raises(ValueError, match="KnowledgeSpans"):
        pt.MlmMasker(vocab_size=VOCAB, mask_token_id=MASK, special_ids=SPECIAL, unit="entity")
    with pytest.raises(ValueError, match="unknown knowledge unit"):
        pt.KnowledgeSpans(PIECES).units(np.array([5]), np.array([0]), np.array([1]), "chunk")
