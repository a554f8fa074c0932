"""Orbax checkpoints of a run: the train state, the data position and what the run was built from.

Each step directory holds three items: "state" (step, trainable parameters, optimizer state, RNG), "data"
(the batch iterator's position) and "meta" (the model, the base the frozen parameters come from, and
every parameter's shape and trainable/frozen label). Only the trainable subtree is saved; the frozen rest
is rebuilt from the base (an HF directory, checked by its weights' sha256, or a preset and seed). Saves are
asynchronous; the latest K checkpoints are kept, plus the best by the selection metric. Restores go into
abstract targets carrying the current shardings, so a run resumes on a different number of devices.
"""

import logging
import os

import jax
import numpy as np
import orbax.checkpoint as ocp
from flax import traverse_util
from orbax.checkpoint import checkpoint_managers

from plmjax.train.state import TrainState


class _ExpectedOrbaxWarnings(logging.Filter):
    """Orbax warns on every save without metrics once a best metric is tracked (only evaluation steps have
    metrics, by design) and when the array handler below replaces its default."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "did not provide metrics" not in message and "overriding jax.Array" not in message


logging.getLogger("absl").addFilter(_ExpectedOrbaxWarnings())

# Replicated arrays are written cooperatively by their replicas only when each replica's slice is large: the
# slicing compiles one small program per array shape, which for small arrays costs more than it saves.
ocp.type_handlers.register_type_handler(
    jax.Array, ocp.type_handlers.ArrayHandler(min_slice_bytes_for_replica_parallel=4 << 20), override=True
)


class CheckpointMismatchError(ValueError):
    """The checkpoint directory was written by a run of a different model."""


def describe_params(trainable, frozen) -> dict[str, str]:
    """{"path": "trainable float32[384,1536]"} for every parameter, as stored in the meta item."""
    described = {}
    for label, tree in (("trainable", trainable), ("frozen", frozen)):
        for path, leaf in traverse_util.flatten_dict(tree, sep="/").items():
            described[path] = f"{label} {leaf.dtype}[{','.join(map(str, leaf.shape))}]"
    return dict(sorted(described.items()))


def _base_identity(base: dict) -> tuple:
    """What makes two bases the same: the weights' content (wherever the directory now is), or the seed."""
    return (base.get("kind"), base.get("sha256") if base.get("kind") == "pretrained" else base.get("seed"))


def check_compatible(directory: str, step: int, saved: dict, current: dict) -> None:
    """Raise CheckpointMismatchError listing how the checkpoint's run differs from this one."""
    problems = []
    saved_shapes, current_shapes = saved["params"], current["params"]
    for path in sorted(set(saved_shapes) | set(current_shapes)):
        if path not in current_shapes:
            problems.append(f"{path}: in the checkpoint, not in this model")
        elif path not in saved_shapes:
            problems.append(f"{path}: in this model, not in the checkpoint")
        elif saved_shapes[path] != current_shapes[path]:
            problems.append(f"{path}: checkpoint {saved_shapes[path]} vs this model {current_shapes[path]}")
    if current["num_frozen"] and _base_identity(saved["base"]) != _base_identity(current["base"]):
        problems.append(f"frozen parameters come from base {current['base']}, the checkpoint's from {saved['base']}")
    if problems:
        shown = "\n  ".join(problems[:12]) + (f"\n  ... and {len(problems) - 12} more" if len(problems) > 12 else "")
        raise CheckpointMismatchError(
            f"the checkpoint at {directory} (step {step}) does not fit this run's model "
            f"(checkpoint: {saved['model'].get('summary')}; this run: {current['model'].get('summary')}). "
            f"Parameters that differ:\n  {shown}\n"
            "Resume with the config that wrote it, or use a new --workdir; the checkpoint is left as it is."
        )


def _state_tree(state: TrainState) -> dict:
    tree = {"step": state.step, "trainable": state.trainable, "opt_state": state.opt_state, "rng": state.rng}
    if state.carry is not None:
        # As a list of leaves: orbax stores plain containers; the state's own structure rebuilds it on restore.
        tree["carry"] = jax.tree.leaves(state.carry)
    return tree


class RunCheckpoints:
    """The checkpoints under <workdir>/checkpoints."""

    def __init__(self, workdir: str, keep: int, async_save: bool = True, best_metric: str | None = None):
        self.directory = os.path.abspath(os.path.join(workdir, "checkpoints"))
        self.best_metric = best_metric
        best_fn = (lambda metrics: metrics[best_metric]) if best_metric else None
        policies = [checkpoint_managers.LatestN(n=keep)]
        if best_metric:
            lower_is_better = best_metric.endswith("loss")
            policies.append(
                checkpoint_managers.BestN(
                    get_metric_fn=best_fn, reverse=lower_is_better, n=1, keep_checkpoints_without_metrics=False
                )
            )
        options = ocp.CheckpointManagerOptions(
            enable_async_checkpointing=async_save,
            best_fn=best_fn,
            best_mode="min" if best_metric and best_metric.endswith("loss") else "max",
            preservation_policy=checkpoint_managers.AnyPreservationPolicy(policies),
            create=True,
            # A save cut short (a killed process) leaves a temporary directory: remove it on the next start.
            cleanup_tmp_directories=True,
        )
        self.manager = ocp.CheckpointManager(self.directory, options=options, item_names=("state", "data", "meta"))

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def best_step(self) -> int | None:
        return self.manager.best_step() if self.best_metric else None

    def read_meta(self, step: int) -> dict:
        restored = self.manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))
        return restored["meta"]

    def save(self, state: TrainState, data_state, meta: dict, metrics: dict | None = None) -> None:
        step = int(jax.device_get(state.step))
        args = ocp.args.Composite(
            state=ocp.args.StandardSave(_state_tree(state)),
            data=ocp.args.JsonSave({"iterator": data_state}),
            meta=ocp.args.JsonSave(meta),
        )
        kept_metrics = {self.best_metric: float(metrics[self.best_metric])} if metrics and self.best_metric else None
        self.manager.save(step, args=args, metrics=kept_metrics, force=True)

    def restore(self, step: int, abstract_state: TrainState):
        """(state, data_state) of `step`, placed as `abstract_state`'s leaves (jax.ShapeDtypeStruct with
        shardings) say."""
        restored = self.manager.restore(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardRestore(_state_tree(abstract_state)), data=ocp.args.JsonRestore()
            ),
        )
        tree = restored["state"]
        carry = None
        if abstract_state.carry is not None:
            carry = jax.tree.unflatten(jax.tree.structure(abstract_state.carry), tree["carry"])
        state = TrainState(
            step=tree["step"], trainable=tree["trainable"], opt_state=tree["opt_state"], rng=tree["rng"], carry=carry
        )
        return state, restored["data"]["iterator"]

    def wait(self) -> None:
        self.manager.wait_until_finished()

    def close(self) -> None:
        self.manager.close()


def load_trainable(workdir: str, step: int | None = None):
    """The trainable parameters of a run's checkpoint (the latest if step is None) as host numpy arrays,
    whatever devices wrote it."""
    manager = ocp.CheckpointManager(
        os.path.abspath(os.path.join(workdir, "checkpoints")),
        options=ocp.CheckpointManagerOptions(read_only=True),
        item_handlers={"state": ocp.StandardCheckpointHandler()},
    )
    step = manager.latest_step() if step is None else step
    if step is None:
        raise FileNotFoundError(f"{workdir} has no checkpoints")
    metadata = manager.item_metadata(step)["state"]
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    target = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device), metadata)
    restored = manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(target)))
    manager.close()
    return jax.tree.map(np.asarray, restored["state"]["trainable"])
