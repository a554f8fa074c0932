"""Unlabeled examples for the semi-supervised methods (PET, iPET, self-training), never holding a test example.

For LM-BFF's tasks the shared data has more of each task's text: the full SentEval corpora for MR, CR, SUBJ and
MPQA, TREC's training questions, RTE's training pairs (`unlabeled_examples`). Any other set is a file
(`read_unlabeled_file`). Either way an example whose text is a test example's is found by an exact match of
`sentence_key` (the same letters and digits, case, spacing and punctuation aside): `without_examples` drops
them (and the labeled examples), `check_no_test_examples` refuses a set that holds any, naming them.
"""

import os

from plmjax.data import local_files
from plmjax.data.errors import DataError, MalformedRowError
from plmjax.data.senteval import SENTEVAL, sentence_key, senteval_sentences

# LM-BFF task -> SentEval corpus folder.
SENTEVAL_TASKS = {"mr": "MR", "cr": "CR", "subj": "SUBJ", "mpqa": "MPQA"}


def example_key(example: dict, text_fields: tuple[str, ...]) -> str:
    return "|".join(sentence_key(example[field]) for field in text_fields)


def unlabeled_examples(task: str, data_root: str) -> list[dict]:
    """The shared data's unlabeled text for an LM-BFF task (mr, cr, subj, mpqa, trec, rte), as examples with the
    task's text fields and no label."""
    if task in SENTEVAL_TASKS:
        folder = os.path.join(data_root, "senteval", SENTEVAL_TASKS[task])
        return [{"sentence": s} for s in senteval_sentences(folder, SENTEVAL[SENTEVAL_TASKS[task]])]
    if task == "trec":  # "<label> <question>" a line
        path = os.path.join(data_root, "trec", "TREC.train.all")  # Latin-1, as the TREC distribution is
        rows = read_unlabeled_file(path, ("text",), label_first=True, encoding="latin-1")
        return [{"sentence": row["text"]} for row in rows]
    if task == "rte":
        path = os.path.join(data_root, "rte", "train.tsv")
        return local_files.read_tsv(path, {"sentence1": "sentence1", "sentence2": "sentence2"})
    raise DataError(f"no unlabeled text for task {task!r} in the shared data; tasks: {sorted(SENTEVAL_TASKS)} trec rte")


def read_unlabeled_file(
    path: str, text_fields: tuple[str, ...], label_first: bool = False, encoding: str = "utf-8"
) -> list[dict]:
    """A file of unlabeled examples: .jsonl (objects with the text fields) or text, one example a line, the
    fields separated by tabs (label_first: a label and a space before them, which is dropped). A line with
    the wrong number of fields is a MalformedRowError naming the file and line."""
    if not os.path.isfile(path):
        raise DataError(f"unlabeled file {path} does not exist")
    if path.endswith(".jsonl"):
        return [{f: row[f] for f in text_fields} for _, row in local_files.iter_jsonl_rows(path, text_fields)]
    examples = []
    with open(path, "rb") as handle:
        for line, text in enumerate(local_files.decoded_lines(path, handle, encoding), start=1):
            text = text.rstrip("\r\n")
            if not text.strip():
                continue
            if label_first:
                text = text.split(" ", 1)[1] if " " in text else ""
            fields = text.split("\t")
            if len(fields) != len(text_fields) or not all(f.strip() for f in fields):
                raise MalformedRowError(path, line, f"expected {len(text_fields)} tab-separated texts {text_fields}")
            examples.append(dict(zip(text_fields, (f.strip() for f in fields), strict=True)))
    return examples


def without_examples(examples: list[dict], others: list[dict], text_fields) -> tuple[list[dict], int]:
    """(the examples whose text matches none of `others`' (test, labeled), how many were dropped)."""
    keys = {example_key(e, text_fields) for e in others}
    kept = [e for e in examples if example_key(e, text_fields) not in keys]
    return kept, len(examples) - len(kept)


def check_no_test_examples(examples: list[dict], test: list[dict], text_fields, where: str) -> None:
    """DataError when any example's text is a test example's (exact match of sentence_key)."""
    keys = {example_key(e, text_fields) for e in test}
    found = [i for i, e in enumerate(examples) if example_key(e, text_fields) in keys]
    if found:
        first = examples[found[0]][text_fields[0]]
        raise DataError(
            f"{where}: {len(found)} unlabeled examples are test examples (the first, example {found[0]}: "
            f"{first[:80]!r}); remove them (plmjax.data.unlabeled.without_examples) so the test set stays unseen"
        )


def unlabeled_for_task(task, labeled: list[dict], path: str = "") -> tuple[list[dict], int]:
    """(the unlabeled examples a semi-supervised run of `task` reads, how many were left out): the file at `path`
    (refused if it holds a test example), else the shared data's text of the LM-BFF task; either way without any
    of the task's labeled examples (`labeled`, and its validation split) or test examples."""
    from plmjax.data.pretraining.default_corpora import DATA_ROOT
    from plmjax.data.sources import read_examples

    fields = task.text_fields
    test = read_examples(task, "test") if "test" in task.splits else []
    if path:
        examples = read_unlabeled_file(path, fields)
        check_no_test_examples(examples, test, fields, path)
    else:
        examples = unlabeled_examples(task.name.split("/")[-1], DATA_ROOT)
    validation = read_examples(task, "validation") if "validation" in task.splits else []
    return without_examples(examples, labeled + validation + test, fields)
