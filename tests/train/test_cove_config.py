"""configs/cove.py (CoVe's MT-LSTM, objective cove) at size=tiny on a synthetic reversible task (each target is its
source backwards): its loss falls, it trains on 8 virtual devices as on one, and resumed on 8 devices from the
1-device run's step-10 checkpoint it continues with the uninterrupted run's losses."""

import json
import os

import numpy as np
import pytest

from tests.train.runs import REPO, copy_cut_back, run_python, train_losses
from tests.train.test_pretrain_configs import write_corpus

CONFIG = os.path.join(REPO, "configs", "cove.py")
ARGS = ["--config.train.checkpoint_every=10", "--config.train.keep_checkpoints=10"]


def write_pairs(path: str) -> str:
    """Sentences of the generated pretraining corpus, each paired with its words reversed."""
    with open(write_corpus(path + ".txt")) as f:
        sentences = [s.strip() + "." for block in f.read().split("\n\n") for s in block.split(".") if s.strip()]
    with open(path, "w") as f:
        for sentence in sentences:
            words = sentence.split()
            f.write(json.dumps({"source": sentence, "target": " ".join(reversed(words))}) + "\n")
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cove")
    pairs = write_pairs(str(root / "pairs.jsonl"))
    args = [f"--config={CONFIG}:size=tiny,corpus={pairs}", *ARGS]
    workdirs = {devices: str(root / f"devices_{devices}") for devices in (1, 8)}
    for devices, workdir in workdirs.items():
        code = f"from plmjax.main import main\nmain({[f'--workdir={workdir}', *args]!r})\n"
        run_python(code, devices=devices, cache_dir=str(root / "cache"))
    return workdirs, args, str(root / "cache")


def test_cove_learns_and_trains_alike_on_one_and_eight_devices_and_resumes(runs, tmp_path):
    workdirs, args, cache = runs
    reference, losses = train_losses(workdirs[1]), train_losses(workdirs[8])
    steps = sorted(reference)
    assert steps == sorted(losses) == list(range(1, 31))
    first, last = np.mean([reference[s] for s in steps[:5]]), np.mean([reference[s] for s in steps[-5:]])
    assert last < 0.9 * first, (first, last)
    for step in steps:
        assert abs(losses[step] - reference[step]) <= 1e-4 * abs(reference[step]), step
    resumed = copy_cut_back(workdirs[1], str(tmp_path / "resumed"), last_step=10)
    run_python(f"from plmjax.main import main\nmain({[f'--workdir={resumed}', *args]!r})\n", devices=8, cache_dir=cache)
    resumed_losses = train_losses(resumed)
    assert sorted(resumed_losses) == list(range(11, 31))
    for step in resumed_losses:
        assert abs(resumed_losses[step] - reference[step]) <= 1e-4 * abs(reference[step]), step
