"""PET's labeling pass against the prompt objective's evaluation, in one run: examples/s of scoring prompts
(plmjax.train.labeling.score_examples, the pass that labels PET's unlabeled set: one jitted, batched pass) and
of the evaluation step, on the same prompts (the task's test split, padded alike), model and batch size.

    python benchmarks/pet_labeling_speed.py --task=mr

The model is configs/lmbff.py's (all-MiniLM-L6-v2 with plmjax's MLM head), at its starting parameters: speed does
not depend on training. Results: docs/semi_supervised.md.
"""

import argparse
import os
import tempfile
import time

from plmjax.data.task_inputs import get_task, read_split
from plmjax.train import run_setup
from plmjax.train.config_files import load_config
from plmjax.train.evaluate_run import restore
from plmjax.train.labeling import score_examples

CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs", "lmbff.py")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", default="mr")
    args = p.parse_args(argv)
    config = load_config(f"{CONFIG}:task={args.task}")
    config.data.length_buckets = ()  # both pad to the split's longest prompt, as the labeling pass does
    test = read_split(get_task(config.data), "test")
    with tempfile.TemporaryDirectory() as workdir:
        labeled = score_examples(config, workdir, test, which="initial")
        run = run_setup.prepare(config, workdir)
        state, frozen, _ = restore(run, "initial")
        run.source.evaluate(run.eval_step, state.trainable, frozen, run.mesh, "test")  # compile
        start = time.perf_counter()
        metrics = run.source.evaluate(run.eval_step, state.trainable, frozen, run.mesh, "test")
        evaluation = metrics["examples"] / (time.perf_counter() - start)
        run.checkpoints.close()
    print(f"task {args.task}, batch {config.data.eval_batch_size}, max length {config.data.max_length}")
    print(f"labeling pass ({len(test)} test prompts): {labeled['examples_per_second']:.1f} examples/s")
    print(f"evaluation step ({metrics['examples']:.0f} test prompts): {evaluation:.1f} examples/s")
    print(f"ratio labeling / evaluation: {labeled['examples_per_second'] / evaluation:.2f}")


if __name__ == "__main__":
    main()
