"""The training loop: resume or start, step, log, evaluate, checkpoint, stop on a non-finite loss.

Metrics stay on the device between log points (no per-step host sync, so the host prepares the next batch
while the device computes); they are fetched and checked for NaN/inf at every log, evaluation and
checkpoint step, so a checkpoint is only written after every loss before it was seen to be finite.
"""

import itertools
import math
import time

import jax
import numpy as np

from plmjax.train import checkpoint, run_setup, sharding
from plmjax.train.progress import ProgressBar
from plmjax.train.writers import MetricWriter


class TrainingDivergedError(RuntimeError):
    """The loss (or gradient norm) became NaN or infinite."""


def _is_due(step: int, every: int, last: int) -> bool:
    return step == last or (every > 0 and step % every == 0)


def _summarise(fetched: list[dict], timed: list[dict], seconds: float) -> dict:
    """Means over the steps since the last log of the loss, each loss term and each metric (accuracies), the
    latest gradient norm, and the throughput of the `timed` steps (those run in `seconds`)."""
    examples = sum(float(m["examples"]) for m in timed)
    tokens = sum(float(m["tokens"]) for m in timed)
    summary = {
        name: float(np.mean([m[name] for m in fetched]))
        for name in fetched[0]
        if name not in ("grad_norm", "examples", "tokens")
    }
    summary["grad_norm"] = float(fetched[-1]["grad_norm"])
    if timed and seconds > 0:
        summary["examples_per_second"] = examples / seconds
        summary["tokens_per_second"] = tokens / seconds
    return summary


class _Trainer:
    def __init__(self, run: run_setup.Run, log=print):
        self.run, self.config = run, run.config
        self.is_main = jax.process_index() == 0
        self.log = log if self.is_main else (lambda *_: None)
        self.writer: MetricWriter | None = None  # opened once train() knows the step it starts from
        self.last_saved_step = None
        self.pending: list[tuple[int, dict]] = []
        self.results: dict = {}

    def evaluate(self, state, frozen, step: int, log: bool = True) -> dict | None:
        if not self.run.source.has_validation:
            return None
        metrics = self.run.evaluate(state.trainable, frozen)
        if not log:
            return metrics
        self.writer.write(step, "validation", metrics)
        # Pretraining may also estimate the training split's loss (nanoGPT's estimate_loss does both).
        train_metrics = self.run.evaluate(state.trainable, frozen, "train")
        if train_metrics is not None:
            self.writer.write(step, "train_eval", train_metrics)
        return metrics

    def check_finite(self) -> list[dict]:
        """Fetch the pending step metrics; raise TrainingDivergedError at the first non-finite loss."""
        fetched = jax.device_get([metrics for _, metrics in self.pending])
        for (step, _), metrics in zip(self.pending, fetched, strict=True):
            bad = {k: float(metrics[k]) for k in ("loss", "grad_norm") if not math.isfinite(float(metrics[k]))}
            if bad:
                where = self.run.checkpoints.directory
                kept = (
                    f"the last good checkpoint, step {self.last_saved_step}, is kept in {where}"
                    if self.last_saved_step is not None
                    else "no checkpoint had been written yet"
                )
                raise TrainingDivergedError(
                    f"training stopped: non-finite {', '.join(f'{k} = {v}' for k, v in bad.items())} at step {step}; "
                    f"{kept} (nothing after the divergence was saved). Lower optimizer.learning_rate, keep "
                    "optimizer.grad_clip_norm > 0, or check the data for extreme labels."
                )
        self.pending = []
        return fetched

    def save(self, state, data_state, eval_metrics) -> None:
        self.run.checkpoints.save(state, data_state, self.run.meta, metrics=eval_metrics)
        self.last_saved_step = int(jax.device_get(state.step))

    def train(self) -> dict:
        run, config = self.run, self.config
        self.log(run_setup.describe(run))
        train_batches = run.train_batches()
        # Global arrays, built lazily: train_batches' data position stays that of the batches taken so far.
        global_batches = (sharding.global_batch(run.mesh, local) for local in train_batches)
        latest = run.checkpoints.latest_step()
        self.writer = MetricWriter(run.workdir, resume_step=latest)
        if latest is None:
            self.writer.write_text(0, "run", run_setup.describe(run))
        if latest is not None:
            checkpoint.check_compatible(run.checkpoints.directory, latest, run.checkpoints.read_meta(latest), run.meta)
            state, data_state = run.checkpoints.restore(latest, run.abstract_state)
            train_batches.set_state(data_state)
            frozen = run.frozen_params()
            self.last_saved_step = latest
            self.log(f"resumed from step {latest} in {run.checkpoints.directory}")
        else:
            # The train step compiles for the first batch's shapes while the parameters initialise.
            first_batch = next(global_batches)
            compiled = run.compile_train_step_in_background(first_batch)
            state, frozen = run.initial_state()
            compiled.result()
            global_batches = itertools.chain([first_batch], global_batches)
        start_step = int(jax.device_get(state.step))

        if config.train.eval_before_training and start_step == 0:
            self.results["before"] = self.evaluate(state, frozen, 0)
            self.log(f"before training: {_format(self.results['before'])}")

        eval_every = config.train.eval_every or run.steps_per_epoch
        progress = ProgressBar(run.num_steps, enabled=self.is_main)
        # Throughput counts everything after the first (compiling) step except evaluation: data, logging and
        # checkpointing are part of training's cost.
        first_step_done = segment_start = time.perf_counter()
        timed_examples, eval_seconds, untimed_steps = 0.0, 0.0, 0
        eval_metrics, train_summary = None, {}
        for step in range(start_step + 1, run.num_steps + 1):
            state, metrics = run.train_step(state, frozen, next(global_batches))
            self.pending.append((step, metrics))
            log_now = _is_due(step, config.train.log_every, run.num_steps)
            eval_now = _is_due(step, eval_every, run.num_steps) and run.source.has_validation
            save_now = eval_now or _is_due(step, config.train.checkpoint_every, run.num_steps)
            if step == start_step + 1:
                jax.block_until_ready(metrics)
                first_step_done = segment_start = time.perf_counter()
                untimed_steps = 1
            if not (log_now or eval_now or save_now):
                continue
            fetched = self.check_finite()
            now = time.perf_counter()
            timed = fetched[untimed_steps:]
            train_summary = _summarise(fetched, timed, now - segment_start)
            train_summary["learning_rate"] = float(run.learning_rate(step - 1))
            self.writer.write(step, "train", train_summary)
            if log_now:
                pace = (now - segment_start) / max(len(timed), 1)
                progress.update(step, train_summary["loss"], train_summary.get("examples_per_second", 0.0), pace)
            timed_examples += sum(float(m["examples"]) for m in timed)
            segment_start, untimed_steps = now, 0
            step_eval = None
            if eval_now:
                step_eval = eval_metrics = self.evaluate(state, frozen, step)
                progress.message(f"step {step}: validation {_format(eval_metrics)}")
                spent = time.perf_counter() - now
                segment_start += spent
                eval_seconds += spent
            if save_now:
                self.save(state, train_batches.get_state(), step_eval)
        progress.close()
        run.checkpoints.wait()
        train_seconds = time.perf_counter() - first_step_done - eval_seconds
        if start_step == run.num_steps:  # a finished run resumed: evaluate what it ended with (logged already)
            eval_metrics = self.evaluate(state, frozen, start_step, log=False)

        self.results.update(
            trainable_params=run.meta["num_trainable"],
            total_params=run.meta["num_trainable"] + run.num_frozen,
            final_step=int(jax.device_get(state.step)),
            train=train_summary,
            examples_per_second=timed_examples / train_seconds if timed_examples and train_seconds > 0 else None,
            validation=eval_metrics,
            best_step=run.checkpoints.best_step(),
            state=state,
            frozen=frozen,
        )
        self.log(final_report(self.results, run))
        return self.results

    def close(self) -> None:
        self.run.checkpoints.wait()
        self.run.checkpoints.close()
        if self.writer is not None:
            self.writer.close()


def final_report(results: dict, run: run_setup.Run) -> str:
    """What a run achieved, in a few lines: validation metrics before and after, trainable share, speed."""
    lines = [f"done at step {results['final_step']}"]
    metric = run.selection_metric
    if results.get("validation") and metric:
        before = results.get("before")
        was = f" (before training: {before[metric]:.4f})" if before else ""
        lines.append(f"validation {metric}: {results['validation'][metric]:.4f}{was}")
        if results.get("best_step") is not None:
            lines.append(f"best checkpoint: step {results['best_step']} in {run.checkpoints.directory}")
    share = 100.0 * results["trainable_params"] / max(results["total_params"], 1)
    lines.append(f"trained {results['trainable_params']:,} of {results['total_params']:,} parameters ({share:.3g}%)")
    if results.get("examples_per_second"):
        lines.append(f"throughput: {results['examples_per_second']:,.1f} examples/s")
    lines.append(f"logs: {run.workdir}/metrics.jsonl; tensorboard --logdir {run.workdir}/tensorboard")
    return "\n".join(lines)


def _format(metrics: dict | None) -> str:
    if not metrics:
        return "(no validation split)"
    return ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k != "examples")


def train_and_evaluate(config, workdir: str, log=print) -> dict:
    """Train (resuming from the workdir's latest checkpoint if there is one) and evaluate.

    Returns the final step, the last train and validation metrics ("before" too with
    train.eval_before_training), the best checkpoint step, the training throughput, and the final state.
    """
    run = run_setup.prepare(config, workdir)
    run_setup.write_config(config, workdir)
    trainer = _Trainer(run, log)
    try:
        return trainer.train()
    finally:
        trainer.close()
