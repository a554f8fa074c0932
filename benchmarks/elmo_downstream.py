"""ELMo downstream on TREC: the scalar mix of a pretrained biLM's layers feeding a sentence classifier, against
its character-CNN layer alone (non-contextual token vectors) and against the forward LSTM LM of the same size.

python -m plmjax.main --config=configs/pretrain/elmo.py:bidirectional=true --workdir=/tmp/elmo/bi_true
python -m plmjax.main --config=configs/pretrain/elmo.py:bidirectional=false --workdir=/tmp/elmo/bi_false
python benchmarks/elmo_downstream.py --bilm=/tmp/elmo/bi_true --forward=/tmp/elmo/bi_false

TREC's train file trains (a seeded tenth of it held out as the dev split that picks each run's checkpoint) and
its test file scores; five seeds of the classifier per row, mean (std) accuracy. The biLMs are frozen
(plmjax.models.elmo_downstream).
"""

import argparse
import json
import os

import numpy as np

DATA = os.environ.get("PLMJAX_DATA") or os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "pretrain", "elmo.py")


def restore_bilm(workdir: str, bidirectional: bool):
    from plmjax.train.config_files import load_config
    from plmjax.train.evaluate_run import restored_params

    config = load_config(f"{CONFIG}:bidirectional={str(bidirectional).lower()}")
    run, params, step = restored_params(config, workdir, "best")
    return run.setup.model, params, step


def task_splits(model, params, task: dict, max_words: int, seed: int) -> dict:
    """(layers, mask, labels) of dev (a seeded tenth of train), train (the rest) and test."""
    from plmjax.models.elmo_downstream import bilm_layers

    texts, labels = task["train"]
    dev_rows = np.random.default_rng(seed).permutation(len(labels)) < len(labels) // 10
    parts = {
        "train": ([t for t, d in zip(texts, dev_rows, strict=True) if not d], labels[~dev_rows]),
        "dev": ([t for t, d in zip(texts, dev_rows, strict=True) if d], labels[dev_rows]),
        "test": task["test"],
    }
    splits = {}
    for name, (split_texts, split_labels) in parts.items():
        layers, mask = bilm_layers(model, params, [t.split() for t in split_texts], max_words)
        splits[name] = (layers, mask, np.asarray(split_labels, np.int32))
    return splits


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bilm", required=True, help="workdir of configs/pretrain/elmo.py:bidirectional=true")
    parser.add_argument("--forward", default="", help="workdir of the forward LM (bidirectional=false)")
    parser.add_argument("--task", default="TREC")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--max_words", type=int, default=40)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--out", default="")
    args = parser.parse_args()

    from plmjax.models.elmo_downstream import train_classifier
    from plmjax.probing.tasks import sentence_task

    task = sentence_task(DATA, args.task)
    num_labels = int(max(task["train"][1].max(), task["test"][1].max())) + 1
    runs = [("biLM", args.bilm, True)] + ([("forward LM", args.forward, False)] if args.forward else [])
    rows = []
    for name, workdir, bidirectional in runs:
        model, params, step = restore_bilm(workdir, bidirectional)
        splits = task_splits(model, params, task, args.max_words, seed=0)
        variants = [("character CNN layer alone", [0]), ("scalar mix of all layers", None)]
        if name != "biLM":
            variants = variants[1:]
        for variant, layers in variants:
            results = [
                train_classifier(splits, num_labels, layers, seed=seed, steps=args.steps) for seed in range(args.seeds)
            ]
            test = np.array([r["test"] for r in results]) * 100
            dev = np.array([r["dev"] for r in results]) * 100
            row = {"model": name, "checkpoint_step": step, "features": variant, "test_mean": test.mean(),
                   "test_std": test.std(), "dev_mean": dev.mean(), "mix": [r["mix"] for r in results]}  # fmt: skip
            rows.append(row)
            print(
                f"{name:10s} {variant:28s} test {test.mean():.1f} ({test.std():.1f})  dev {dev.mean():.1f}", flush=True
            )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
