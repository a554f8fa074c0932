"""Trainer overhead: end-to-end training throughput of plmjax's loop against the bare jitted train step, on
BERT-base fine-tuning (sequence classification, AdamW, float32).

    python benchmarks/trainer_overhead.py [--steps 24] [--batch_size 8] [--max_length 128] [--workdir DIR]

Both sides run the same compiled step on the same shapes. The bare side calls it in a Python loop on one
device-resident batch and blocks at the end. The trainer side is `train_and_evaluate` (what
`python -m plmjax.main` runs): batches from the input pipeline, metrics fetched and NaN-checked at every log,
metrics.jsonl and TensorBoard written, and an asynchronous checkpoint of the whole state (params + Adam
moments, 1.3 GB) at the last step, waited for. Its throughput counts all of that except the first (compiling)
step and evaluation. Overhead = 1 - trainer / bare.
"""

import argparse
import json
import os
import shutil
import tempfile
import time

import jax
import numpy as np

from plmjax.train import sharding
from plmjax.train.config import default_config
from plmjax.train.loop import train_and_evaluate
from plmjax.train.run_setup import prepare


def benchmark_config(steps: int, batch_size: int, max_length: int):
    config = default_config()
    config.model.name_or_path = "bert-base"
    config.data.task = "synthetic"
    # Every synthetic example is max_length // 2 to max_length tokens; batches pad to the longest (max_length).
    config.data.max_length = max_length
    config.data.batch_size = batch_size
    config.data.max_train_examples = steps * batch_size
    config.data.max_eval_examples = batch_size
    config.data.eval_batch_size = batch_size
    config.train.num_steps = steps
    config.train.log_every = 8
    config.train.eval_every = steps
    config.train.checkpoint_every = steps
    return config


def bare_step_throughput(config, workdir: str, steps: int) -> tuple[float, float]:
    """Examples per second of the jitted step alone (after one compiling step), and the seconds one checkpoint
    of its state takes to save (asynchronously, then waited for) with nothing else running."""
    run = prepare(config, workdir)
    state, frozen = run.initial_state()
    batch = sharding.global_batch(run.mesh, next(run.train_batches()))
    state, metrics = run.train_step(state, frozen, batch)
    jax.block_until_ready(metrics)
    start = time.perf_counter()
    for _ in range(steps - 1):
        state, metrics = run.train_step(state, frozen, batch)
    jax.block_until_ready((state, metrics))
    seconds = time.perf_counter() - start
    save_start = time.perf_counter()
    run.checkpoints.save(state, {}, run.meta)
    run.checkpoints.wait()
    checkpoint_seconds = time.perf_counter() - save_start
    run.checkpoints.close()
    return (steps - 1) * config.data.batch_size / seconds, checkpoint_seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--max_length", type=int, default=128)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="plmjax_overhead_")
    config = benchmark_config(args.steps, args.batch_size, args.max_length)

    bare_dir, trainer_dir = os.path.join(workdir, "bare"), os.path.join(workdir, "trainer")
    for directory in (bare_dir, trainer_dir):
        shutil.rmtree(directory, ignore_errors=True)
    bare, checkpoint_seconds = bare_step_throughput(config, bare_dir, args.steps)
    results = train_and_evaluate(config, trainer_dir, log=lambda *_: None)
    trainer = results["examples_per_second"]
    report = {
        "model": "bert-base (110M), sequence classification, AdamW, float32",
        "devices": f"{jax.device_count()} x {jax.devices()[0].platform}",
        "steps": args.steps,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "bare_step_examples_per_second": round(bare, 3),
        "trainer_examples_per_second": round(trainer, 3),
        "overhead": round(1.0 - trainer / bare, 4),
        # The part of the overhead one checkpoint alone explains, at this run length.
        "checkpoint_seconds": round(checkpoint_seconds, 2),
        "checkpoint_share_of_trainer_time": round(checkpoint_seconds / (args.steps - 1) * trainer / args.batch_size, 4),
        "final_loss": round(float(np.asarray(results["train"]["loss"])), 4),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
