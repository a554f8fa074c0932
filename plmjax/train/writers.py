"""Run logs in the workdir: metrics.jsonl (one JSON object per line) and TensorBoard event files.

Only process 0 writes; every record carries its step and split ("train", "validation", ...). A run that
resumes from step S continues the logs of step S: records of later steps (written by the interrupted run and
about to be written again) move to metrics.superseded.jsonl, and TensorBoard hides its events after S, so the
logs hold one history with no duplicate rows, and nothing is deleted.
"""

import json
import os
import sys
import time

import jax


class MetricWriter:
    """Appends to the workdir's logs from `resume_step` on (None: a run from the start, step 0)."""

    def __init__(self, workdir: str, enabled: bool | None = None, resume_step: int | None = None):
        self.enabled = jax.process_index() == 0 if enabled is None else enabled
        self.jsonl_path = os.path.join(workdir, "metrics.jsonl")
        self._jsonl = None
        self._tensorboard = None
        if self.enabled:
            SummaryWriter = _summary_writer_class()
            os.makedirs(workdir, exist_ok=True)
            # A fresh start supersedes every record, step 0 ("before training") included.
            _supersede_records_after(self.jsonl_path, -1 if resume_step is None else resume_step)
            self._jsonl = open(self.jsonl_path, "a")  # noqa: SIM115 (open for the whole run; closed by close())
            self._tensorboard = SummaryWriter(
                os.path.join(workdir, "tensorboard"),
                flush_secs=10,
                purge_step=0 if resume_step is None else resume_step + 1,
            )

    def write(self, step: int, split: str, metrics: dict) -> None:
        if not self.enabled:
            return
        values = {name: float(value) for name, value in metrics.items()}
        record = {"step": int(step), "split": split, "time": round(time.time(), 3), **values}
        self._jsonl.write(json.dumps(record) + "\n")
        self._jsonl.flush()
        for name, value in values.items():
            self._tensorboard.add_scalar(f"{split}/{name}", value, int(step))

    def write_text(self, step: int, tag: str, text: str) -> None:
        if self.enabled:
            self._tensorboard.add_text(tag, f"```\n{text}\n```", int(step))

    def close(self) -> None:
        if self.enabled:
            self._jsonl.close()
            self._tensorboard.close()


def _supersede_records_after(jsonl_path: str, step: int) -> None:
    """Move the records of steps after `step` from jsonl_path to metrics.superseded.jsonl beside it."""
    if not os.path.exists(jsonl_path):
        return
    with open(jsonl_path) as f:
        lines = [line for line in f if line.strip()]
    kept = [line for line in lines if json.loads(line)["step"] <= step]
    if len(kept) == len(lines):
        return
    superseded = os.path.join(os.path.dirname(jsonl_path), "metrics.superseded.jsonl")
    with open(superseded, "a") as f:
        f.writelines(line for line in lines if json.loads(line)["step"] > step)
    # Written whole, then renamed over the old file: an interruption leaves one complete version.
    with open(jsonl_path + ".tmp", "w") as f:
        f.writelines(kept)
    os.replace(jsonl_path + ".tmp", jsonl_path)


def read_metrics(workdir: str, split: str | None = None) -> list[dict]:
    """The records of a run's metrics.jsonl (those of one split if given)."""
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f if line.strip()]
    return [r for r in records if split is None or r["split"] == split]


def _summary_writer_class():
    """tensorboardX's SummaryWriter, imported without torch where torch is not loaded yet.

    tensorboardX imports torch, if it is installed, only to accept torch tensors as values; plmjax logs
    Python floats, and importing torch costs 1.5 s of start-up on a 2-core CPU. Blocking the import for
    that moment leaves torch importable afterwards (the entry is removed again).
    """
    if "torch" in sys.modules or "tensorboardX" in sys.modules:
        from tensorboardX import SummaryWriter

        return SummaryWriter
    sys.modules["torch"] = None  # makes `import torch` raise ImportError, which tensorboardX catches
    try:
        from tensorboardX import SummaryWriter
    finally:
        del sys.modules["torch"]
    return SummaryWriter
