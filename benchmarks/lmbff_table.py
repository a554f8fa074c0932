"""LM-BFF's few-shot table (Gao et al. 2021, Table 3) with plmjax: K = 16 per class, the five data seeds,
test mean (std), for each task and method, every run selected on its dev split only.

    python benchmarks/lmbff_table.py --tasks=mr,rte,trec,sst-5 --out=/tmp/lmbff
    python benchmarks/lmbff_snli.py && python benchmarks/lmbff_table.py --tasks=snli --out=/tmp/lmbff

Each (task, method) is one few-shot runner call (python -m plmjax.train.few_shot with configs/lmbff.py), run in
its own process, into <out>/<task>/<method>; one whose results.md exists is read, not re-run, so the table
fills in over several sittings. Methods: majority (the test set's most frequent class), zero_shot (the prompt,
no training) and configs/lmbff.py's methods. The masked LM is configs/lmbff.py's default (all-MiniLM-L6-v2 with
the MLM head plmjax trains, docs/masked_lm_head.md) unless --model is given. Results: docs/prompting.md.
"""

import argparse
import json
import os
import subprocess
import sys
import time

METHODS = ("zero_shot", "finetune", "prompt", "prompt_demos", "auto_words", "prompt_tuning", "lora")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cell(task: str, method: str, out: str, model: str, steps: int, data: str = "") -> dict | None:
    workdir = os.path.join(out, task, method)
    if not os.path.exists(os.path.join(workdir, "results.md")):
        arg = f"task={task},method={'prompt' if method == 'zero_shot' else method},steps={steps}"
        arg += (f",model={model}" if model else "") + (f",data={data}" if data else "")
        command = [sys.executable, "-m", "plmjax.train.few_shot", f"--config=configs/lmbff.py:{arg}",
                   f"--workdir={workdir}", f"--compilation-cache={os.path.join(out, 'jax_cache')}"]  # fmt: skip
        command += ["--zero-shot"] if method == "zero_shot" else []
        os.makedirs(workdir, exist_ok=True)
        start = time.perf_counter()
        with open(os.path.join(workdir, "log.txt"), "w") as log:
            code = subprocess.call(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        print(f"{task} {method}: exit {code} after {time.perf_counter() - start:.0f} s", flush=True)
        if code:
            return None
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    rows = {row["seed"]: row for row in rows}  # a re-run seed counts once
    return {seed: row["test"]["accuracy"] * 100 for seed, row in rows.items()} | {
        "majority": 100 * next(iter(rows.values()))["majority"]
    }


def cell_text(values: dict | None) -> str:
    if values is None:
        return "failed"
    import numpy as np

    scores = np.asarray([v for k, v in values.items() if k != "majority"])
    return f"{scores.mean():.1f} ({scores.std():.1f})"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", default="mr,rte,trec,sst-5")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--out", default="/tmp/lmbff")
    p.add_argument("--model", default="")
    p.add_argument("--steps", type=int, default=250)
    p.add_argument("--snli-data", default="/tmp/plmjax_lmbff_snli", help="benchmarks/lmbff_snli.py's --out")
    args = p.parse_args(argv)
    tasks, methods = args.tasks.split(","), args.methods.split(",")
    table = {task: {} for task in tasks}
    for method in methods:  # method by method: each task's row fills in across tasks first
        for task in tasks:
            data = args.snli_data if task == "snli" else ""
            table[task][method] = run_cell(task, method, args.out, args.model, args.steps, data)
    lines = ["| method | " + " | ".join(tasks) + " |", "|---" * (len(tasks) + 1) + "|"]
    majority = [next((v["majority"] for v in table[t].values() if v), None) for t in tasks]
    lines.append("| majority class | " + " | ".join("-" if m is None else f"{m:.1f}" for m in majority) + " |")
    for method in methods:
        lines.append(f"| {method} | " + " | ".join(cell_text(table[t][method]) for t in tasks) + " |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
