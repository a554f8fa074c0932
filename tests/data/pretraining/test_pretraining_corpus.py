"""Documents from local text files (three layouts) and the tfds catalog (mocked), sentence splitting."""

import pytest
import tensorflow_datasets as tfds

from plmjax.data import DataError
from plmjax.data.pretraining import read_documents, split_sentences, tfds_documents, tokenize_documents

WIKITEXT = """
 = Homarus gammarus =

 Homarus gammarus is a species of lobster . It is closely related to the American lobster .

 = = Description = =

 It may grow to a length of 60 cm . Mating occurs in the summer .

 = Second Article =

 The second article has one sentence .
"""


def test_split_sentences():
    assert split_sentences("The cat sat. The dog ran! Did it? Yes.") == [
        "The cat sat.",
        "The dog ran!",
        "Did it?",
        "Yes.",
    ]
    assert split_sentences('He said "stop." Then 3 dogs came.') == ['He said "stop."', "Then 3 dogs came."]
    # A lowercase word after a full stop (an abbreviation, a decimal) does not end the sentence.
    assert split_sentences("See e.g. the list. It is 3.5 m long.") == ["See e.g. the list.", "It is 3.5 m long."]
    assert split_sentences("WikiText spaces it out . Like this .") == ["WikiText spaces it out .", "Like this ."]
    assert split_sentences("  no final stop  ") == ["no final stop"]
    assert split_sentences("") == []


def test_wikitext_layout_starts_a_document_at_each_title(tmp_path):
    path = tmp_path / "wiki.txt"
    path.write_text(WIKITEXT, encoding="utf-8")
    documents = read_documents(str(path), layout="wikitext")
    assert documents == [
        [
            "Homarus gammarus is a species of lobster .",
            "It is closely related to the American lobster .",
            "It may grow to a length of 60 cm .",
            "Mating occurs in the summer .",
        ],
        ["The second article has one sentence ."],
    ]
    lines = read_documents(str(path), layout="wikitext", sentences=False)
    assert len(lines[0]) == 2 and lines[0][0].startswith("Homarus")


def test_blocks_and_lines_layouts(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("First doc. Two sentences.\nStill first.\n\n\nSecond doc.\n", encoding="utf-8")
    assert read_documents(str(path)) == [["First doc.", "Two sentences.", "Still first."], ["Second doc."]]
    assert read_documents(str(path), layout="lines") == [
        ["First doc.", "Two sentences."],
        ["Still first."],
        ["Second doc."],
    ]
    with pytest.raises(ValueError, match="unknown layout"):
        read_documents(str(path), layout="pages")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="no documents"):
        read_documents(str(empty))
    with pytest.raises(FileNotFoundError):
        read_documents(str(tmp_path / "missing.txt"))


@pytest.mark.parametrize("name", ["c4/en", "wikipedia/20230601.en"])
def test_tfds_catalog_documents(name):
    with tfds.testing.mock_data(num_examples=6, policy=tfds.testing.MockPolicy.USE_CODE):
        documents = list(tfds_documents(name, "train"))
        shard = list(tfds_documents(name, "train", process_index=1, process_count=2))
    assert 1 <= len(documents) <= 6 and len(shard) <= 3
    assert all(document and all(isinstance(s, str) and s for s in document) for document in documents)
    with (
        tfds.testing.mock_data(num_examples=2, policy=tfds.testing.MockPolicy.USE_CODE),
        pytest.raises(DataError, match="no field"),
    ):
        next(tfds_documents(name, "train", text_field="body"))


def test_tokenize_documents_keeps_the_document_structure(wordpiece_tokenizer):
    documents = [["The cat sat.", "The dog ran."], ["   "], ["A bird flew."]]
    tokenized = tokenize_documents(wordpiece_tokenizer, documents, batch_size=2)
    assert len(tokenized) == 2 and len(tokenized[0]) == 2
    assert wordpiece_tokenizer.decode(tokenized[0][1]) == "the dog ran."
    assert wordpiece_tokenizer.cls_token_id not in tokenized[1][0]
