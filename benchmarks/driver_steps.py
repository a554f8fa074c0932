"""The steps the real-data drivers (transfer_matrix.py, multi_task_zero_shot.py) chain: a run, then its export,
each a subprocess whose output goes to a log file, each skipped by the caller when its result exists."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def call(command: list[str], log: str) -> None:
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "a") as f:
        code = subprocess.call(command, cwd=REPO, stdout=f, stderr=subprocess.STDOUT)
    if code:
        raise SystemExit(f"{' '.join(command)} failed (exit {code}); see {log}")


def train_and_export(spec: str, workdir: str, out: str, overrides=(), *, prompt: bool = False, which="best"):
    """python -m plmjax.main on `spec` into `workdir` (resuming), then its model exported to `out` (an HF
    directory; with prompt, the learned soft prompt as a .npy)."""
    log = os.path.join(workdir, "log.txt")
    call([sys.executable, "-m", "plmjax.main", f"--config={spec}", f"--workdir={workdir}", *overrides], log)
    export = [sys.executable, "-m", "plmjax.train.export_run", f"--config={spec}", f"--workdir={workdir}",
              f"--out={out}", f"--which={which}", *overrides, *(["--prompt"] if prompt else [])]  # fmt: skip
    call(export, log)
