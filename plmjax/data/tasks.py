"""Task definitions: what a classification or regression task reads, how it labels, and how it is scored.

The GLUE and SuperGLUE tasks read GLUE-style local files when `get_task` is given a directory holding them,
and the tfds catalog otherwise (no directory, or the catalog asked for by name). Label indices follow tfds'
ClassLabel order in both cases, so a model trained on one source scores correctly on the other. A task outside
this table is one `TaskSpec(...)` away (see docs/data.md)."""

import dataclasses
import os
from collections.abc import Callable, Mapping

from plmjax.data import stdlib_docs
from plmjax.data.errors import DataError

_TRAIN_AND_VALIDATION = {"train": "train", "validation": "validation"}
_GLUE_FILES = {"train": "train.tsv", "validation": "dev.tsv"}
_SUPERGLUE_FILES = {"train": "train.jsonl", "validation": "val.jsonl"}
_LOCAL_EXTENSIONS = {"tsv": ".tsv", "csv": ".csv", "jsonl": ".jsonl"}


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """One task. `splits` maps the names callers use to the source's split names ("validation" ->
    "validation_matched" for MNLI); `eval_splits` are the splits evaluated during training (caller names).

    Where the data comes from, first match wins: `build_examples(split)` (a function, e.g. stdlib_docs), local
    files under `data_dir` (`local_files` maps source split -> file name, `local_columns` maps fields to header
    names or, without a header, positions), or the tfds catalog (`tfds_name`, `tfds_data_dir`). `preprocess`
    turns a raw row into one with the `text_fields` (COPA builds its pair from four fields).
    `metrics[0]` is the metric checkpoints are selected by; every metric is higher-is-better.
    """

    name: str
    text_fields: tuple[str, ...]
    num_labels: int
    label_names: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ("accuracy",)
    label_field: str = "label"
    splits: Mapping[str, str] = dataclasses.field(default_factory=lambda: dict(_TRAIN_AND_VALIDATION))
    eval_splits: tuple[str, ...] = ("validation",)
    tfds_name: str | None = None
    tfds_data_dir: str | None = None
    data_dir: str | None = None
    local_format: str = "tsv"
    local_files: Mapping[str, str] = dataclasses.field(default_factory=dict)
    local_columns: Mapping[str, str | int] | None = None
    local_has_header: bool = True
    local_ragged_rows: bool = False  # rows may be wider than the header; negative columns count from their end
    preprocess: Callable[[dict], dict] | None = None
    build_examples: Callable[[str], list[dict]] | None = None

    def __post_init__(self):
        if len(self.text_fields) not in (1, 2):
            raise ValueError(f"task {self.name}: text_fields must name 1 or 2 fields, not {self.text_fields}")
        if self.num_labels < 1:
            raise ValueError(f"task {self.name}: num_labels must be >= 1 (1 means regression)")
        if self.num_labels > 1 and len(self.label_names) != self.num_labels:
            raise ValueError(f"task {self.name}: {self.num_labels} labels but label_names {self.label_names}")
        if not self.metrics:
            raise ValueError(f"task {self.name}: name at least one metric")
        if self.local_format not in _LOCAL_EXTENSIONS:
            raise ValueError(f"task {self.name}: local_format must be one of {sorted(_LOCAL_EXTENSIONS)}")

    @property
    def is_regression(self) -> bool:
        return self.num_labels == 1

    @property
    def source(self) -> str:
        """ "builder", "local" or "tfds": where `read_examples` will read this task from."""
        if self.build_examples is not None:
            return "builder"
        if self.data_dir is not None:
            return "local"
        if self.tfds_name is not None:
            return "tfds"
        raise DataError(f"task {self.name} has no data source: give it a data_dir, a tfds_name or build_examples")


def copa_as_pair(row: dict) -> dict:
    """COPA as two-way pair classification: the premise with its question, then both alternatives in order.

    (The SuperGLUE BERT baseline scores each alternative separately, which needs a multiple-choice head.)
    """
    return {
        **row,
        "context": f"{row['premise']} What was the {row['question']}?",
        "choices": f"(1) {row['choice1']} (2) {row['choice2']}",
    }


def _glue(config: str, text_fields, label_names, metrics=("accuracy",), columns=None, **overrides) -> TaskSpec:
    columns = columns or {**{field: field for field in text_fields}, "label": "label"}
    num_labels = len(label_names) or 1
    return TaskSpec(
        name=f"glue/{config}",
        text_fields=tuple(text_fields),
        num_labels=num_labels,
        label_names=tuple(label_names),
        metrics=tuple(metrics),
        tfds_name=f"glue/{config}",
        local_files=dict(_GLUE_FILES),
        local_columns=columns,
        **overrides,
    )


def _super_glue(config: str, text_fields, label_names, metrics=("accuracy",), **overrides) -> TaskSpec:
    return TaskSpec(
        name=f"super_glue/{config}",
        text_fields=tuple(text_fields),
        num_labels=len(label_names),
        label_names=tuple(label_names),
        metrics=tuple(metrics),
        tfds_name=f"super_glue/{config}",
        local_format="jsonl",
        local_files=dict(_SUPERGLUE_FILES),
        **overrides,
    )


_MNLI_SPLITS = {
    "train": "train",
    "validation": "validation_matched",
    "validation_matched": "validation_matched",
    "validation_mismatched": "validation_mismatched",
}
_MNLI_FILES = {
    "train": "train.tsv",
    "validation_matched": "dev_matched.tsv",
    "validation_mismatched": "dev_mismatched.tsv",
}

# Label names are tfds' ClassLabel names, in tfds' order (tests check them against tfds' feature specs).
TASKS: dict[str, TaskSpec] = {
    task.name: task
    for task in (
        # CoLA's files have no header: source, label, original mark, sentence.
        _glue(
            "cola",
            ("sentence",),
            ("unacceptable", "acceptable"),
            ("matthews_corrcoef", "accuracy"),
            columns={"sentence": 3, "label": 1},
            local_has_header=False,
        ),
        _glue("sst2", ("sentence",), ("negative", "positive")),
        _glue(
            "mrpc",
            ("sentence1", "sentence2"),
            ("not_equivalent", "equivalent"),
            ("accuracy_and_f1", "f1", "accuracy"),
            columns={"sentence1": "#1 String", "sentence2": "#2 String", "label": "Quality"},
        ),
        _glue(
            "qqp",
            ("question1", "question2"),
            ("not_duplicate", "duplicate"),
            ("accuracy_and_f1", "f1", "accuracy"),
            columns={"question1": "question1", "question2": "question2", "label": "is_duplicate"},
        ),
        _glue(
            "stsb",
            ("sentence1", "sentence2"),
            (),
            ("pearson_and_spearman", "pearson", "spearman"),
            columns={"sentence1": "sentence1", "sentence2": "sentence2", "label": "score"},
        ),
        dataclasses.replace(
            _glue(
                "mnli",
                ("premise", "hypothesis"),
                ("entailment", "neutral", "contradiction"),
                columns={"premise": "sentence1", "hypothesis": "sentence2", "label": "gold_label"},
            ),
            splits=dict(_MNLI_SPLITS),
            eval_splits=("validation_matched", "validation_mismatched"),
            local_files=dict(_MNLI_FILES),
        ),
        _glue("qnli", ("question", "sentence"), ("entailment", "not_entailment")),
        _glue("rte", ("sentence1", "sentence2"), ("entailment", "not_entailment")),
        _glue("wnli", ("sentence1", "sentence2"), ("not_entailment", "entailment")),
        # BoolQ's question goes first, so longest-first truncation shortens the passage, not the question.
        _super_glue("boolq", ("question", "passage"), ("False", "True")),
        # SuperGLUE reports CB as macro-F1 over its three (unbalanced) classes, and accuracy.
        _super_glue(
            "cb", ("premise", "hypothesis"), ("entailment", "contradiction", "neutral"), ("f1_macro", "accuracy")
        ),
        _super_glue("rte", ("premise", "hypothesis"), ("entailment", "not_entailment")),
        _super_glue("copa", ("context", "choices"), ("choice1", "choice2"), preprocess=copa_as_pair),
        TaskSpec(
            name="stdlib_docs",
            text_fields=("text",),
            num_labels=len(stdlib_docs.LABEL_NAMES),
            label_names=stdlib_docs.LABEL_NAMES,
            metrics=("accuracy", "f1_macro"),
            build_examples=stdlib_docs.build_examples,
        ),
    )
}


def _lmbff_kshot(name: str, base: TaskSpec | None = None, label_names=(), extension: str = "csv") -> TaskSpec:
    """A task of LM-BFF's k-shot splits (Gao et al. 2021): data_dir is one split, `<task>/<k>-<seed>/` with its
    train and dev files; the test file is the task's, one level up (`<task>/test.*`), as LM-BFF lays them out.
    The single-sentence tasks are `label,sentence` CSV files without a header; the GLUE ones keep GLUE's TSV."""
    files = {"train": f"train.{extension}", "validation": f"dev.{extension}", "test": f"../test.{extension}"}
    splits = {"train": "train", "validation": "validation", "test": "test"}
    if base is not None:
        return dataclasses.replace(base, name=f"lmbff/{name}", splits=splits, local_files=files, tfds_name=None)
    return TaskSpec(
        name=f"lmbff/{name}",
        text_fields=("sentence",),
        num_labels=len(label_names),
        label_names=tuple(label_names),
        splits=splits,
        local_format="csv",
        local_files=files,
        local_columns={"label": 0, "sentence": 1},
        local_has_header=False,
    )


# LM-BFF's single-sentence tasks (label indices as in its files) and RTE, whose test set is GLUE's dev set.
TASKS.update(
    (task.name, task)
    for task in (
        _lmbff_kshot("mr", label_names=("negative", "positive")),
        _lmbff_kshot("cr", label_names=("negative", "positive")),
        _lmbff_kshot("mpqa", label_names=("negative", "positive")),
        _lmbff_kshot("subj", label_names=("subjective", "objective")),
        _lmbff_kshot("sst-5", label_names=("very negative", "negative", "neutral", "positive", "very positive")),
        _lmbff_kshot("trec", label_names=("description", "entity", "expression", "human", "location", "number")),
        _lmbff_kshot("rte", base=TASKS["glue/rte"], extension="tsv"),
        # SNLI's files are GLUE-style; its test file: benchmarks/lmbff_snli.py (from SentEval's SNLI test).
        _lmbff_kshot(
            "snli",
            base=dataclasses.replace(
                TASKS["glue/mnli"],
                splits=dict(_TRAIN_AND_VALIDATION),
                eval_splits=("validation",),
                # A label column per annotator, then the gold label last.
                local_columns={"premise": "sentence1", "hypothesis": "sentence2", "label": -1},
                local_ragged_rows=True,
            ),
            extension="tsv",
        ),
    )
)


def _source_only(task: TaskSpec, validation_file: str = "dev.tsv") -> TaskSpec:
    """An LM-BFF k-shot task whose folders hold train and dev files only (no test file: a transfer source)."""
    splits = {"train": "train", "validation": "validation"}
    files = {"train": "train.tsv", "validation": validation_file}
    return dataclasses.replace(task, splits=splits, local_files=files)


# MNLI, QNLI and QQP's k-shot splits (LM-BFF's data, no test files here): sources for multi-task and transfer.
TASKS.update(
    (task.name, task)
    for task in (
        _source_only(_lmbff_kshot("mnli", base=TASKS["glue/mnli"], extension="tsv"), "dev_matched.tsv"),
        _source_only(_lmbff_kshot("qnli", base=TASKS["glue/qnli"], extension="tsv")),
        _source_only(_lmbff_kshot("qqp", base=TASKS["glue/qqp"], extension="tsv")),
    )
)

# Where get_task reads a task from: "auto" is local files when a data_dir is given, else the tfds catalog.
SOURCES = ("auto", "local", "tfds")


def _expected_files(task: TaskSpec) -> str:
    files = sorted(set(task.local_files.values()))
    return f"{', '.join(files)} ({task.local_format})" if files else f"its split files ({task.local_format})"


def check_local_files(task: TaskSpec, data_dir: str) -> None:
    """DataError at once, naming the path and the files the task reads, unless data_dir holds files of the
    task's format (some of them, or others to read by name)."""
    alternative = "Leave data_dir unset, or set data.source=tfds, to read the tfds catalog instead."
    if not os.path.isdir(data_dir):
        what = "is a file, not a directory" if os.path.exists(data_dir) else "does not exist"
        raise DataError(
            f"data_dir {data_dir!r} {what}: task {task.name} reads {_expected_files(task)} from it. {alternative}"
        )
    present = set(os.listdir(data_dir))
    # Any file of the task's format will do: a split can be a file named directly (LM-BFF's "test.tsv").
    extension = _LOCAL_EXTENSIONS[task.local_format]
    if task.local_files and not any(name.endswith(extension) for name in present):
        listing = ", ".join(sorted(present)[:8]) + (", ..." if len(present) > 8 else "") if present else "nothing"
        raise DataError(
            f"data_dir {data_dir!r} holds none of the files task {task.name} reads, {_expected_files(task)}; "
            f"it holds {listing}. {alternative}"
        )


def get_task(name: str, data_dir: str | None = None, source: str = "auto") -> TaskSpec:
    """The task called `name` ("glue/rte", "super_glue/cb", "stdlib_docs", ...), reading from `source`.

    "auto": with `data_dir`, the task's local files there (GLUE's `train.tsv`/`dev.tsv`, SuperGLUE's
    `train.jsonl`/`val.jsonl`); a directory that does not exist or holds none of them is a DataError at once,
    never a download. Without `data_dir`, the tfds catalog in tfds' default directory. "local": the files, and
    `data_dir` is required. "tfds": the catalog, asked for by name; `data_dir` (optional) is then where tfds keeps
    its prepared datasets and downloads into. A task with its own builder (stdlib_docs) ignores both.
    """
    if name not in TASKS:
        raise DataError(f"unknown task {name!r}; the tasks are {sorted(TASKS)}")
    if source not in SOURCES:
        raise DataError(f"unknown data source {source!r}; the sources are {list(SOURCES)}")
    task = TASKS[name]
    if task.build_examples is not None:
        return task
    if source == "tfds":
        return dataclasses.replace(task, tfds_data_dir=data_dir)
    if data_dir is None:
        if source == "local":
            raise DataError(f"data.source=local needs data.data_dir: a directory with {_expected_files(task)}")
        return task
    check_local_files(task, data_dir)
    return dataclasses.replace(task, data_dir=data_dir)
