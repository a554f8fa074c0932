"""PET, iPET and self-training against standard and prompt-based fine-tuning, LM-BFF's protocol: K = 16 per
class, the five data seeds, test mean (std), every model selected on its 16-per-class dev file only.

    python benchmarks/semi_supervised_table.py --tasks=cr,rte,trec --out=/tmp/semi --lmbff-out=/tmp/lmbff

Each (task, method, seed) is one pipeline (python -m plmjax.train.semi_supervised) in its own process, into
<out>/<task>/<method>/seed-<seed>; one whose result.json exists is read, not re-run, so the table fills in over
several sittings, and a pipeline cut off resumes where it stopped. Standard and prompt-based fine-tuning are
benchmarks/lmbff_table.py's cells (the same runs: its finetune and prompt methods) from --lmbff-out, run there
when missing. The unlabeled set is the task's (plmjax.data.unlabeled), its first --max-unlabeled examples.
Results: docs/semi_supervised.md.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lmbff_table import run_cell  # noqa: E402  (the fine-tuning rows are that table's cells)

METHODS = ("pet", "ipet", "self_training")
SEEDS = (13, 21, 42, 87, 100)


def run_pipeline(task: str, method: str, seed: int, args) -> float | None:
    """The test accuracy (%) of one pipeline, running it unless its result.json exists."""
    workdir = os.path.join(args.out, task, method, f"seed-{seed}")
    result = os.path.join(workdir, "result.json")
    if not os.path.exists(result):
        command = [
            sys.executable, "-m", "plmjax.train.semi_supervised", f"--method={method}",
            f"--config=configs/lmbff.py:task={task},seed={seed},steps={args.steps}", f"--workdir={workdir}",
            f"--max-unlabeled={args.max_unlabeled}", f"--generations={args.generations}", f"--rounds={args.rounds}",
            f"--compilation-cache={os.path.join(args.out, 'jax_cache')}",
        ]  # fmt: skip
        os.makedirs(workdir, exist_ok=True)
        start = time.perf_counter()
        with open(os.path.join(workdir, "log.txt"), "a") as log:
            code = subprocess.call(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        print(f"{task} {method} seed {seed}: exit {code} after {time.perf_counter() - start:.0f} s", flush=True)
        if code:
            return None
    with open(result) as f:
        return 100 * json.load(f)["test"]["accuracy"]


def cell_text(scores: list) -> str:
    if any(score is None for score in scores):
        return "failed"
    return f"{np.mean(scores):.1f} ({np.std(scores):.1f})"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", default="cr,rte,trec")
    p.add_argument("--methods", default=",".join(("finetune", "prompt", *METHODS)))
    p.add_argument("--out", default="/tmp/semi")
    p.add_argument("--lmbff-out", default="/tmp/lmbff", help="benchmarks/lmbff_table.py's --out")
    p.add_argument("--steps", type=int, default=250)
    p.add_argument("--max-unlabeled", type=int, default=1000)
    p.add_argument("--generations", type=int, default=2, help="iPET's generations after the first")
    p.add_argument("--rounds", type=int, default=2, help="self-training rounds after the first")
    args = p.parse_args(argv)
    tasks, methods = args.tasks.split(","), args.methods.split(",")
    rows = {}
    for method in methods:
        for task in tasks:
            if method in METHODS:
                rows[method, task] = cell_text([run_pipeline(task, method, seed, args) for seed in SEEDS])
            else:
                values = run_cell(task, method, args.lmbff_out, "", args.steps)
                rows[method, task] = "failed" if values is None else cell_text(
                    [v for k, v in values.items() if k != "majority"]
                )  # fmt: skip
    lines = ["| method | " + " | ".join(tasks) + " |", "|---" * (len(tasks) + 1) + "|"]
    lines += [f"| {m} | " + " | ".join(rows[m, t] for t in tasks) + " |" for m in methods]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
