"""A run that freezes part of the model checkpoints only its trainable subtree plus a reference to its base,
and resumes from that to the same parameters; a different base is refused."""

import os
import shutil
import subprocess

import pytest

from plmjax.main import main
from plmjax.train.checkpoint import CheckpointMismatchError, RunCheckpoints
from tests.train.runs import REPO, SMOKE, assert_params_equal, flat_params, main_command, subprocess_env

HEAD_AND_POOLER = [
    "--config.peft.method=head_only",
    "--config.peft.extra_trainable=pooler/.*",
    "--config.train.num_steps=6",
    "--config.train.checkpoint_every=3",
    "--config.train.eval_every=6",
]


def test_partly_frozen_run_saves_its_trainable_subtree_and_resumes(tmp_path):
    env = subprocess_env(cache_dir=str(tmp_path / "xla_cache"))
    workdir = str(tmp_path / "run")
    subprocess.run(main_command(workdir, *HEAD_AND_POOLER), env=env, cwd=REPO, check=True, capture_output=True)
    final = flat_params(workdir)
    assert sorted(final) == ["classifier/out/bias", "classifier/out/kernel", "pooler/dense/bias", "pooler/dense/kernel"]

    checkpoints = RunCheckpoints(workdir, keep=2)
    meta = checkpoints.read_meta(6)
    checkpoints.close()
    assert meta["base"] == {"kind": "random", "seed": 0}
    assert meta["num_frozen"] > 10 * meta["num_trainable"]
    assert meta["params"]["encoder/layers_0/mlp/output/kernel"] == "frozen float32[64,32]"
    assert meta["params"]["pooler/dense/kernel"] == "trainable float32[32,32]"

    # Resume from step 3: the frozen rest is rebuilt from the base and training ends where it did.
    shutil.rmtree(os.path.join(workdir, "checkpoints", "6"))
    resumed = subprocess.run(main_command(workdir, *HEAD_AND_POOLER), env=env, cwd=REPO, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from step 3" in resumed.stdout
    assert_params_equal(flat_params(workdir), final)

    # Another seed is another base for the frozen parameters: refused, the checkpoints left alone.
    with pytest.raises(CheckpointMismatchError, match="frozen parameters come from base"):
        main([f"--config={SMOKE}", f"--workdir={workdir}", *HEAD_AND_POOLER, "--config.seed=1"])
    assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["3", "6"]
