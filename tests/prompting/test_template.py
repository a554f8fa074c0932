"""Templates and verbalizers on the tiny tokenizers: exact ids and mask positions, truncation that keeps the
template and its mask, soft tokens, segments, field transforms, and a clear error for each bad input."""

import numpy as np
import pytest

from plmjax.prompting import Field, ManualVerbalizer, Mask, PromptError, Sep, Soft, Template, Text
from tests.prompting.conftest import byte_level_word_tokenizer, wordpiece_tokenizer

SST2 = Template(Field("text_a"), Text("it was"), Mask(), Text("."))


def tokens(tokenizer, prompt):
    return tokenizer.convert_ids_to_tokens(prompt.input_ids.tolist())


def test_single_sentence_template_by_hand():
    tokenizer = wordpiece_tokenizer()
    prompt = SST2.encode({"text_a": "the movie was great .", "label": 1}, tokenizer, max_length=32)
    assert tokens(tokenizer, prompt) == [
        "[CLS]", "the", "movie", "was", "great", ".", "it", "was", "[MASK]", ".", "[SEP]",
    ]  # fmt: skip
    assert prompt.mask_position == 8 and prompt.input_ids[8] == tokenizer.mask_token_id
    assert not prompt.token_type_ids.any()


def test_byte_level_template_keeps_leading_spaces():
    tokenizer = byte_level_word_tokenizer()
    template = Template(Field("text_a"), Text(" it was"), Mask(), Text("."))
    prompt = template.encode({"text_a": "the film was bad."}, tokenizer, max_length=32)
    assert tokens(tokenizer, prompt) == [
        "<s>",
        "the",
        "Ġfilm",
        "Ġwas",
        "Ġbad",
        ".",
        "Ġit",
        "Ġwas",
        "<mask>",
        ".",
        "</s>",
    ]


def test_pair_template_with_transforms_and_segments():
    tokenizer = wordpiece_tokenizer()
    template = Template(
        Field("text_a", strip_final_punctuation=True), Text("?"), Mask(), Text(","), Sep(),
        Field("text_b", lower_first=True),
    )  # fmt: skip
    prompt = template.encode({"text_a": "It was good!!", "text_b": "The plot was slow."}, tokenizer, 32)
    assert tokens(tokenizer, prompt) == [
        "[CLS]", "it", "was", "good", "?", "[MASK]", ",", "[SEP]", "the", "plot", "was", "slow", ".", "[SEP]",
    ]  # fmt: skip
    assert prompt.token_type_ids.tolist() == [0] * 8 + [1] * 6
    assert Field("x", lower_first=True).text({"x": "The Film"}) == "the Film"


def test_truncation_cuts_the_longest_field_and_keeps_the_template_and_its_mask():
    tokenizer = wordpiece_tokenizer()
    template = Template(Field("text_a"), Text("?"), Mask(), Text(","), Field("text_b"))
    long, other_long = " ".join(["good"] * 30), " ".join(["bad"] * 30)
    prompt = template.encode({"text_a": long, "text_b": "the plot"}, tokenizer, max_length=12)
    assert tokens(tokenizer, prompt) == ["[CLS]", *["good"] * 5, "?", "[MASK]", ",", "the", "plot", "[SEP]"]
    assert prompt.input_ids[prompt.mask_position] == tokenizer.mask_token_id
    # Both fields long: the longer is cut first, so they end within a token of each other, each cut at its end.
    prompt = template.encode({"text_a": long, "text_b": other_long}, tokenizer, max_length=12)
    assert tokens(tokenizer, prompt) == ["[CLS]", *["good"] * 3, "?", "[MASK]", ",", *["bad"] * 4, "[SEP]"]


def test_soft_tokens_are_numbered_after_the_vocabulary():
    tokenizer = wordpiece_tokenizer()
    template = Template(Soft(2), Field("text_a"), Soft(1), Mask())
    prompt = template.encode({"text_a": "good"}, tokenizer, max_length=16, vocab_size=99)
    assert prompt.input_ids.tolist()[:5] == [
        tokenizer.cls_token_id,
        99,
        100,
        tokenizer.convert_tokens_to_ids("good"),
        101,
    ]
    with pytest.raises(PromptError, match="vocab_size"):
        template.encode({"text_a": "good"}, tokenizer, max_length=16)


def test_bad_templates_and_examples_are_clear_errors():
    tokenizer = wordpiece_tokenizer()
    with pytest.raises(PromptError, match="exactly one Mask"):
        Template(Field("text_a"), Text("it was"))
    with pytest.raises(PromptError, match="exactly one Mask"):
        Template(Mask(), Mask())
    with pytest.raises(PromptError, match=r"field 'text_b'; the example has \['label', 'text_a'\]"):
        Template(Field("text_b"), Mask()).encode({"text_a": "good", "label": 0}, tokenizer, 16)
    with pytest.raises(PromptError, match=r"needs 11 tokens without its fields, more than max_length 8"):
        Template(Text("it was a very very good and fine"), Mask(), Field("text_a")).encode(
            {"text_a": "x"}, tokenizer, 8
        )


def test_verbalizer_words_and_errors():
    bert, roberta = wordpiece_tokenizer(), byte_level_word_tokenizer()
    verbalizer = ManualVerbalizer([["terrible", "bad"], ["great"]], bert)
    assert verbalizer.word_ids.tolist() == bert.convert_tokens_to_ids(["terrible", "bad", "great"])
    np.testing.assert_allclose(verbalizer.class_logits(np.array([[1.0, 3.0, 5.0]])), [[2.0, 5.0]])
    # Byte-level BPE: the word as it appears after other text, with its space.
    assert ManualVerbalizer({0: "bad", 1: "great"}, roberta).word_ids.tolist() == roberta.convert_tokens_to_ids(
        ["Ġbad", "Ġgreat"]
    )
    with pytest.raises(
        PromptError, match=r"'reading' is not one token of the vocabulary: it tokenizes to \['read', '##ing'\]"
    ):
        ManualVerbalizer([["bad"], ["reading"]], bert)
    with pytest.raises(
        PromptError, match=r"'superb' is not one token of the vocabulary: it tokenizes to \['\[UNK\]'\]"
    ):
        ManualVerbalizer([["bad"], ["superb"]], bert)
    with pytest.raises(PromptError, match=r"classes \[1\] have no label word"):
        ManualVerbalizer([["bad"], []], bert)
    with pytest.raises(PromptError, match=r"no entry for classes \[1\]"):
        ManualVerbalizer({0: ["bad"], 2: ["great"]}, bert)
