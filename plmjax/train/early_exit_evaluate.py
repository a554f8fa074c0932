"""Every criterion over its thresholds on a trained early-exit run: accuracy against the mean exit layer, and at
each criterion's operating point (the fewest layers within one point of the full model's accuracy) the
measured wall-clock speed-up at batch 1 and batch 32, the full model timed in the same process.

python -m plmjax.train.early_exit_evaluate --config=configs/early_exit.py:task=glue/rte --workdir=/tmp/ee_rte_joint \
    [--which best] [--split validation] [--batch_sizes 1,32] [--out table.md]

A run trained without exit heads (objective classification) is refused with MissingExitHeadsError.
"""

import argparse
import sys

import jax
import numpy as np

from plmjax.early_exit import criteria, sweep
from plmjax.early_exit.heads import split_params
from plmjax.early_exit.layerwise import all_confidences, all_exits
from plmjax.train.evaluate_run import restored_params

INPUT_KEYS = ("input_ids", "attention_mask", "token_type_ids")


def load(config, workdir: str, which: str = "best"):
    """(model, params with exit heads, the run) of a trained run's checkpoint."""
    run, params, _ = restored_params(config, workdir, which)
    split_params(params)  # a run without exit heads: the clear error here
    return run.setup.model, params, run


def split_batches(run, split: str, batch_size: int):
    """The split's batches of batch_size rows (padding rows dropped) and their labels."""
    with run.config.unlocked():
        run.config.data.eval_batch_size = batch_size
    batches, labels = [], []
    for batch in run.source.eval_batches(split):
        real = np.asarray(batch["weights"]) > 0
        batches.append({k: np.asarray(batch[k])[real] for k in INPUT_KEYS if k in batch})
        labels.append(np.asarray(batch["labels"])[real])
    return batches, np.concatenate(labels)


def evaluate(config, workdir: str, which="best", split="validation", batch_sizes=(1, 32)) -> str:
    """The markdown report: the sweep table and the operating points with their wall-clock speed-ups."""
    model, params, run = load(config, workdir, which)
    reads = config.objective.early_exit.reads
    batches, labels = split_batches(run, split, max(batch_sizes))
    exits = jax.jit(all_exits, static_argnums=0, static_argnames="reads")
    outputs = [exits(model, params, b, reads=reads) for b in batches]
    logits = np.concatenate([np.asarray(o[0]) for o in outputs], axis=1)
    confidences = np.concatenate([np.asarray(all_confidences(params, o[1], o[0])) for o in outputs], axis=1)
    num_labels, num_exits = model.num_labels, logits.shape[0]
    if num_labels == 1:
        raise ValueError("the sweep reports accuracy; a regression run has none")
    full_accuracy = float(np.mean(np.argmax(logits[-1], -1) == labels))
    layer_accuracy = [float(np.mean(np.argmax(layer, -1) == labels)) for layer in logits]
    # How much what each exit reads varies across examples (mean per-dimension std): an exit whose input is
    # the same for every example (all-MiniLM-L6-v2's early [CLS] states) can only predict one class.
    inputs = np.concatenate([np.asarray(o[1]) for o in outputs], axis=1)
    spread = inputs.std(axis=1).mean(axis=-1)
    report = [f"full model ({num_exits} layers): accuracy {full_accuracy:.4f}; each exit alone: "
              + ", ".join(f"{a:.4f}" for a in layer_accuracy),
              f"spread of each exit's input ({reads}) across the examples: "
              + ", ".join(f"{v:.3f}" for v in spread)]  # fmt: skip
    points = []
    for name in criteria.CRITERIA:
        thresholds = sweep.default_thresholds(name, num_labels, num_exits)
        rows = sweep.accuracy_sweep(name, thresholds, logits, confidences, labels, num_labels)
        report += [f"\n{name}:", sweep.markdown_table(rows, ["threshold", "accuracy", "exit_layer", "layer_speedup"])]
        point = sweep.operating_point(rows, full_accuracy)
        if point is None:
            continue
        criterion = criteria.make_criterion(name, point["threshold"], num_labels, num_exits)
        for batch_size in batch_sizes:
            sized = batches if batch_size == max(batch_sizes) else split_batches(run, split, batch_size)[0]
            early, full = sweep.wall_clock(model, params, sized, criterion, batch_size, reads=reads)
            point[f"speedup_batch_{batch_size}"] = full / early
        points.append(point)
    columns = ["criterion", "threshold", "accuracy", "exit_layer"] + [f"speedup_batch_{b}" for b in batch_sizes]
    report += ["\noperating points (fewest layers within 1 point of the full model):"]
    report.append(sweep.markdown_table(points, columns))
    return "\n".join(report)


def main(argv=None) -> None:
    from plmjax.train.config_files import load_config, split_overrides

    rest, overrides = split_overrides(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m plmjax.train.early_exit_evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--which", default="best", choices=("best", "latest", "initial"))
    p.add_argument("--split", default="validation")
    p.add_argument("--batch_sizes", default="1,32")
    p.add_argument("--out", default=None, help="also write the report to this file")
    args = p.parse_args(rest)
    config = load_config(args.config, overrides)
    report = evaluate(config, args.workdir, args.which, args.split, tuple(int(b) for b in args.batch_sizes.split(",")))
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report + "\n")


if __name__ == "__main__":
    main()
