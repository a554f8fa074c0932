"""Train and evaluate from a Python config.

python -m plmjax.main --config=configs/<name>.py[:arg] [--config.<a.b>=<value> ...] --workdir=<dir>

The config file's get_config(arg) builds the config, which is then locked: an override of a key it does not
have is an error naming the valid keys. The resolved config, metrics.jsonl, TensorBoard events and
checkpoints go to the workdir; a workdir with checkpoints resumes from its latest one.
"""

import argparse
import os
import sys

from plmjax.train.config_files import ConfigError, config_summaries, load_config, split_overrides

# The repository's configs/, next to the package in a checkout (an installed wheel has none).
CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")

USAGE_NOTES = """\
config files and overrides:
  --config=configs/glue.py:task=glue/rte,method=lora
        a config file; the text after the colon is its get_config argument (name=value pairs, see its docstring)
  --config.<a.b>=<value>, e.g. --config.train.num_steps=100 --config.optimizer.learning_rate=1e-4
        set one key of the config; an unknown key is an error that lists the valid keys, a value must have the
        key's type. The keys and their defaults: plmjax/train/config.py
"""


def help_epilog(directory: str = CONFIGS) -> str:
    if not os.path.isdir(directory):
        return USAGE_NOTES + f"\n(no configs/ directory at {directory}: a checkout of the repository has them)\n"
    lines = [f"  {path:<28} {summary}" for path, summary in config_summaries(directory)]
    return USAGE_NOTES + f"\nconfigs (in {directory}):\n" + "\n".join(lines) + "\n"


def parse_args(argv: list[str]):
    """(config, workdir) from the command line; ConfigError for a bad config, file or override."""
    rest, overrides = split_overrides(argv)
    parser = argparse.ArgumentParser(
        prog="python -m plmjax.main",
        description=__doc__.split("\n")[0],
        epilog=help_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", required=True, help="configs/<name>.py[:arg]")
    parser.add_argument("--workdir", required=True, help="directory for checkpoints, logs and the resolved config")
    parser.add_argument(
        "--evaluate",
        choices=("best", "latest", "initial"),
        help="evaluate instead of training: the workdir's best or latest checkpoint, or the starting parameters "
        "(zero-shot prompting), on the validation split and the task's test split if it has one",
    )
    args = parser.parse_args(rest)
    config = load_config(args.config, overrides)
    return config, args.workdir, args.evaluate


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    try:
        config, workdir, evaluate = parse_args(argv)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    # Join the other processes before JAX touches a device.
    from plmjax.train import distributed

    distributed.split_cpu(config.mesh.cpu_devices)
    distributed.initialize(config.distributed)
    if config.mesh.cpu_keep_freed_memory:
        from plmjax.train.host_memory import keep_freed_memory_on_cpu

        keep_freed_memory_on_cpu(config.mesh.cpu_single_malloc_arena)
    if config.mesh.cpu_unroll_threefry:
        from plmjax.train.cpu_threefry import unroll_threefry_on_cpu

        unroll_threefry_on_cpu()
    if evaluate:
        return evaluate_only(config, os.path.abspath(workdir), evaluate)
    from plmjax.train.loop import train_and_evaluate

    return train_and_evaluate(config, os.path.abspath(workdir))


def evaluate_only(config, workdir: str, which: str) -> dict:
    """Score a run without training it (plmjax.train.evaluate_run) and print each split's metrics."""
    from plmjax.assembly.objective import TASK_OBJECTIVES
    from plmjax.data.task_inputs import get_task
    from plmjax.train.evaluate_run import evaluate_run

    splits = ["validation"]
    if config.objective.name in TASK_OBJECTIVES and "test" in get_task(config.data).splits:
        splits.append("test")
    results = evaluate_run(config, workdir, splits, which)
    for split in splits:
        shown = ", ".join(f"{k} {v:.4f}" for k, v in (results[split] or {}).items())
        print(f"step {results['step']} ({which}), {split}: {shown}")
    return results


def run_from_command_line() -> None:
    """main(), with the errors bad input causes shown as one clear message (exit status 1), not a traceback."""
    from plmjax.data import DataError
    from plmjax.prompting import PromptError
    from plmjax.train.checkpoint import CheckpointMismatchError
    from plmjax.train.loop import TrainingDivergedError

    try:
        main()
    except (DataError, PromptError, CheckpointMismatchError, TrainingDivergedError) as error:
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    run_from_command_line()
