"""Real-data fine-tuning: all-MiniLM-L6-v2 on GLUE RTE, CoLA and STS-B (dev sets), full fine-tuning and
head-only, through the trainer (`configs/glue.py`), with the official metrics.

    python benchmarks/glue_minilm.py [--data ../shared/data] [--workdir /tmp/glue_minilm] [--tasks rte,cola,stsb]
                                     [--methods full,head_only]

Each run is `python -m plmjax.main --config=configs/glue.py:task=glue/<task>,data_dir=<data>/<task>,method=<m>
--workdir=<workdir>/<task>_<m>`. The script prints a markdown table (the final and the best validation score
of the selection metric, the other metrics at the end, trainable share, wall time and throughput) and writes
it with the raw results to <workdir>/results.json.
"""

import argparse
import json
import os
import time

from plmjax.data.pretraining.default_corpora import DATA_ROOT as DEFAULT_DATA  # $PLMJAX_DATA or ../shared/data
from plmjax.main import main as run_main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(task: str, method: str, data: str, workdir: str) -> dict:
    config = f"{REPO}/configs/glue.py:task=glue/{task},data_dir={os.path.join(data, task)},method={method}"
    start = time.perf_counter()
    results = run_main([f"--config={config}", f"--workdir={workdir}"])
    from plmjax.train.writers import read_metrics

    validation = read_metrics(workdir, "validation")
    return {
        "task": task,
        "method": method,
        "seconds": round(time.perf_counter() - start, 1),
        "examples_per_second": round(results["examples_per_second"] or 0.0, 2),
        "trainable_params": results["trainable_params"],
        "total_params": results["total_params"],
        "final": {k: round(v, 4) for k, v in results["validation"].items()},
        "per_epoch": [{k: round(v, 4) for k, v in r.items() if k not in ("time", "split")} for r in validation],
    }


def markdown(rows: list[dict]) -> str:
    lines = [
        "| task | method | metric (final) | best epoch | other metrics (final) | trainable | wall time | ex/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        metrics = [k for k in r["final"] if k not in ("loss", "examples")]
        selection, others = metrics[0], metrics[1:]
        best = max(r["per_epoch"], key=lambda e: e[selection])
        share = 100 * r["trainable_params"] / r["total_params"]
        lines.append(
            f"| {r['task']} | {r['method']} | {selection} {100 * r['final'][selection]:.1f} | "
            f"{100 * best[selection]:.1f} (step {best['step']}) | "
            + ", ".join(f"{k} {100 * r['final'][k]:.1f}" for k in others)
            + f" | {r['trainable_params']:,} ({share:.2f}%) | {r['seconds'] / 60:.1f} min"
            + f" | {r['examples_per_second']} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--workdir", default="/tmp/glue_minilm")
    parser.add_argument("--tasks", default="rte,cola,stsb")
    parser.add_argument("--methods", default="full,head_only")
    args = parser.parse_args()
    rows = []
    for task in args.tasks.split(","):
        for method in args.methods.split(","):
            rows.append(run(task, method, os.path.abspath(args.data), os.path.join(args.workdir, f"{task}_{method}")))
            with open(os.path.join(args.workdir, "results.json"), "w") as f:
                json.dump({"rows": rows, "table": markdown(rows)}, f, indent=2)
    print(markdown(rows))


if __name__ == "__main__":
    main()
