"""The quickstart's dataset: standard-library docstrings labelled by topic, in a fixed train/validation split."""

import collections

from plmjax.data import get_task, read_examples, stdlib_docs


def test_splits_are_fixed_disjoint_and_cover_every_topic():
    train, validation = stdlib_docs.build_examples("train"), stdlib_docs.build_examples("validation")
    assert len(train) > 800 and len(validation) > 200
    assert not {e["text"] for e in train} & {e["text"] for e in validation}
    assert not {e["source"] for e in train} & {e["source"] for e in validation}  # a docstring stays whole
    for examples in (train, validation):
        counts = collections.Counter(e["label"] for e in examples)
        assert set(counts) == set(range(len(stdlib_docs.LABEL_NAMES)))
        assert min(counts.values()) >= 0.3 * max(counts.values())  # no topic is starved
    share = len(validation) / (len(train) + len(validation))
    assert 0.15 < share < 0.25


def test_texts_are_the_modules_docstrings():
    by_source = {e["source"]: e for e in stdlib_docs.build_examples("train") + stdlib_docs.build_examples("validation")}
    sqrt = by_source["math.sqrt"]
    assert sqrt["text"] == "Return the square root of x." and stdlib_docs.LABEL_NAMES[sqrt["label"]] == "math"
    assert stdlib_docs.LABEL_NAMES[by_source["json.dumps"]["label"]] == "data_formats"
    assert not any(source.startswith("genericpath") for source in by_source)


def test_the_task_reads_it():
    task = get_task("stdlib_docs")
    examples = read_examples(task, "validation")
    assert examples == [{"text": e["text"], "label": e["label"]} for e in stdlib_docs.build_examples("validation")]
    assert task.num_labels == 6 and task.metrics[0] == "accuracy"
