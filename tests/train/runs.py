"""Helpers for tests that run training: the smoke config in this process or in subprocesses with their own
device counts, and the numbers a run leaves in its workdir."""

import os
import shutil
import subprocess
import sys

import numpy as np

from plmjax.train.checkpoint import load_trainable
from plmjax.train.writers import read_metrics

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMOKE = os.path.join(REPO, "configs", "smoke.py")
# Every step's loss is logged, so curves compare step by step.
PER_STEP = ["--config.train.log_every=1"]


def subprocess_env(devices: int = 1, cache_dir: str | None = None) -> dict:
    """The environment of a child run: CPU, `devices` virtual devices, exact matmuls, and optionally a shared
    compilation cache (the same program compiles once across child processes).

    Children skip LLVM's optimisations (a third of the compile time of a tiny model); runs compared with each
    other all run as children, so they share the flags.
    """
    env = dict(os.environ)
    env.update(JAX_PLATFORMS="cpu", JAX_DEFAULT_MATMUL_PRECISION="highest", PYTHONPATH=REPO)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices} --xla_backend_optimization_level=0"
    if cache_dir:
        env.update(JAX_COMPILATION_CACHE_DIR=cache_dir, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    return env


def main_command(workdir: str, *overrides: str, config: str = SMOKE) -> list[str]:
    return [sys.executable, "-m", "plmjax.main", f"--config={config}", f"--workdir={workdir}", *overrides]


def run_python(code: str, devices: int, timeout: float = 900, cache_dir: str | None = None):
    """Run `code` in a child Python with `devices` CPU devices; fail the test with its output if it fails."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=subprocess_env(devices, cache_dir),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"child run failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result


def train_losses(workdir: str) -> dict[int, float]:
    return {record["step"]: record["loss"] for record in read_metrics(workdir, "train")}


def flat_params(workdir: str, step: int | None = None) -> dict[str, np.ndarray]:
    from flax import traverse_util

    return traverse_util.flatten_dict(load_trainable(workdir, step), sep="/")


def assert_params_equal(a: dict, b: dict, rtol: float = 0.0, atol: float = 0.0) -> None:
    assert a.keys() == b.keys()
    for path in a:
        if rtol == 0 and atol == 0:
            assert np.array_equal(a[path], b[path]), f"{path} differs"
        else:
            np.testing.assert_allclose(a[path], b[path], rtol=rtol, atol=atol, err_msg=path)


def copy_cut_back(workdir: str, target: str, last_step: int) -> str:
    """A copy of a finished run's workdir without its checkpoints after `last_step` and its metrics, so that
    `main` on it resumes from `last_step`."""
    shutil.copytree(workdir, target)
    for step_dir in os.listdir(os.path.join(target, "checkpoints")):
        if step_dir.isdigit() and int(step_dir) > last_step:
            shutil.rmtree(os.path.join(target, "checkpoints", step_dir))
    os.remove(os.path.join(target, "metrics.jsonl"))
    return target
