"""Tokenizers trained on a generated corpus load through transformers.AutoTokenizer and round-trip text."""

import pytest
import transformers

from plmjax.data.pretraining import train_bpe_tokenizer, train_wordpiece_tokenizer


def test_wordpiece_tokenizer_loads_and_round_trips(tmp_path, corpus):
    train_wordpiece_tokenizer(str(tmp_path), texts=corpus, vocab_size=200)
    assert {"tokenizer.json", "tokenizer_config.json"} <= {path.name for path in tmp_path.iterdir()}
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    ids = [tokenizer.convert_tokens_to_ids(token) for token in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")]
    assert ids == [0, 1, 2, 3, 4]
    assert (tokenizer.pad_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.mask_token_id) == (
        0,
        2,
        3,
        4,
    )
    encoded = tokenizer("the quick brown fox", "jumps over the lazy dog")
    assert encoded["input_ids"][0] == 2 and encoded["input_ids"][-1] == 3
    assert encoded["token_type_ids"][-1] == 1 and encoded["token_type_ids"][0] == 0
    text = "the players were unbelievably wonderful."  # words not in the corpus: several pieces
    assert tokenizer.decode(tokenizer(text)["input_ids"], skip_special_tokens=True) == text
    assert any(token.startswith("##") for token in tokenizer.convert_ids_to_tokens(tokenizer(text)["input_ids"]))


def test_wordpiece_trains_from_files(tmp_path, corpus):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(corpus), encoding="utf-8")
    tokenizer = train_wordpiece_tokenizer(str(tmp_path / "tok"), files=[str(path)], vocab_size=150)
    assert len(tokenizer) == 150
    with pytest.raises(ValueError, match="exactly one"):
        train_wordpiece_tokenizer(str(tmp_path / "x"), files=[str(path)], texts=corpus)


def test_roberta_style_bpe_loads_and_round_trips_any_text(tmp_path, corpus):
    train_bpe_tokenizer(str(tmp_path), texts=corpus, vocab_size=400)
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    assert [tokenizer.convert_tokens_to_ids(t) for t in ("<s>", "<pad>", "</s>", "<unk>", "<mask>")] == [0, 1, 2, 3, 4]
    assert (tokenizer.bos_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.mask_token_id) == (
        0,
        1,
        2,
        4,
    )
    ids = tokenizer("The quick brown fox.")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2
    # Byte-level: text with characters never seen in training still round-trips exactly, with no <unk>.
    text = "Grüße, 東京 ☃ — the fox!"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids) == text
    assert "\u0120the" in tokenizer.get_vocab()  # a word after a space starts with Ġ


def test_gpt2_style_bpe_has_one_special_token(tmp_path, corpus):
    train_bpe_tokenizer(str(tmp_path), texts=corpus, vocab_size=350, style="gpt2")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    assert tokenizer.all_special_tokens == ["<|endoftext|>"]
    assert tokenizer.eos_token_id == tokenizer.bos_token_id == 0
    text = "The lazy dog ran."
    ids = tokenizer(text)["input_ids"]
    assert 0 not in ids  # GPT-2 adds nothing around a sequence
    assert tokenizer.decode(ids) == text


def test_extra_ids_are_special_sentinels_at_the_end(tmp_path, corpus):
    train_wordpiece_tokenizer(str(tmp_path), texts=corpus, vocab_size=150, extra_ids=5)
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    assert len(tokenizer) == 155
    assert [tokenizer.convert_tokens_to_ids(f"<extra_id_{i}>") for i in range(5)] == [154, 153, 152, 151, 150]
    assert set(range(150, 155)) <= set(tokenizer.all_special_ids)  # so MLM never selects them
    ids = tokenizer("the cat <extra_id_0> the dog", add_special_tokens=False)["input_ids"]
    assert 154 in ids
