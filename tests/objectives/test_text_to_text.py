"""Supervised text-to-text (objective text_to_text): the collator's batch, fed to plmjax's seq2seq loss, gives
transformers' T5 loss with labels (the same decoder inputs, the mean cross-entropy over the target tokens); pairs
files name their malformed rows; each side is cut to its length and ends with EOS."""

import numpy as np
import pytest

import plmjax
from plmjax.data.errors import MalformedRowError
from plmjax.data.pretraining.text_pairs import TextToTextCollator, encode_text_pairs, read_text_pairs
from plmjax.objectives import Seq2SeqLM
from tests.hf.tiny_generative_models import make_hf_model
from tests.objectives.helpers import run

PAD, EOS = 0, 1  # the tiny T5's (its decoder starts with the pad id)


def test_text_to_text_loss_and_decoder_inputs_equal_transformers(tmp_path):
    import torch

    hf = make_hf_model("t5-gated", "lm")
    hf.save_pretrained(tmp_path / "t5")
    model, params = plmjax.from_pretrained(str(tmp_path / "t5"), "lm")
    rng = np.random.default_rng(0)
    pairs = [(list(rng.integers(3, 99, n)) + [EOS], list(rng.integers(3, 99, m)) + [EOS]) for n, m in ((9, 4), (5, 7))]
    batch = TextToTextCollator(12, 10, PAD, batch_size=3)(pairs)
    assert batch["weights"].tolist() == [1.0, 1.0, 0.0]  # the third row pads the batch
    np.testing.assert_array_equal(batch["decoder_input_ids"][0, :5], [PAD, *pairs[0][1][:-1]])
    np.testing.assert_array_equal(batch["target_weights"].sum(1), [5, 8, 0])

    terms = run(Seq2SeqLM(model).loss_terms, params, batch)
    ours = float(terms["lm"][0] / terms["lm"][1])

    labels = torch.tensor(np.where(batch["target_weights"][:2] > 0, batch["target_ids"][:2], -100).astype(np.int64))
    with torch.no_grad():
        out = hf(
            input_ids=torch.tensor(batch["input_ids"][:2].astype(np.int64)),
            attention_mask=torch.tensor(batch["attention_mask"][:2]),
            labels=labels,
        )
    # transformers derives the decoder inputs from the labels: the same as the collator's.
    np.testing.assert_array_equal(
        hf._shift_right(labels).numpy()[labels.numpy() != -100],
        batch["decoder_input_ids"][:2][batch["target_weights"][:2] > 0],
    )
    assert abs(ours - float(out.loss)) <= 1e-5


class _Words:
    """A tokenizer of whitespace words to ids (3 + position in `words`), EOS 1."""

    eos_token_id = EOS

    def __init__(self, words):
        self.ids = {w: 3 + i for i, w in enumerate(words)}

    def __call__(self, texts, add_special_tokens=False):
        assert not add_special_tokens
        return {"input_ids": [[self.ids[w] for w in text.split()] for text in texts]}


def test_pairs_are_cut_to_their_lengths_and_end_with_eos():
    tokenizer = _Words(["a", "b", "c", "d", "e"])
    encoded = encode_text_pairs(tokenizer, [("a b c d e", "e d"), ("a", "")], source_length=4, target_length=3)
    assert encoded == [([3, 4, 5, EOS], [7, 6, EOS]), ([3, EOS], [EOS])]


def test_a_malformed_pairs_row_names_its_file_and_line(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"source": "a", "target": "b"}\n\n{"source": "a", "target": 3}\n')
    with pytest.raises(MalformedRowError, match=r"pairs.jsonl:3: .*must be strings"):
        read_text_pairs(str(path))
    path.write_text('{"source": "a"}\n')
    with pytest.raises(MalformedRowError, match=r"pairs.jsonl:1: missing field\(s\) \['target'\]"):
        read_text_pairs(str(path))
