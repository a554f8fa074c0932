"""The few-shot protocol of LM-BFF (Gao et al. 2021): one config, run once per data seed; train on the seed's
train split, keep the checkpoint best on its dev split, score it on the test split; report the mean (std).

python -m plmjax.train.few_shot --config=configs/lmbff.py:task=mr,method=prompt --workdir=/tmp/lmbff/mr-prompt

The config file takes a `seed` argument that picks both the data split and the run's seed (configs/lmbff.py);
each seed's run goes to <workdir>/seed-<seed> (resumable like any run). --zero-shot scores the starting
parameters instead (no training). Results: one row per seed in <workdir>/metrics.jsonl, and
<workdir>/results.md, a table with each seed's figure and the mean (std) over seeds, std over the seeds as
numpy computes it (ddof=0, as LM-BFF's tables).
"""

import argparse
import json
import os
import sys

import numpy as np

from plmjax.train.compilation_cache import use_compilation_cache
from plmjax.train.config_files import ConfigError, load_config, split_overrides

LMBFF_SEEDS = (13, 21, 42, 87, 100)


def seed_config(spec: str, seed: int, overrides: dict):
    """The config file's config for `seed` (appended to its argument), with the command line's overrides."""
    path, _, arg = spec.partition(":")
    return load_config(f"{path}:{arg + ',' if arg else ''}seed={seed}", overrides)


def majority_share(config, split: str = "test") -> float:
    """The share of the split's most frequent label (LM-BFF's "majority" row)."""
    from plmjax.data.task_inputs import get_task, read_split

    labels = [example["label"] for example in read_split(get_task(config.data), split)]
    return float(np.bincount(labels).max() / len(labels))


def run_seed(config, workdir: str, zero_shot: bool, split: str, log=print, calibrate: bool = False) -> dict:
    """Train (unless zero_shot), then score the dev-selected checkpoint on `split`: {"seed", "step", split:
    metrics, "validation": metrics, "majority"}; with calibrate, also "calibrated": its contextually
    calibrated accuracy on `split`."""
    from plmjax.train.evaluate_run import evaluate_run
    from plmjax.train.loop import train_and_evaluate

    if not zero_shot:
        train_and_evaluate(config, workdir, log=log)
    which = "initial" if zero_shot else "best"
    scored = evaluate_run(config, workdir, ("validation", split), which=which)
    row = {"seed": config.seed, "majority": majority_share(config, split), **scored}
    if calibrate:
        row["calibrated"] = calibrated_accuracy(config, workdir, split, which)
    return row


def calibrated_accuracy(config, workdir: str, split: str, which: str) -> dict:
    """Contextual calibration (plmjax.in_context.calibration) of a run's class scores on `split`: the prior is
    the mean class distribution of the content-free inputs ("N/A", "", "[MASK]" in every text field) in the
    run's prompt. A masked LM's label probabilities are its label words' scores renormalised over the classes
    (a causal LM's are the options' full likelihoods: plmjax.in_context)."""
    from plmjax.data.task_inputs import get_task, read_split
    from plmjax.in_context.calibration import CONTENT_FREE_INPUTS, calibrate, label_probabilities
    from plmjax.train.labeling import score_examples

    task = get_task(config.data)
    examples = read_split(task, split)
    labels = np.asarray([e["label"] for e in examples])
    scores = score_examples(config, workdir, examples, which)["scores"]
    free = [{field: text for field in task.text_fields} for text in CONTENT_FREE_INPUTS]
    prior = label_probabilities(score_examples(config, workdir, free, which)["scores"]).mean(axis=0)
    calibrated = calibrate(scores, prior / prior.sum())
    return {
        "accuracy": float(np.mean(scores.argmax(-1) == labels)),
        "calibrated_accuracy": float(np.mean(calibrated.argmax(-1) == labels)),
        "prior": prior.tolist(),
    }


def summarise(rows: list[dict], split: str, metric: str) -> dict:
    values = np.asarray([row[split][metric] for row in rows]) * 100
    return {"metric": metric, "split": split, "seeds": [row["seed"] for row in rows], "values": values.tolist(),
            "mean": float(values.mean()), "std": float(values.std())}  # fmt: skip


def results_table(title: str, rows: list[dict], split: str, metric: str) -> str:
    summary = summarise(rows, split, metric)
    majority = 100 * rows[0]["majority"]
    lines = [
        f"# {title}",
        "",
        f"| seed | dev {metric} | {split} {metric} | checkpoint step |",
        "|---|---|---|---|",
        *(
            f"| {r['seed']} | {100 * r['validation'][metric]:.1f} | {100 * r[split][metric]:.1f} | {r['step']} |"
            for r in rows
        ),
        f"| mean (std) | | **{summary['mean']:.1f} ({summary['std']:.1f})** | |",
        "",
        f"majority class on {split}: {majority:.1f}",
    ]
    if "calibrated" in rows[0]:
        values = 100 * np.asarray([r["calibrated"]["calibrated_accuracy"] for r in rows])
        lines.append(f"contextually calibrated {split} accuracy: {values.mean():.1f} ({values.std():.1f})")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    rest, overrides = split_overrides(argv)
    parser = argparse.ArgumentParser(prog="python -m plmjax.train.few_shot", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="configs/<name>.py[:arg]; the file takes a seed argument")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--seeds", default=",".join(map(str, LMBFF_SEEDS)))
    parser.add_argument("--zero-shot", action="store_true", help="score the starting parameters, no training")
    parser.add_argument("--split", default="test", help="the split reported (default test)")
    parser.add_argument("--calibrate", action="store_true", help="also report contextually calibrated accuracy")
    parser.add_argument(
        "--compilation-cache",
        default="",
        help="a directory for jax's persistent compilation cache: the seeds' runs build the same programs",
    )
    args = parser.parse_args(rest)
    if args.compilation_cache:
        use_compilation_cache(args.compilation_cache)
    seeds = [int(seed) for seed in args.seeds.split(",")]
    try:
        configs = [seed_config(args.config, seed, overrides) for seed in seeds]
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    os.makedirs(args.workdir, exist_ok=True)
    metric = _task_metrics(configs[0])[0]  # the seeds' splits are of one task
    rows = []
    for config in configs:
        workdir = os.path.join(args.workdir, f"seed-{config.seed}")
        row = run_seed(config, workdir, args.zero_shot, args.split, calibrate=args.calibrate)
        rows.append(row)
        with open(os.path.join(args.workdir, "metrics.jsonl"), "a") as f:
            f.write(json.dumps({"config": args.config, "zero_shot": args.zero_shot, **row}) + "\n")
        calibrated = f", calibrated {100 * row['calibrated']['calibrated_accuracy']:.1f}" if args.calibrate else ""
        print(f"seed {config.seed}: {args.split} {metric} {100 * row[args.split][metric]:.1f}{calibrated}", flush=True)
    title = f"{args.config}{' (zero-shot)' if args.zero_shot else ''}"
    table = results_table(title, rows, args.split, metric)
    with open(os.path.join(args.workdir, "results.md"), "w") as f:
        f.write(table)
    print(table)
    return {"rows": rows, "summary": summarise(rows, args.split, metric)}


def _task_metrics(config) -> tuple[str, ...]:
    from plmjax.data.task_inputs import get_task

    return get_task(config.data).metrics


if __name__ == "__main__":
    main()
