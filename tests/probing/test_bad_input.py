"""Bad input is a clear error: a layer out of range, an unknown feature kind, an unknown probe, token features
without positions or with positions outside the sentence, and features of mismatched shapes."""

import jax
import numpy as np
import pytest

from plmjax.models import EncoderModel, init_params, preset
from plmjax.probing import fit_probes, layer_accuracy, layer_features_of_ids


@pytest.fixture(scope="module")
def tiny():
    config = preset("bert-base", vocab_size=50, hidden_size=16, num_layers=2, num_heads=2,
                    intermediate_size=20)  # fmt: skip
    model = EncoderModel(config)
    return model, init_params(model, jax.random.key(0))


IDS = [[2, 5, 6, 3], [2, 7, 3]]


@pytest.mark.parametrize("layer", [3, -4, 1.0])
def test_a_layer_out_of_range_names_the_range(tiny, layer):
    model, params = tiny
    with pytest.raises(ValueError, match=r"out of range: this model has hidden states 0 \(embeddings\) \.\. 2"):
        layer_features_of_ids(model, params, IDS, 0, "cls", layers=(0, layer))


def test_an_unknown_feature_kind_names_the_kinds(tiny):
    model, params = tiny
    with pytest.raises(ValueError, match=r"feature kind 'max' does not exist; choose one of \('cls', 'mean', 'token'"):
        layer_features_of_ids(model, params, IDS, 0, "max")


def test_token_features_need_positions_inside_the_sentence(tiny):
    model, params = tiny
    with pytest.raises(ValueError, match="needs positions"):
        layer_features_of_ids(model, params, IDS, 0, "token")
    with pytest.raises(ValueError, match=r"sequence 1 has 3 tokens; positions \[1, 3\] reach outside it"):
        layer_features_of_ids(model, params, IDS, 0, "token", positions=[[0], [1, 3]])


def test_an_unknown_probe_names_the_probes():
    x, y = np.zeros((2, 4, 3), np.float32), np.asarray([0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"probe 'svm' does not exist; choose one of \('linear', 'mlp'\)"):
        layer_accuracy(x, y, x, y, probe="svm")
    with pytest.raises(ValueError, match="probe 'svm' does not exist"):
        fit_probes("svm", x, y, 2)


def test_features_of_different_layers_or_widths_are_refused():
    y = np.asarray([0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"features must be \[layers, rows, dim\] alike"):
        layer_accuracy(np.zeros((2, 4, 3)), y, np.zeros((3, 4, 3)), y)
