"""The command line: config loading and overrides, and a run killed with SIGKILL that resumes to the same
parameters, bit for bit, as a run never interrupted."""

import json
import os
import signal
import subprocess
import time

import pytest

from plmjax.main import main
from tests.train.runs import REPO, SMOKE, assert_params_equal, flat_params, main_command, subprocess_env, train_losses

STEPS = 300
RUN = [f"--config.train.num_steps={STEPS}", "--config.train.checkpoint_every=10", "--config.train.eval_every=100"]


def test_unknown_config_key_names_the_valid_keys(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([f"--config={SMOKE}", f"--workdir={tmp_path}", "--config.train.num_stepz=3"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "unknown config key 'train.num_stepz'" in error
    assert "num_steps" in error and "checkpoint_every" in error
    assert not os.listdir(tmp_path)  # nothing written


def test_unknown_top_level_key_and_bad_value(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([f"--config={SMOKE}", f"--workdir={tmp_path}", "--config.optimiser.name=sgd"])
    assert "valid keys at the top level: data, distributed, mesh, model, objective, optimizer, peft, seed, train" in (
        capsys.readouterr().err
    )
    with pytest.raises(SystemExit):
        main([f"--config={SMOKE}", f"--workdir={tmp_path}", "--config.train.num_steps=many"])
    assert "error: --config.train.num_steps=many: expected int" in capsys.readouterr().err


def test_help_shows_the_override_syntax_and_lists_every_config(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--config.<a.b>=<value>" in text and "--config=configs/glue.py:task=glue/rte" in text
    configs = os.path.join(REPO, "configs")
    for directory, _, files in os.walk(configs):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                with open(path) as f:
                    summary = f.read().split('"""')[1].splitlines()[0]
                assert f"  {os.path.relpath(path, configs):<28} {summary}" in text, path


def _committed_steps(workdir: str) -> list[int]:
    directory = os.path.join(workdir, "checkpoints")
    names = os.listdir(directory) if os.path.isdir(directory) else []
    return sorted(int(name) for name in names if name.isdigit())


def test_sigkill_then_resume_matches_an_uninterrupted_run_bitwise(tmp_path):
    env = subprocess_env(devices=1, cache_dir=str(tmp_path / "xla_cache"))
    straight, killed = str(tmp_path / "straight"), str(tmp_path / "killed")
    subprocess.run(main_command(straight, *RUN), env=env, cwd=REPO, check=True, capture_output=True, timeout=600)

    process = subprocess.Popen(
        main_command(killed, *RUN), env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 240
    while not [s for s in _committed_steps(killed) if s >= 20] and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    steps_at_kill = _committed_steps(killed)
    assert process.returncode == -signal.SIGKILL
    assert steps_at_kill and steps_at_kill[-1] < STEPS, f"the run ended before it could be killed: {steps_at_kill}"

    resumed = subprocess.run(main_command(killed, *RUN), env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resumed from step {steps_at_kill[-1]}" in resumed.stdout

    assert _committed_steps(killed)[-1] == STEPS
    assert_params_equal(flat_params(killed), flat_params(straight))  # bitwise
    straight_losses, killed_losses = train_losses(straight), train_losses(killed)
    for step in range(steps_at_kill[-1] + 1, STEPS + 1):
        if step in straight_losses:
            assert killed_losses[step] == straight_losses[step], step
    with open(os.path.join(killed, "config.json")) as f:
        assert json.load(f)["train"]["num_steps"] == STEPS
