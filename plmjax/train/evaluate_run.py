"""Evaluate a run without training it: the workdir's best checkpoint (selected on the validation split), its
latest, or the starting parameters (zero-shot prompting: the template and verbalizer as they are)."""

import jax

from plmjax.train import checkpoint, partition, run_setup

CHECKPOINTS = ("best", "latest", "initial")


def evaluate_run(config, workdir: str, splits=("validation",), which: str = "best") -> dict:
    """{"step": the evaluated step (0: the starting parameters), split: metrics for each split}.

    which: "best" (the best checkpoint by the selection metric, else the latest), "latest", or "initial"
    (never reads a checkpoint). With no checkpoint in the workdir, "best" and "latest" evaluate the starting
    parameters too. A split is any labelled split of the task ("validation", LM-BFF's "test", ...)."""
    run = run_setup.prepare(config, workdir)
    try:
        state, frozen, step = restore(run, which)
        results = {"step": step}
        for split in splits:
            results[split] = run.source.evaluate(run.eval_step, state.trainable, frozen, run.mesh, split)
        return results
    finally:
        run.checkpoints.close()


def restored_params(config, workdir: str, which: str = "best"):
    """(the prepared run, its parameters merged into one host tree, the step) of a run's checkpoint."""
    run = run_setup.prepare(config, workdir)
    try:
        state, frozen, step = restore(run, which)
    finally:
        run.checkpoints.close()
    return run, jax.device_get(partition.merge(state.trainable, frozen)), step


def restore(run, which: str):
    """(state, frozen, step) of a prepared run: its best or latest checkpoint, or the starting parameters
    (which="initial", or no checkpoint in the workdir)."""
    if which not in CHECKPOINTS:
        raise ValueError(f"which={which!r}; choose one of {CHECKPOINTS}")
    step = None
    if which != "initial":
        step = (run.checkpoints.best_step() if which == "best" else None) or run.checkpoints.latest_step()
    if step is None:
        state, frozen = run.initial_state()
    else:
        meta = run.checkpoints.read_meta(step)
        checkpoint.check_compatible(run.checkpoints.directory, step, meta, run.meta)
        state, _ = run.checkpoints.restore(step, run.abstract_state)
        frozen = run.frozen_params()
    return state, frozen, int(jax.device_get(state.step))
