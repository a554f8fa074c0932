"""Tokenisation: the tokenizer's own pair format, truncation strategies, labels, and clear failures."""

import numpy as np
import pytest

import plmjax
from plmjax.data import DataError, encode, get_task
from plmjax.hf.bundled import minilm_path

RTE = get_task("glue/rte")
STSB = get_task("glue/stsb")
SST2 = get_task("glue/sst2")


def _pair(first, second, label=0):
    return {"sentence1": first, "sentence2": second, "label": label}


def test_minilm_pairs_use_berts_pair_format():
    tokenizer = plmjax.load_tokenizer(minilm_path())
    features = encode(tokenizer, [_pair("A man is dancing.", "He dances!", 1)], RTE, max_length=32)
    tokens = tokenizer.convert_ids_to_tokens(features["input_ids"][0].tolist())
    assert tokens == ["[CLS]", "a", "man", "is", "dancing", ".", "[SEP]", "he", "dances", "!", "[SEP]"]
    np.testing.assert_array_equal(features["token_type_ids"][0], [0] * 7 + [1] * 4)
    assert features["labels"].dtype == np.int32 and features["labels"].tolist() == [1]
    assert features["pad_token_id"] == tokenizer.pad_token_id == 0


def test_truncation_strategies_shorten_the_right_text(tiny_tokenizer):
    long_first = "the quick brown fox jumps over the lazy dog"  # 9 tokens
    short_second = "a cat sat"  # 3 tokens
    example = [_pair(long_first, short_second)]

    def segments(truncation, max_length):
        features = encode(tiny_tokenizer, example, RTE, max_length=max_length, truncation=truncation)
        ids, types = features["input_ids"][0], features["token_type_ids"][0]
        assert len(ids) <= max_length
        return int((types == 0).sum()) - 2, int((types == 1).sum()) - 1  # words, without [CLS]/[SEP]s

    # longest_first trims the longer text first: 9+3 words into 12-3=9 slots -> 6 + 3.
    assert segments("longest_first", 12) == (6, 3)
    assert segments("only_first", 12) == (6, 3)
    assert segments("longest_first", 7) == (2, 2)
    assert segments("only_first", 7) == (1, 3)
    with pytest.raises(DataError, match=r"example 0 cannot be truncated to 7 tokens with truncation='only_second'"):
        segments("only_second", 7)


def test_single_texts_and_regression_labels(tiny_tokenizer):
    features = encode(tiny_tokenizer, [{"sentence": "the red bird flew", "label": 1}], SST2, max_length=16)
    assert tiny_tokenizer.convert_ids_to_tokens(features["input_ids"][0].tolist()) == [
        "[CLS]", "the", "red", "bird", "flew", "[SEP]",
    ]  # fmt: skip
    assert features["token_type_ids"][0].tolist() == [0] * 6
    stsb = encode(tiny_tokenizer, [_pair("a", "b", 3.25), _pair("a cat", "dog", 0.5)], STSB, max_length=8)
    assert stsb["labels"].dtype == np.float32 and stsb["labels"].tolist() == [3.25, 0.5]
    assert [len(ids) for ids in stsb["input_ids"]] == [5, 6]
    assert all(ids.dtype == np.int32 for ids in stsb["input_ids"])


def test_bad_arguments_are_rejected(tiny_tokenizer):
    with pytest.raises(ValueError, match="truncation must be one of"):
        encode(tiny_tokenizer, [_pair("a", "b")], RTE, 8, truncation="head")
    with pytest.raises(ValueError, match="cannot be truncated with 'only_second'"):
        encode(tiny_tokenizer, [{"sentence": "a", "label": 0}], SST2, 8, truncation="only_second")
    with pytest.raises(DataError, match="no examples to encode"):
        encode(tiny_tokenizer, [], RTE, 8)


def test_many_examples_encode_in_chunks_in_order(tiny_tokenizer):
    words = ["cat", "dog", "bird", "fox"]
    examples = [{"sentence": " ".join(words[: 1 + i % 4]), "label": i % 2} for i in range(2500)]
    features = encode(tiny_tokenizer, examples, SST2, max_length=8)
    assert [len(ids) for ids in features["input_ids"]] == [3 + i % 4 for i in range(2500)]
    assert features["labels"].tolist() == [i % 2 for i in range(2500)]
