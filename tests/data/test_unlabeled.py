"""Unlabeled examples for semi-supervised methods: SentEval's escapes and the sentence key that matches one
sentence written two ways, files with malformed lines named by file and line, and sets holding test examples
cleaned or refused."""

import pytest

from plmjax.data import DataError, MalformedRowError
from plmjax.data.senteval import decode_cat_v, sentence_key, senteval_sentences
from plmjax.data.unlabeled import check_no_test_examples, read_unlabeled_file, unlabeled_examples, without_examples


def test_senteval_escapes_decode_and_keys_match_lmbff_spellings(tmp_path):
    assert decode_cat_v("a clichM-i of M-^Vthe year") == "a cliché of \u2013the year"
    assert sentence_key("it 's a `` great '' film .") == sentence_key('It\'s a "great" film.') == "itsagreatfilm"
    assert sentence_key("clichM-is abound") == sentence_key("clichés abound")
    (tmp_path / "MR").mkdir()
    (tmp_path / "MR" / "rt-polarity.neg").write_text("a   dull film .\n\nclichM-is abound\n")
    (tmp_path / "MR" / "rt-polarity.pos").write_text("a great film .\n")
    assert senteval_sentences(str(tmp_path / "MR"), ("rt-polarity.neg", "rt-polarity.pos")) == [
        "a dull film .",
        "clichés abound",
        "a great film .",
    ]
    (tmp_path / "senteval").mkdir()
    (tmp_path / "MR").rename(tmp_path / "senteval" / "MR")
    assert unlabeled_examples("mr", str(tmp_path))[1] == {"sentence": "clichés abound"}
    with pytest.raises(DataError, match="no unlabeled text for task 'sst-5'"):
        unlabeled_examples("sst-5", str(tmp_path))


def test_unlabeled_files_name_the_malformed_line(tmp_path):
    path = tmp_path / "pairs.txt"
    path.write_text("a premise\ta hypothesis\n\nanother premise\tanother one\nno tab here\n")
    with pytest.raises(MalformedRowError, match=r"pairs.txt:4: expected 2 tab-separated texts"):
        read_unlabeled_file(str(path), ("sentence1", "sentence2"))
    path.write_text("a premise\ta hypothesis\n")
    assert read_unlabeled_file(str(path), ("sentence1", "sentence2")) == [
        {"sentence1": "a premise", "sentence2": "a hypothesis"}
    ]
    questions = tmp_path / "trec.txt"
    questions.write_text("3 Who wrote it ?\n5 How far is it ?\n")
    assert read_unlabeled_file(str(questions), ("text",), label_first=True)[1] == {"text": "How far is it ?"}
    with pytest.raises(DataError, match="does not exist"):
        read_unlabeled_file(str(tmp_path / "missing.txt"), ("text",))


def test_test_examples_are_dropped_or_refused_by_an_exact_match():
    fields = ("sentence",)
    test = [{"sentence": "It's a great film."}, {"sentence": "the plot is thin"}]
    unlabeled = [{"sentence": "a new sentence"}, {"sentence": "it 's a great film ."}, {"sentence": "the plot"}]
    kept, removed = without_examples(unlabeled, test, fields)
    assert removed == 1 and kept == [{"sentence": "a new sentence"}, {"sentence": "the plot"}]
    check_no_test_examples(kept, test, fields, "unlabeled.txt")
    with pytest.raises(
        DataError, match=r"unlabeled.txt: 1 unlabeled examples are test examples \(the first, example 1"
    ):
        check_no_test_examples(unlabeled, test, fields, "unlabeled.txt")
