"""The word vocabulary of ELMo's biLM and the character-word windows it trains on."""

import numpy as np
import pytest

from plmjax.data.pretraining.batches import CharacterWordBatches, RandomWindows
from plmjax.data.pretraining.word_tokenizer import SPECIALS, WordTokenizer
from plmjax.models.elmo import elmo_char_ids

TEXTS = ["the cat sat on the mat", "the dog sat", "a <unk> cat"]


def test_words_rank_by_frequency_after_the_specials_and_the_softmax_is_a_prefix(tmp_path):
    tokenizer = WordTokenizer.from_texts(TEXTS, softmax_size=7)
    # the: 3, cat: 2, sat: 2, then once each in word order; the corpus's own <unk> is the special.
    assert tokenizer.words == [*SPECIALS, "the", "cat", "sat", "a", "dog", "mat", "on"]
    assert tokenizer.softmax_size == 7 and len(tokenizer) == 11
    ids = tokenizer(["the dog barked <unk>"])["input_ids"][0]
    assert ids == [4, 8, tokenizer.unk_token_id, tokenizer.unk_token_id]
    # Past the softmax a word keeps its id (its characters) but the softmax predicts <unk>.
    assert tokenizer.softmax_ids(np.array([4, 6, 7, 10])).tolist() == [4, 6, 3, 3]
    tokenizer.save(str(tmp_path))
    again = WordTokenizer.load(str(tmp_path))
    assert again.words == tokenizer.words and again.softmax_size == 7
    assert tokenizer.decode([4, 5, 6]) == "the cat sat"


def test_bad_vocabularies_are_errors():
    with pytest.raises(ValueError, match="specials"):
        WordTokenizer(["the", "cat"], softmax_size=10)
    with pytest.raises(ValueError, match="leaves no word"):
        WordTokenizer.from_texts(TEXTS, softmax_size=4)


def test_character_word_windows_carry_each_words_characters_and_resume():
    tokenizer = WordTokenizer.from_texts(TEXTS, softmax_size=6)
    table = tokenizer.char_table(max_chars=8)
    assert not table[tokenizer.pad_token_id].any() and (table[1:] > 0).all()
    np.testing.assert_array_equal(table[tokenizer.ids["dog"]], elmo_char_ids(["dog"], 8)[0])
    stream = np.array(tokenizer(TEXTS)["input_ids"][0] * 5, np.int32)
    batches = CharacterWordBatches(RandomWindows(stream, 4, 3, seed=0), tokenizer, max_chars=8)
    windows = RandomWindows(stream, 4, 3, seed=0)
    first, ids = next(batches), next(windows)["input_ids"]
    assert first["char_ids"].shape == (3, 4, 8) and first["weights"].tolist() == [1, 1, 1]
    for row, words in enumerate(ids):
        np.testing.assert_array_equal(first["char_ids"][row], elmo_char_ids(tokenizer.decode(words).split(), 8))
    np.testing.assert_array_equal(first["word_ids"], np.where(ids < 6, ids, tokenizer.unk_token_id))
    state = batches.get_state()
    second = next(batches)
    resumed = CharacterWordBatches(RandomWindows(stream, 4, 3, seed=0), tokenizer, max_chars=8)
    resumed.set_state(state)
    np.testing.assert_array_equal(next(resumed)["char_ids"], second["char_ids"])
