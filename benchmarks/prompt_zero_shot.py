"""Zero-shot prompting on LM-BFF's test sets: LM-BFF's manual templates and label words (Gao et al. 2021,
Table 1) read at the mask of a masked LM, no training; the majority class beside it.

    python benchmarks/prompt_zero_shot.py --model=/tmp/minilm_mlm_hf --data=../shared/data/lmbff_kshot

--model is an HF masked-LM directory (e.g. the all-MiniLM-L6-v2 with plmjax's trained MLM head,
docs/masked_lm_head.md). Results and the command that made them: docs/prompting.md.
"""

import argparse
import csv
import os
import time

import jax
import numpy as np

import plmjax
from plmjax import data
from plmjax.prompting import Field, ManualVerbalizer, Mask, Template, Text, collate, prompt_logits

# task -> (template, label words in class order). LM-BFF's Table 1, lower-cased for uncased vocabularies.
SENTIMENT = (Template(Field("text_a"), Text(" it was"), Mask(), Text(".")), [["terrible"], ["great"]])
TASKS = {
    "mr": SENTIMENT,
    "cr": SENTIMENT,
    "mpqa": SENTIMENT,
    "sst-5": (SENTIMENT[0], [["terrible"], ["bad"], ["okay"], ["good"], ["great"]]),
    "subj": (Template(Field("text_a"), Text(" this is"), Mask(), Text(".")), [["subjective"], ["objective"]]),
    "trec": (
        Template(Mask(), Text(":"), Field("text_a", leading_space=True)),
        [["description"], ["entity"], ["expression"], ["human"], ["location"], ["number"]],
    ),
    "RTE": (
        Template(
            Field("text_a", strip_final_punctuation=True),
            Text("?"),
            Mask(),
            Text(","),
            Field("text_b", lower_first=True, leading_space=True),
        ),
        [["yes"], ["no"]],
    ),  # fmt: skip
}


def read_test(data_dir: str, task: str) -> tuple[list[dict], np.ndarray]:
    """(examples with text_a[, text_b], labels) of LM-BFF's test file of a task."""
    if task == "RTE":
        spec = data.get_task("glue/rte", data_dir=os.path.join(data_dir, task))
        rows = data.read_examples(spec, "test.tsv")
        return [{"text_a": r["sentence1"], "text_b": r["sentence2"]} for r in rows], np.array(
            [r["label"] for r in rows]
        )
    path = os.path.join(data_dir, task, "test.csv")
    if not os.path.isfile(path):
        raise SystemExit(f"no file {path}: --data must be LM-BFF's k-shot directory (lmbff_kshot)")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return [{"text_a": text} for _, text in rows], np.array([int(label) for label, _ in rows])


def evaluate(model, params, tokenizer, task: str, examples, labels, max_length: int, batch_size: int) -> float:
    template, words = TASKS[task]
    verbalizer = ManualVerbalizer(words, tokenizer)
    forward = jax.jit(lambda params, batch: prompt_logits(model, params, batch, verbalizer))
    predictions = []
    for start in range(0, len(examples), batch_size):
        prompts = [template.encode(e, tokenizer, max_length) for e in examples[start : start + batch_size]]
        batch = collate(prompts, tokenizer.pad_token_id, length=max_length)
        predictions.append(np.argmax(np.asarray(forward(params, batch)), axis=-1))
    return float(np.mean(np.concatenate(predictions) == labels))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="an HF masked-LM directory")
    p.add_argument(
        "--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "lmbff_kshot")
    )
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=64)
    args = p.parse_args(argv)
    model, params = plmjax.from_pretrained(args.model, head="mlm")
    tokenizer = plmjax.load_tokenizer(args.model)
    print(f"model {args.model}; LM-BFF test sets in {args.data}\n")
    print("| task | test examples | majority class | zero-shot prompt | seconds |\n|---|---|---|---|---|")
    for task in args.tasks.split(","):
        examples, labels = read_test(args.data, task)
        start = time.perf_counter()
        accuracy = evaluate(model, params, tokenizer, task, examples, labels, args.max_length, args.batch_size)
        majority = np.bincount(labels).max() / len(labels)
        seconds = time.perf_counter() - start
        print(f"| {task} | {len(labels)} | {100 * majority:.1f} | {100 * accuracy:.1f} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
