"""Per-layer features equal transformers' output_hidden_states (PyTorch, CPU) on tiny random encoders, for the
[CLS], mean and token features, each sentence run alone and unpadded on the transformers side (so batching,
length sorting and padding change nothing); words are read at their first sub-token."""

import numpy as np
import pytest
import torch

import plmjax
from plmjax.probing import layer_features, word_token_positions
from plmjax.probing.words import flat, is_uncased, kept_positions
from tests.hf.tiny_models import make_hf_model
from tests.prompting.conftest import wordpiece_tokenizer

SENTENCES = [
    "the movie was great",
    "i hated this film . it was slow and the acting was bad",
    "good",
    "a book i read , the best ever ? yes",
    "the food was fine but the service was very slow",
]


@pytest.fixture(scope="module", params=["bert", "mpnet"])
def encoder(request, tmp_path_factory):
    hf = make_hf_model(request.param, None)
    path = tmp_path_factory.mktemp(request.param)
    hf.save_pretrained(path)
    model, params = plmjax.from_pretrained(str(path))
    return hf, model, params


def _hf_states(hf, ids) -> np.ndarray:
    """[hidden states, length, width] of one unpadded sequence."""
    with torch.no_grad():
        out = hf(input_ids=torch.tensor([ids]), output_hidden_states=True)
    return np.stack([state[0].numpy() for state in out.hidden_states])


def test_cls_and_mean_features_equal_transformers_hidden_states(encoder):
    hf, model, params = encoder
    tokenizer = wordpiece_tokenizer()
    # batch_size 3: two length buckets, the second batch short.
    cls = layer_features(model, params, tokenizer, SENTENCES, kind="cls", batch_size=3)
    mean = layer_features(model, params, tokenizer, SENTENCES, kind="mean", batch_size=3)
    expected = [_hf_states(hf, ids) for ids in tokenizer(SENTENCES)["input_ids"]]
    assert cls.shape == (len(expected[0]), len(SENTENCES), hf.config.hidden_size)
    np.testing.assert_allclose(cls, np.stack([states[:, 0] for states in expected], axis=1), atol=1e-4)
    np.testing.assert_allclose(mean, np.stack([states.mean(axis=1) for states in expected], axis=1), atol=1e-4)


def test_token_features_equal_transformers_hidden_states_at_the_positions(encoder):
    hf, model, params = encoder
    tokenizer = wordpiece_tokenizer()
    positions = [[1, 3], [0, 5, 11, 2], 0, [4], [9, 9]]
    ours = layer_features(model, params, tokenizer, SENTENCES, kind="token", positions=positions, batch_size=3)
    columns = []
    for ids, wanted in zip(tokenizer(SENTENCES)["input_ids"], positions, strict=True):
        states = _hf_states(hf, ids)
        columns += [states[:, p] for p in np.atleast_1d(wanted)]
    np.testing.assert_allclose(ours, np.stack(columns, axis=1), atol=1e-4)


def test_chosen_layers_are_those_hidden_states(encoder):
    _, model, params = encoder
    tokenizer = wordpiece_tokenizer()
    every = layer_features(model, params, tokenizer, SENTENCES, kind="mean")
    chosen = layer_features(model, params, tokenizer, SENTENCES, kind="mean", layers=(2, 0, -1))
    np.testing.assert_allclose(chosen, every[[2, 0, len(every) - 1]], atol=1e-6)


def test_words_are_read_at_their_first_sub_token():
    tokenizer = wordpiece_tokenizer()  # "movies" -> movie ##s; no special tokens are added
    ids, positions = word_token_positions(tokenizer, [["The", "movies", "is", "good"], ["films", "day"]], max_length=3)
    assert positions == [[0, 1, None, None], [0, 2]]  # "is" and "good" fall past max_length
    assert ids[0] == tokenizer.convert_tokens_to_ids(["the", "movie", "##s"])
    keep = [[False, True, True, True], [True, False]]
    assert kept_positions(positions, keep) == [[1], [0]]
    np.testing.assert_array_equal(flat([[5, 6, 7, 8], [9, 10]], positions, keep), [6, 9])
    assert is_uncased(tokenizer)
