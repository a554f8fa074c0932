"""The pretraining data path of the trainer, on the host (no model): the held-out split, the character
tokenizer, resumable batches with static / dynamic masks, and nanoGPT-style random windows."""

import numpy as np

from plmjax.data import pretraining as pt
from plmjax.data.pretraining.batches import ExampleBatches, RandomWindows
from plmjax.data.pretraining.char_tokenizer import CharTokenizer
from plmjax.data.pretraining.run_data import split_held_out


def test_one_document_splits_by_tokens_and_many_by_documents():
    train, held = split_held_out([[list(range(7)), list(range(7, 10))]], 0.1)
    assert train == [[list(range(9))]] and held == [[[9]]]  # int(10 * 0.9) = 9, as nanoGPT's prepare.py
    documents = [[[i]] for i in range(20)]
    train, held = split_held_out(documents, 0.1)
    assert train == documents[:18] and held == documents[18:]


def test_char_tokenizer_round_trips_and_saves(tmp_path):
    text = "First Citizen:\nBefore we proceed!"
    tokenizer = CharTokenizer.from_texts([text])
    assert tokenizer.chars == sorted(set(text)) and len(tokenizer) == len(set(text))
    assert tokenizer.decode(tokenizer.encode(text)) == text
    tokenizer.save(str(tmp_path))
    assert CharTokenizer.load(str(tmp_path)).chars == tokenizer.chars
    assert pt.tokenize_documents(tokenizer, [[text]]) == [[tokenizer.encode(text)]]


def _mlm_batches(dynamic: bool, batch_size: int = 4):
    examples = [[2, *range(10 + i, 30 + i), 3] for i in range(12)]
    masker = pt.MlmMasker(vocab_size=64, mask_token_id=4, special_ids=[0, 1, 2, 3])
    collator = pt.MlmCollator(masker, 24, 0, batch_size=batch_size)
    return ExampleBatches(examples, collator, batch_size, seed=3, dynamic=dynamic)


def test_static_masks_repeat_across_epochs_and_dynamic_ones_change():
    for dynamic in (False, True):
        batches = _mlm_batches(dynamic)
        epochs = [[next(batches) for _ in range(batches.steps_per_epoch)] for _ in range(2)]
        masks = [{tuple(row) for b in epoch for row in b["mlm_weights"]} for epoch in epochs]
        assert (masks[0] != masks[1]) == dynamic


def test_example_batches_resume_where_they_stopped():
    batches = _mlm_batches(dynamic=True)
    reference = [next(batches) for _ in range(7)]  # crosses an epoch boundary (3 batches per epoch)
    resumed = _mlm_batches(dynamic=True)
    for _ in range(4):
        next(resumed)
    state = resumed.get_state()
    fresh = _mlm_batches(dynamic=True)
    fresh.set_state(state)
    for expected in reference[4:]:
        got = next(fresh)
        for key in expected:
            np.testing.assert_array_equal(got[key], expected[key])


def test_evaluation_batches_pad_the_last_one_and_stop():
    examples = [[2, 5 + i, 3] for i in range(10)]
    collator = pt.CausalLmCollator(8, 0, batch_size=4)
    batches = list(ExampleBatches(examples, collator, 4, seed=0, dynamic=False, train=False))
    assert len(batches) == 3 and batches[-1]["weights"].tolist() == [1, 1, 0, 0]


def test_random_windows_shift_targets_and_resume():
    tokens = np.arange(100, dtype=np.int32)
    windows = RandomWindows(tokens, 8, 3, seed=1)
    first = next(windows)
    np.testing.assert_array_equal(first["target_ids"], first["input_ids"] + 1)
    assert first["input_ids"].shape == (3, 8) and first["input_ids"].max() < 99
    second = next(windows)
    again = RandomWindows(tokens, 8, 3, seed=1)
    again.set_state({"position": 1})
    np.testing.assert_array_equal(next(again)["input_ids"], second["input_ids"])
