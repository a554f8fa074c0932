"""Task definitions read GLUE's and SuperGLUE's local file layouts, with tfds' label order and clear errors."""

import json
import os

import pytest

from plmjax.data import TASKS, DataError, EmptyDatasetError, MalformedRowError, TaskSpec, get_task, read_examples

# One labelled example per GLUE task in the layout GLUE's own files have (CoLA: no header; STS-B: 10 columns,
# score last; MNLI: 12 columns in train, 16 in dev; MRPC: a byte-order mark before its header).
GLUE_FILES = {
    "cola": ("dev.tsv", 'gj04\t0\t*\tThe "cat" the sat.\n'),
    "sst2": ("dev.tsv", "sentence\tlabel\nit 's a charming journey . \t1\n"),
    "mrpc": (
        "dev.tsv",
        '\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1355540\t1355592\tHe said "so".\tHe said so.\n',
    ),
    "qqp": ("dev.tsv", "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n7\t1\t2\tWhy?\tWhy not?\t0\n"),
    "stsb": (
        "dev.tsv",
        "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
        "0\tmain-captions\tMSRvid\t2012test\t0000\tnone\tnone\tA man is dancing.\tA man dances.\t4.750\n",
    ),
    "qnli": ("dev.tsv", "index\tquestion\tsentence\tlabel\n0\tWho?\tHe did.\tnot_entailment\n"),
    "rte": ("dev.tsv", "index\tsentence1\tsentence2\tlabel\n0\tA dog ran.\tAn animal ran.\tentailment\n"),
    "wnli": ("dev.tsv", "index\tsentence1\tsentence2\tlabel\n0\tIt fell.\tThe cup fell.\t1\n"),
}
EXPECTED = {
    "cola": {"sentence": 'The "cat" the sat.', "label": 0},
    "sst2": {"sentence": "it 's a charming journey . ", "label": 1},
    "mrpc": {"sentence1": 'He said "so".', "sentence2": "He said so.", "label": 1},
    "qqp": {"question1": "Why?", "question2": "Why not?", "label": 0},
    "stsb": {"sentence1": "A man is dancing.", "sentence2": "A man dances.", "label": 4.75},
    "qnli": {"question": "Who?", "sentence": "He did.", "label": 1},
    "rte": {"sentence1": "A dog ran.", "sentence2": "An animal ran.", "label": 0},
    "wnli": {"sentence1": "It fell.", "sentence2": "The cup fell.", "label": 1},
}
MNLI_HEAD = [
    "index",
    "promptID",
    "pairID",
    "genre",
    "sentence1_binary_parse",
    "sentence2_binary_parse",
    "sentence1_parse",
    "sentence2_parse",
    "sentence1",
    "sentence2",
]


def _mnli_file(labels_before_gold: int, rows: list[tuple[str, str, str]]) -> str:
    head = MNLI_HEAD + [f"label{i + 1}" for i in range(labels_before_gold)] + ["gold_label"]
    lines = ["\t".join(head)]
    for index, (premise, hypothesis, gold) in enumerate(rows):
        lines.append(
            "\t".join(
                [str(index), "1", "1e", "fiction", "(", "(", "(", "(", premise, hypothesis]
                + ["neutral"] * labels_before_gold
                + [gold]
            )
        )
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("config", sorted(GLUE_FILES))
def test_glue_local_layouts(tmp_path, config):
    file_name, text = GLUE_FILES[config]
    (tmp_path / file_name).write_text(text, encoding="utf-8")
    task = get_task(f"glue/{config}", data_dir=str(tmp_path))
    assert task.source == "local" and task.data_dir == str(tmp_path)
    assert read_examples(task, "validation") == [EXPECTED[config]]


def test_mnli_matched_and_mismatched_files(tmp_path):
    (tmp_path / "train.tsv").write_text(_mnli_file(1, [("P0.", "H0.", "contradiction")]))
    (tmp_path / "dev_matched.tsv").write_text(_mnli_file(5, [("P1.", "H1.", "neutral")]))
    (tmp_path / "dev_mismatched.tsv").write_text(_mnli_file(5, [("P2.", "H2.", "entailment")]))
    task = get_task("glue/mnli", data_dir=str(tmp_path))
    assert task.eval_splits == ("validation_matched", "validation_mismatched")
    assert read_examples(task, "train") == [{"premise": "P0.", "hypothesis": "H0.", "label": 2}]
    assert read_examples(task, "validation") == [{"premise": "P1.", "hypothesis": "H1.", "label": 1}]
    assert read_examples(task, "validation_mismatched") == [{"premise": "P2.", "hypothesis": "H2.", "label": 0}]


def test_super_glue_jsonl_layouts(tmp_path):
    def write(name, rows):
        directory = tmp_path / name
        directory.mkdir()
        (directory / "val.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
        return get_task(f"super_glue/{name}", data_dir=str(directory))

    boolq = write("boolq", [{"question": "is it?", "passage": "It is.", "idx": 0, "label": True}])
    assert read_examples(boolq, "validation") == [{"question": "is it?", "passage": "It is.", "label": 1}]
    cb = write("cb", [{"premise": "P", "hypothesis": "H", "label": "neutral", "idx": 3}])
    assert read_examples(cb, "validation") == [{"premise": "P", "hypothesis": "H", "label": 2}]
    assert cb.metrics[0] == "f1_macro"
    copa = write(
        "copa",
        [
            {
                "premise": "My body cast a shadow.",
                "choice1": "The sun rose.",
                "choice2": "The grass was cut.",
                "question": "cause",
                "idx": 0,
                "label": 0,
            }
        ],
    )
    assert read_examples(copa, "validation") == [
        {
            "context": "My body cast a shadow. What was the cause?",
            "choices": "(1) The sun rose. (2) The grass was cut.",
            "label": 0,
        }
    ]
    broken = write("rte", [{"premise": "P", "label": "entailment"}])
    with pytest.raises(MalformedRowError, match=r"val\.jsonl:1: missing text field 'hypothesis'"):
        read_examples(broken, "validation")


def test_unknown_label_names_file_and_line(tmp_path):
    (tmp_path / "dev.tsv").write_text("index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\ta\tb\tmaybe\n")
    with pytest.raises(MalformedRowError, match=r"dev\.tsv:3: label 'maybe' is neither a class index nor one of"):
        read_examples(get_task("glue/rte", str(tmp_path)), "validation")
    (tmp_path / "train.tsv").write_text("index\tsentence1\tsentence2\tlabel\n0\ta\tb\t2\n")
    with pytest.raises(MalformedRowError, match=r"train\.tsv:2: label '2' is not a class index in \[0, 2\)"):
        read_examples(get_task("glue/rte", str(tmp_path)), "train")
    (tmp_path / "test.tsv").write_text("index\tsentence1\tsentence2\tlabel\n0\ta\tb\t-1\n")
    with pytest.raises(MalformedRowError, match=r"test\.tsv:2: .*tfds marks unlabelled test examples with -1"):
        read_examples(get_task("glue/rte", str(tmp_path)), "test.tsv")


def test_regression_label_must_be_a_number(tmp_path):
    stsb_head = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
    (tmp_path / "dev.tsv").write_text(stsb_head + "0\tg\tf\ty\to\ts\ts\ta\tb\tfive\n")
    with pytest.raises(MalformedRowError, match=r"dev\.tsv:2: label 'five' is not a number"):
        read_examples(get_task("glue/stsb", str(tmp_path)), "validation")


def test_empty_split_and_missing_files_are_clear_errors(tmp_path):
    (tmp_path / "dev.tsv").write_text("index\tsentence1\tsentence2\tlabel\n")
    task = get_task("glue/rte", str(tmp_path))
    with pytest.raises(EmptyDatasetError, match=r"glue/rte, split 'validation': .*dev\.tsv has no examples"):
        read_examples(task, "validation")
    with pytest.raises(DataError, match=r"no file .*train\.tsv"):
        read_examples(task, "train")
    with pytest.raises(DataError, match=r"has no split 'test'"):
        read_examples(task, "test")


def test_a_named_file_is_a_split(tmp_path):
    (tmp_path / "dev.tsv").write_text("index\tsentence1\tsentence2\tlabel\n")
    (tmp_path / "test.tsv").write_text("index\tsentence1\tsentence2\tlabel\n0\ta\tb\tnot_entailment\n")
    task = get_task("glue/rte", str(tmp_path))
    assert read_examples(task, "test.tsv") == [{"sentence1": "a", "sentence2": "b", "label": 1}]


def test_get_task_routes_data_dir_and_rejects_unknown_names(tmp_path):
    assert get_task("glue/rte").source == "tfds"
    (tmp_path / "train.tsv").write_text("index\tsentence1\tsentence2\tlabel\n")
    assert get_task("glue/rte", data_dir=str(tmp_path)).source == "local"
    (tmp_path / "lmbff").mkdir()
    (tmp_path / "lmbff" / "test.tsv").write_text("index\tsentence1\tsentence2\tlabel\n")  # a split read by name
    assert get_task("glue/rte", data_dir=str(tmp_path / "lmbff")).source == "local"
    # The catalog only when asked for: data_dir is then tfds' own directory.
    tfds_dir = get_task("glue/rte", data_dir=str(tmp_path / "tfds"), source="tfds")
    assert tfds_dir.source == "tfds" and tfds_dir.tfds_data_dir == str(tmp_path / "tfds")
    assert get_task("stdlib_docs", data_dir=str(tmp_path)).source == "builder"
    with pytest.raises(DataError, match=r"unknown task 'glue/sts'; the tasks are .*'glue/stsb'"):
        get_task("glue/sts")
    with pytest.raises(DataError, match=r"data.source=local needs data.data_dir: a directory with dev.tsv, train"):
        get_task("glue/rte", source="local")
    with pytest.raises(DataError, match=r"unknown data source 'hub'"):
        get_task("glue/rte", source="hub")


@pytest.mark.parametrize("name", ["glue/rte", "glue/mnli", "super_glue/cb"])
def test_a_data_dir_that_is_missing_or_holds_other_files_is_an_error_naming_the_files(tmp_path, name):
    expected = ", ".join(sorted(set(TASKS[name].local_files.values())))
    with pytest.raises(DataError, match=f"'{tmp_path / 'typo'}' does not exist: task {name} reads {expected}"):
        get_task(name, data_dir=str(tmp_path / "typo"))
    with pytest.raises(DataError, match="holds none of the files .* it holds nothing"):
        get_task(name, data_dir=str(tmp_path))
    assert os.listdir(tmp_path) == []  # nothing was created


def test_the_task_table_is_complete_and_consistent():
    expected = {f"glue/{c}" for c in ("cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "rte", "wnli")}
    expected |= {f"super_glue/{c}" for c in ("boolq", "cb", "rte", "copa")} | {"stdlib_docs"}
    lmbff = {f"lmbff/{c}" for c in ("mr", "cr", "mpqa", "subj", "sst-5", "trec", "rte", "snli")}
    sources = {f"lmbff/{c}" for c in ("mnli", "qnli", "qqp")}  # k-shot train and dev only: no test file here
    assert set(TASKS) == expected | lmbff | sources
    for name in sources:
        assert set(TASKS[name].splits) == {"train", "validation"} and "test" not in TASKS[name].local_files
    assert TASKS["lmbff/mnli"].local_files["validation"] == "dev_matched.tsv"
    for name in lmbff:  # LM-BFF's k-shot folders: train and dev in <task>/<k>-<seed>/, the test file one level up
        task = TASKS[name]
        assert set(task.splits) == {"train", "validation", "test"} and task.tfds_name is None
        assert task.local_files["test"] == f"../test.{'csv' if task.local_format == 'csv' else 'tsv'}"
    assert TASKS["lmbff/sst-5"].num_labels == 5 and TASKS["lmbff/trec"].num_labels == 6
    assert TASKS["lmbff/snli"].label_names == ("entailment", "neutral", "contradiction")
    assert TASKS["glue/stsb"].is_regression and TASKS["glue/stsb"].metrics[0] == "pearson_and_spearman"
    assert TASKS["glue/cola"].metrics[0] == "matthews_corrcoef"
    assert TASKS["glue/mrpc"].metrics[0] == TASKS["glue/qqp"].metrics[0] == "accuracy_and_f1"


def test_task_spec_validates_its_fields():
    with pytest.raises(ValueError, match="1 or 2 fields"):
        TaskSpec(name="x", text_fields=("a", "b", "c"), num_labels=2, label_names=("n", "y"))
    with pytest.raises(ValueError, match="2 labels but label_names"):
        TaskSpec(name="x", text_fields=("a",), num_labels=2, label_names=("only",))
    with pytest.raises(DataError, match="has no data source"):
        _ = TaskSpec(name="x", text_fields=("a",), num_labels=1).source


def test_a_custom_csv_task(tmp_path):
    # LM-BFF's single-sentence files: `label,sentence` CSV without a header.
    (tmp_path / "train.csv").write_text('4,"a fine , funny film"\n0,dull .\n')
    task = TaskSpec(
        name="sst5",
        text_fields=("sentence",),
        num_labels=5,
        label_names=tuple("01234"),
        data_dir=str(tmp_path),
        local_format="csv",
        local_files={"train": "train.csv"},
        local_columns={"label": 0, "sentence": 1},
        local_has_header=False,
    )
    assert read_examples(task, "train") == [
        {"sentence": "a fine , funny film", "label": 4},
        {"sentence": "dull .", "label": 0},
    ]
