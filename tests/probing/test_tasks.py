"""The real-data task readers on tiny files made here: WikiText is cut into sentences, the capitalisation task
probes only non-initial words made of letters at their first sub-token, a cased tokenizer is refused, and a
SentEval corpus gets a stratified held-out fifth."""

import numpy as np
import pytest

from plmjax.probing.tasks import capitalisation_task, sentence_task, wikitext_sentences
from tests.prompting.conftest import wordpiece_tokenizer

WIKITEXT = """ = Heading = \n \n The Movie is Good . I read the Book , it was slow\n \n = = Sub = = \n Films day .\n"""


def test_wikitext_is_cut_into_sentences_without_headings(tmp_path):
    (tmp_path / "wikitext2").mkdir()
    (tmp_path / "wikitext2" / "valid.txt").write_text(WIKITEXT)
    sentences = wikitext_sentences(str(tmp_path / "wikitext2" / "valid.txt"))
    assert sentences == [
        ["The", "Movie", "is", "Good", "."],
        ["I", "read", "the", "Book", ",", "it", "was", "slow"],
        ["Films", "day", "."],
    ]


def test_the_capitalisation_task_labels_non_initial_words(tmp_path):
    (tmp_path / "wikitext2").mkdir()
    (tmp_path / "wikitext2" / "valid.txt").write_text(WIKITEXT)
    task = capitalisation_task(str(tmp_path), wordpiece_tokenizer(), train_sentences=3, test_sentences=0)
    train = task["train"]
    by_sentence = {len(ids): (ids, positions) for ids, positions in zip(train["ids"], train["positions"], strict=True)}
    # "The movie is good ." -> the movie is good . (no special tokens): Movie, is, Good probed at 1, 2, 3.
    assert by_sentence[5][1] == [1, 2, 3]
    # "Films day ." -> film ##s day .: "day" at 2 ("Films" is first, not probed).
    assert by_sentence[4][1] == [2]
    rows = sorted(zip(train["types"], train["labels"].tolist(), strict=True))
    assert rows == sorted(
        [("movie", 1), ("is", 0), ("good", 1), ("read", 0), ("the", 0), ("book", 1), ("it", 0), ("was", 0),
         ("slow", 0), ("day", 0)]
    )  # fmt: skip
    assert len(task["test"]["labels"]) == 0


def test_a_cased_tokenizer_is_refused(tmp_path):
    from tokenizers import normalizers

    tokenizer = wordpiece_tokenizer()
    tokenizer.backend_tokenizer.normalizer = normalizers.BertNormalizer(lowercase=False)
    with pytest.raises(ValueError, match="needs an uncased tokenizer"):
        capitalisation_task(str(tmp_path), tokenizer)


def test_a_senteval_corpus_holds_out_a_stratified_fifth(tmp_path):
    folder = tmp_path / "senteval" / "SUBJ"
    folder.mkdir(parents=True)
    (folder / "subj.objective").write_text("".join(f"objective sentence {i}\n" for i in range(30)))
    (folder / "subj.subjective").write_text("".join(f"subjective sentence {i}\n" for i in range(20)))
    task = sentence_task(str(tmp_path), "SUBJ")
    (train_texts, _), (test_texts, test_y) = task["train"], task["test"]
    np.testing.assert_array_equal(np.bincount(test_y), [6, 4])
    assert sorted(train_texts + test_texts) == sorted(
        [f"objective sentence {i}" for i in range(30)] + [f"subjective sentence {i}" for i in range(20)]
    )
    small = sentence_task(str(tmp_path), "SUBJ", max_train=10, max_test=5)
    assert len(small["train"][1]) == 10 and len(small["test"][1]) == 5
    with pytest.raises(ValueError, match="sentence task 'SST' does not exist"):
        sentence_task(str(tmp_path), "SST")
