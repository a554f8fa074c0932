"""PET, iPET and self-training pipelines (plmjax.train.semi_supervised) on a tiny masked LM and an MR-like task:
the soft labels are PET's ensemble of the PVP models' saved scores, a pipeline killed mid-stage resumes to the
uninterrupted run's labels, iPET's generations train on the sets PET's schedule draws, self-training adds the
confident pseudo-labels, and an unlabeled set holding a test sentence is refused."""

import json
import os
import random

import numpy as np
import pytest

from plmjax.data import DataError
from plmjax.prompting import pet
from plmjax.train import semi_supervised
from tests import lmbff_like
from tests.lmbff_like import make as make_lmbff_like

CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "lmbff.py")
OVERRIDES = {"data.length_buckets": "()", "data.max_length": "32", "optimizer.learning_rate": "0.003"}


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    """(config spec, unlabeled file) of the tiny MR-like task, 24 unlabeled sentences."""
    root = tmp_path_factory.mktemp("semi")
    model_dir, data = make_lmbff_like(str(root), test_size=12)
    rng = random.Random(7)
    path = root / "unlabeled.txt"
    path.write_text("".join(f"{lmbff_like.sentence(rng, i % 2)} {i}\n" for i in range(24)))
    return f"{CONFIG}:task=mr,model={model_dir},data={data},steps=4", str(path)


def _pipeline(setting, workdir):
    spec, unlabeled = setting
    return semi_supervised.Pipeline(spec, OVERRIDES, str(workdir), log=lambda *_: None, unlabeled_file=unlabeled)


def _soft_labels(workdir):
    with open(os.path.join(workdir, "soft_labels.jsonl")) as f:
        return np.asarray([json.loads(line)["soft_labels"] for line in f])


def test_pet_soft_labels_are_the_ensemble_of_the_pvp_models_and_a_killed_run_resumes_to_them(
    setting, tmp_path, monkeypatch
):
    result = _pipeline(setting, tmp_path / "whole").pet()
    assert result["step"] > 0 and 0.0 <= result["test"]["accuracy"] <= 1.0
    saved = [dict(np.load(tmp_path / "whole" / f"pvp-{p}" / "scores.npz")) for p in range(4)]
    scores = np.stack([s["unlabeled"] for s in saved])
    weights = np.asarray([s["accuracy_before"] for s in saved])
    assert scores.shape == (4, 24, 2)
    np.testing.assert_allclose(_soft_labels(tmp_path / "whole"), pet.soft_labels(scores, weights, 2.0), rtol=1e-6)

    # Killed while the second PVP model scores the unlabeled set (after its training), then rerun.
    calls = {"n": 0}
    score_examples = semi_supervised.score_examples

    def killed(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:  # pvp-0: before, unlabeled; pvp-1: before, then this
            raise KeyboardInterrupt
        return score_examples(*args, **kwargs)

    monkeypatch.setattr(semi_supervised, "score_examples", killed)
    with pytest.raises(KeyboardInterrupt):
        _pipeline(setting, tmp_path / "killed").pet()
    assert os.path.exists(tmp_path / "killed" / "pvp-0" / "scores.npz")
    assert not os.path.exists(tmp_path / "killed" / "pvp-1" / "scores.npz")
    monkeypatch.setattr(semi_supervised, "score_examples", score_examples)
    resumed = _pipeline(setting, tmp_path / "killed").pet()
    np.testing.assert_allclose(_soft_labels(tmp_path / "killed"), _soft_labels(tmp_path / "whole"), rtol=1e-6)
    assert resumed["test"] == result["test"]


def test_ipet_generations_train_on_the_drawn_sets_and_self_training_on_confident_labels(setting, tmp_path):
    pipeline = _pipeline(setting, tmp_path / "ipet")
    pipeline.ipet(generations=1)
    gen0 = [dict(np.load(tmp_path / "ipet" / "gen-0" / f"pvp-{p}" / "scores.npz")) for p in range(4)]
    scores, weights = np.stack([g["unlabeled"] for g in gen0]), [g["accuracy_before"] for g in gen0]
    sets = pet.ipet_train_sets(scores, weights, [e["label"] for e in pipeline.train], 1, seed=13)
    for p, (rows, labels) in enumerate(sets):
        with open(tmp_path / "ipet" / "gen-1" / f"pvp-{p}.jsonl") as f:
            written = [json.loads(line) for line in f]
        assert len(written) == len(rows) == 16 * 4  # |T| (d - 1), |T| = 16 labeled examples, d = 5
        assert [w["label"] for w in written] == labels.tolist()
        assert [w["sentence"] for w in written] == [pipeline.unlabeled[r]["sentence"] for r in rows]
        assert os.path.exists(tmp_path / "ipet" / "gen-1" / f"pvp-{p}" / "scores.npz")

    pipeline = _pipeline(setting, tmp_path / "self")
    pipeline.self_training(rounds=1, confidence=0.5)
    with open(tmp_path / "self" / "round-0-pseudo_labels.jsonl") as f:
        assert len(f.readlines()) == 24  # every example passes p >= 0.5 of two classes
    assert os.path.exists(tmp_path / "self" / "round-1" / "result.json")


def test_an_unlabeled_set_with_a_test_sentence_is_refused(setting, tmp_path):
    spec, _ = setting
    test_file = spec.split("data=")[1].split(",")[0] + "/mr/test.csv"
    with open(test_file) as f:
        test_sentence = f.readline().split(",", 1)[1]
    path = tmp_path / "leaky.txt"
    path.write_text("a fine day\n" + test_sentence)
    with pytest.raises(DataError, match=r"leaky.txt: 1 unlabeled examples are test examples \(the first, example 1"):
        semi_supervised.Pipeline(spec, OVERRIDES, str(tmp_path / "w"), unlabeled_file=str(path))


def test_confident_pseudo_labels_by_threshold_or_top_share_per_class():
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.45, 0.55], [0.95, 0.05], [0.3, 0.7]])
    np.testing.assert_array_equal(semi_supervised.confident(probs, 0.75), [0, 2, 4])
    # Class 0 is predicted for 0, 1, 4 (most confident 4, 0), class 1 for 2, 3, 5 (2, 5): the top two thirds.
    np.testing.assert_array_equal(semi_supervised.confident(probs, 0.0, top_share=2 / 3), [0, 2, 4, 5])
