"""The tfds catalog path without TensorFlow: `tfds.testing.mock_data` for catalog datasets, and a real
ArrayRecord dataset prepared in a temporary directory for the unmocked read path."""

import os
import socket
import time

import numpy as np
import pytest
import tensorflow_datasets as tfds

from plmjax.data import TASKS, DataError, TaskSpec, get_task, read_examples, tfds_source
from plmjax.data.tfds_source import tfds_label_names


class PlmjaxTinyPairs(tfds.core.GeneratorBasedBuilder):
    """Six labelled pairs and three more, prepared for real (ArrayRecord, no TensorFlow)."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        features = {
            "sentence1": tfds.features.Text(),
            "sentence2": tfds.features.Text(),
            "label": tfds.features.ClassLabel(names=["no", "yes"]),
            "idx": np.int32,
        }
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(features))

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(0, 6), "validation": self._generate_examples(6, 9)}

    def _generate_examples(self, start, stop):
        for i in range(start, stop):
            yield i, {"sentence1": f"first {i} café", "sentence2": f"second {i}", "label": i % 2, "idx": i}


@pytest.mark.parametrize(
    ("name", "split", "fields"),
    [
        ("glue/rte", "validation", ("sentence1", "sentence2")),
        ("glue/cola", "train", ("sentence",)),
        ("glue/mnli", "validation_mismatched", ("premise", "hypothesis")),
        ("super_glue/boolq", "validation", ("question", "passage")),
        ("super_glue/copa", "train", ("context", "choices")),
    ],
)
def test_catalog_tasks_read_mocked_data(name, split, fields):
    task = get_task(name)
    with tfds.testing.mock_data(num_examples=7, policy=tfds.testing.MockPolicy.USE_CODE):
        examples = read_examples(task, split)
    assert len(examples) == 7
    for example in examples:
        assert set(example) == {*fields, "label"}
        assert all(isinstance(example[field], str) and example[field] for field in fields)
        assert isinstance(example["label"], int) and 0 <= example["label"] < task.num_labels


def test_catalog_regression_labels_are_floats():
    with tfds.testing.mock_data(num_examples=5, policy=tfds.testing.MockPolicy.USE_CODE):
        examples = read_examples(get_task("glue/stsb"), "train")
    labels = [example["label"] for example in examples]
    assert all(isinstance(label, float) for label in labels) and len(set(labels)) == 5


def test_process_shards_are_disjoint_and_cover_the_split():
    with tfds.testing.mock_data(num_examples=11, policy=tfds.testing.MockPolicy.USE_CODE):
        whole = tfds_source("imdb_reviews", "train")
        everything = [example["text"] for example in whole]
        assert everything == [whole[i]["text"] for i in range(len(whole))]
        shards = [tfds_source("imdb_reviews", "train", process_index=p, process_count=3) for p in range(3)]
        assert [len(shard) for shard in shards] == [4, 4, 3]
        for p, shard in enumerate(shards):
            assert [example["text"] for example in shard] == everything[p::3]
    with pytest.raises(ValueError, match="process_index 3 is not in"):
        tfds_source("imdb_reviews", "train", process_index=3, process_count=3)


def test_pretraining_corpora_are_reachable():
    with tfds.testing.mock_data(num_examples=3, policy=tfds.testing.MockPolicy.USE_CODE):
        c4 = tfds_source("c4/en", "validation")
        assert len(c4) == 3 and isinstance(c4[0]["text"], str)


def test_label_order_matches_tfds_class_labels():
    for name, task in TASKS.items():
        if task.tfds_name and not task.is_regression:
            assert task.label_names == tfds_label_names(task.tfds_name), name


def test_prepared_array_record_dataset_reads_without_tensorflow(tmp_path):
    PlmjaxTinyPairs(data_dir=str(tmp_path), file_format="array_record").download_and_prepare()
    source = tfds_source("plmjax_tiny_pairs", "train", data_dir=str(tmp_path), download=False)
    rows = sorted(source, key=lambda row: row["idx"])
    assert rows[1] == {"sentence1": "first 1 café", "sentence2": "second 1", "label": 1, "idx": 1}
    assert [row["idx"] for row in rows] == list(range(6))
    task = TaskSpec(
        name="tiny",
        text_fields=("sentence1", "sentence2"),
        num_labels=2,
        label_names=("no", "yes"),
        tfds_name="plmjax_tiny_pairs",
        tfds_data_dir=str(tmp_path),
    )
    validation = sorted(read_examples(task, "validation"), key=lambda example: example["sentence2"])
    assert validation == [
        {"sentence1": f"first {i} café", "sentence2": f"second {i}", "label": i % 2} for i in range(6, 9)
    ]
    with pytest.raises(DataError, match="has no split 'test'"):
        tfds_source("plmjax_tiny_pairs", "test", data_dir=str(tmp_path), download=False)


def test_catalog_without_network_is_one_clear_error_at_once(tmp_path, monkeypatch):
    """A dataset that is not prepared, on a machine whose DNS answers nothing (as in CI): a DataError before any
    download starts, and nothing written into tfds' directory (tfds would retry for minutes)."""

    def no_network(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    for variable in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    started = time.perf_counter()
    with pytest.raises(DataError, match=r"'glue/rte' is not prepared in .* cannot reach the network") as error:
        read_examples(get_task("glue/rte", data_dir=str(tmp_path), source="tfds"), "train")
    assert time.perf_counter() - started < 1.0
    assert "\n" not in str(error.value) and os.listdir(tmp_path) == []
