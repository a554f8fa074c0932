"""data.extra_train_files: examples labelled elsewhere (iPET, self-training) or with soft labels (PET's final
classifier) join the training split, bad rows name their file and line, and the soft_classification objective
trains on them through the trainer."""

import json
import os
import random

import numpy as np
import pytest

from plmjax.data import MalformedRowError
from plmjax.data.task_inputs import get_task, load
from plmjax.train import few_shot
from plmjax.train.loop import train_and_evaluate
from tests import lmbff_like
from tests.lmbff_like import make as make_lmbff_like

CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "lmbff.py")


@pytest.fixture(scope="module")
def mr_like(tmp_path_factory):
    """(model dir, data root, unlabeled sentences with their planted class)."""
    model_dir, data = make_lmbff_like(str(tmp_path_factory.mktemp("extra")), test_size=20)
    rng = random.Random(1)
    return model_dir, data, [(lmbff_like.sentence(rng, i % 2), i % 2) for i in range(64)]


def _write(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def _config(mr_like, *extra_files, task_train=True, objective="classification"):
    model_dir, data, _ = mr_like
    config = few_shot.seed_config(f"{CONFIG}:task=mr,method=finetune,model={model_dir},data={data},steps=24", 13, {})
    config.data.length_buckets, config.data.max_length = (), 32
    config.data.extra_train_files = ",".join(extra_files)
    config.data.task_train = task_train
    config.objective.name = objective
    return config


def test_extra_examples_join_the_training_split_with_soft_labels_for_all(mr_like, tmp_path):
    hard = _write(tmp_path / "hard.jsonl", [{"sentence": "a fine day", "label": 1}, {"sentence": "bad", "label": "0"}])
    soft = _write(tmp_path / "soft.jsonl", [{"sentence": "the plot", "soft_labels": [0.25, 0.75]}])
    config = _config(mr_like, hard, soft)
    task = get_task(config.data)
    data = load(config, task, None, mr_like[0])
    features = data.train_features
    assert data.num_train == 16 + 3
    np.testing.assert_array_equal(features["labels"][16:], [1, 0, 1])
    np.testing.assert_allclose(features["soft_labels"][16:], [[0, 1], [1, 0], [0.25, 0.75]])
    np.testing.assert_array_equal(features["soft_labels"][:16].argmax(-1), features["labels"][:16])
    assert "soft_labels" not in data.eval_features  # the dev split keeps its hard labels

    config = _config(mr_like, hard, task_train=False)
    config.data.batch_size = 2
    assert load(config, task, None, mr_like[0]).num_train == 2


@pytest.mark.parametrize(
    "row, message",
    [
        ({"sentence": "x", "label": 2}, "label 2 is not a class index in \\[0, 2\\)"),
        ({"sentence": "x", "soft_labels": [0.5, 0.6]}, "soft_labels \\[0.5, 0.6\\] are not probabilities"),
        ({"sentence": "x", "soft_labels": [1.0]}, "soft_labels must be a list of 2 probabilities"),
        ({"sentence": "x"}, 'each example needs a "label" or "soft_labels"'),
        ({"text": "x", "label": 0}, "missing field"),
    ],
)
def test_a_bad_extra_row_names_its_file_and_line(mr_like, tmp_path, row, message):
    path = _write(tmp_path / "extra.jsonl", [{"sentence": "fine", "label": 0}, row])
    config = _config(mr_like, path)
    with pytest.raises(MalformedRowError, match=f"extra.jsonl:2: {message}"):
        load(config, get_task(config.data), None, mr_like[0])


def test_soft_classification_learns_the_soft_labels_through_the_trainer(mr_like, tmp_path):
    _, _, unlabeled = mr_like
    rows = [{"sentence": s, "soft_labels": [0.9, 0.1] if c == 0 else [0.1, 0.9]} for s, c in unlabeled]
    config = _config(mr_like, _write(tmp_path / "soft.jsonl", rows), task_train=False, objective="soft_classification")
    config.optimizer.learning_rate = 3e-3
    config.train.eval_before_training = True
    results = train_and_evaluate(config, str(tmp_path / "run"), log=lambda *_: None)
    assert set(results["train"]) >= {"distillation_loss", "soft_label_accuracy", "accuracy"}
    logged = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["distillation_loss"] for r in logged if r.get("split") == "train"]
    assert losses[-1] < losses[0]
    assert results["validation"]["accuracy"] > 0.8 and results["before"]["accuracy"] < 0.8
