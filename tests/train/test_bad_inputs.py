"""Bad input stops a run with a clear error and loses no checkpoint: a malformed data row, an empty dataset,
a checkpoint directory from a different model, a NaN loss. (An unknown config key: tests/test_main.py.)"""

import hashlib
import json
import os
import shutil
import subprocess
import time

import pytest

from plmjax import data
from plmjax.main import main
from plmjax.train.checkpoint import CheckpointMismatchError
from tests.train.runs import REPO, SMOKE, flat_params, main_command, subprocess_env

RTE_HEADER = "index\tsentence1\tsentence2\tlabel\n"
LABELS = ("not_entailment", "entailment")
RTE_ROWS = [f"{i}\tA cat sat on mat {i}.\tA cat sat.\t{LABELS[i % 2]}\n" for i in range(40)]


@pytest.fixture(scope="module")
def trained_workdir(tmp_path_factory):
    """A 10-step smoke run with checkpoints at steps 5 and 10."""
    workdir = str(tmp_path_factory.mktemp("trained") / "run")
    command = main_command(workdir, "--config.train.num_steps=10", "--config.train.checkpoint_every=5")
    subprocess.run(command, env=subprocess_env(), cwd=REPO, check=True, capture_output=True, timeout=600)
    return workdir


def _fingerprint(workdir: str) -> dict[str, str]:
    """Every file under the workdir's checkpoints with its content hash."""
    root = os.path.join(workdir, "checkpoints")
    found = {}
    for directory, _, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return found


def _copy(workdir: str, tmp_path) -> tuple[str, dict]:
    copy = str(tmp_path / "run")
    shutil.copytree(workdir, copy)
    return copy, _fingerprint(copy)


def _rte_dir(tmp_path, train_rows, dev_rows=RTE_ROWS[:8]) -> str:
    directory = tmp_path / "rte"
    directory.mkdir()
    (directory / "train.tsv").write_text(RTE_HEADER + "".join(train_rows))
    (directory / "dev.tsv").write_text(RTE_HEADER + "".join(dev_rows))
    return str(directory)


def _rte_args(data_dir: str) -> list[str]:
    from plmjax.hf.bundled import minilm_path

    return [
        "--config.data.task=glue/rte",
        f"--config.data.data_dir={data_dir}",
        f"--config.data.tokenizer={minilm_path()}",
        "--config.model.config_overrides.vocab_size=30522",
    ]


def test_malformed_data_row_names_file_and_line(trained_workdir, tmp_path):
    workdir, before = _copy(trained_workdir, tmp_path)
    rows = RTE_ROWS[:20] + ["20\tonly two fields\n"] + RTE_ROWS[21:]
    data_dir = _rte_dir(tmp_path, rows)
    with pytest.raises(data.MalformedRowError) as error:
        main([f"--config={SMOKE}", f"--workdir={workdir}", *_rte_args(data_dir)])
    assert error.value.path.endswith("train.tsv") and error.value.line == 22  # the header is line 1
    assert _fingerprint(workdir) == before


def test_missing_data_dir_is_one_clear_error_at_once_and_creates_nothing(tmp_path):
    missing, workdir = str(tmp_path / "data" / "RTE"), str(tmp_path / "run")
    started = time.perf_counter()
    with pytest.raises(data.DataError) as error:
        main([f"--config={SMOKE}", f"--workdir={workdir}", *_rte_args(missing)])
    assert time.perf_counter() - started < 1.0
    assert str(error.value).startswith(f"data_dir {missing!r} does not exist: task glue/rte reads dev.tsv, train.tsv")
    assert os.listdir(tmp_path) == []  # neither the data directory nor the workdir was made
    # A directory without the task's files is the same kind of error, and stays as it was.
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "notes.txt").write_text("not GLUE")
    with pytest.raises(data.DataError, match=r"holds none of the files .* it holds notes.txt"):
        main([f"--config={SMOKE}", f"--workdir={workdir}", *_rte_args(str(tmp_path / "elsewhere"))])
    assert sorted(os.listdir(tmp_path)) == ["elsewhere"] and os.listdir(tmp_path / "elsewhere") == ["notes.txt"]


def test_missing_data_dir_on_the_command_line_is_one_line(tmp_path):
    command = main_command(str(tmp_path / "run"), *_rte_args(str(tmp_path / "nowhere")))
    result = subprocess.run(command, env=subprocess_env(), cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"error: DataError: data_dir '{tmp_path / 'nowhere'}' does not exist" in result.stderr
    assert not os.path.exists(tmp_path / "run") and not os.path.exists(tmp_path / "nowhere")


def test_empty_dataset_is_an_error(trained_workdir, tmp_path):
    workdir, before = _copy(trained_workdir, tmp_path)
    with pytest.raises(data.EmptyDatasetError, match="train"):
        main([f"--config={SMOKE}", f"--workdir={workdir}", *_rte_args(_rte_dir(tmp_path, []))])
    with pytest.raises(data.EmptyDatasetError, match="fewer than one batch of 16"):
        main([f"--config={SMOKE}", f"--workdir={workdir}", "--config.data.max_train_examples=10"])
    assert _fingerprint(workdir) == before


def test_checkpoint_from_a_different_model(trained_workdir, tmp_path):
    workdir, before = _copy(trained_workdir, tmp_path)
    with pytest.raises(CheckpointMismatchError) as error:
        main([f"--config={SMOKE}", f"--workdir={workdir}", "--config.model.config_overrides.hidden_size=48"])
    message = str(error.value)
    assert "does not fit this run's model" in message
    assert "encoder/layers_0/attention/query/kernel: checkpoint trainable float32[32,32] vs this model" in message
    assert "float32[48,48]" in message and "the checkpoint is left as it is" in message
    # A different set of trainable parameters is a different run too.
    now_frozen = r"embeddings/norm/bias: checkpoint trainable float32\[32\] vs this model frozen"
    with pytest.raises(CheckpointMismatchError, match=now_frozen):
        main([f"--config={SMOKE}", f"--workdir={workdir}", "--config.peft.method=head_only"])
    assert _fingerprint(workdir) == before


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(trained_workdir, tmp_path):
    workdir, before = _copy(trained_workdir, tmp_path)
    good = flat_params(workdir)
    # Resume at step 10 with an absurd learning rate: the next update overflows and the loss becomes NaN.
    command = main_command(
        workdir,
        "--config.train.num_steps=20",
        "--config.train.checkpoint_every=1",
        "--config.optimizer.learning_rate=1e30",
    )
    result = subprocess.run(command, env=subprocess_env(), cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1
    assert "error: TrainingDivergedError: training stopped: non-finite loss = nan" in result.stderr
    assert "at step 12" in result.stderr and "Traceback" not in result.stderr
    assert "the last good checkpoint, step 11" in result.stderr
    steps = sorted(int(s) for s in os.listdir(os.path.join(workdir, "checkpoints")) if s.isdigit())
    assert steps[-1] == 11  # step 11's loss was finite; nothing at or after step 12 was saved
    # Step 5 made way for step 11 (two are kept); step 10 is untouched.
    assert {k: v for k, v in _fingerprint(workdir).items() if k.startswith("10/")} == {
        k: v for k, v in before.items() if k.startswith("10/")
    }
    assert all(abs(value).max() < 1e30 for value in flat_params(workdir, 10).values())
    assert flat_params(workdir, 10).keys() == good.keys()


def _metric_lines(workdir: str, name: str = "metrics.jsonl") -> list[str]:
    path = os.path.join(workdir, name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return f.readlines()


def test_rerunning_a_finished_run_writes_no_duplicate_rows(trained_workdir, tmp_path):
    workdir, _ = _copy(trained_workdir, tmp_path)
    before = _metric_lines(workdir)
    results = main([f"--config={SMOKE}", f"--workdir={workdir}", "--config.train.num_steps=10"])
    assert results["final_step"] == 10 and results["validation"]["examples"] == 64  # still evaluated...
    assert _metric_lines(workdir) == before  # ...but not logged twice
    assert _metric_lines(workdir, "metrics.superseded.jsonl") == []


def test_resuming_moves_the_rows_it_will_rewrite_aside(trained_workdir, tmp_path):
    """Resumed from step 5, the run logs steps 6-10 again: the old rows of those steps move to
    metrics.superseded.jsonl, so metrics.jsonl holds each (step, split) once."""
    workdir, _ = _copy(trained_workdir, tmp_path)
    old_rows = _metric_lines(workdir)
    shutil.rmtree(os.path.join(workdir, "checkpoints", "10"))
    main([f"--config={SMOKE}", f"--workdir={workdir}", "--config.train.num_steps=10"])
    records = [json.loads(line) for line in _metric_lines(workdir)]
    assert sorted((r["step"], r["split"]) for r in records) == [(5, "train"), (10, "train"), (10, "validation")]
    assert _metric_lines(workdir)[0] == old_rows[0]  # step 5's row is the original one
    assert _metric_lines(workdir, "metrics.superseded.jsonl") == old_rows[1:]


def test_evaluating_a_run_with_another_config_leaves_its_config_json(trained_workdir, tmp_path):
    """config.json says what the run trained with: --evaluate under an override scores the checkpoint and
    rewrites nothing of the run."""
    workdir, before = _copy(trained_workdir, tmp_path)
    with open(os.path.join(workdir, "config.json")) as f:
        trained_config = f.read()
    results = main([f"--config={SMOKE}", f"--workdir={workdir}", "--evaluate=best", "--config.data.eval_batch_size=8"])
    assert results["step"] == 10 and 0.0 <= results["validation"]["accuracy"] <= 1.0
    with open(os.path.join(workdir, "config.json")) as f:
        assert f.read() == trained_config
    assert _fingerprint(workdir) == before


def test_run_leaves_its_config_metrics_and_tensorboard_events(trained_workdir):
    """(Not bad input: the same 10-step run's logs.)"""
    from plmjax.train.writers import read_metrics

    with open(os.path.join(trained_workdir, "config.json")) as f:
        config = json.load(f)
    assert config["train"]["num_steps"] == 10 and config["model"]["config_overrides"]["hidden_size"] == 32
    train = read_metrics(trained_workdir, "train")
    assert [r["step"] for r in train] == [5, 10]
    assert all(r["loss"] > 0 and r["examples_per_second"] > 0 and 0 <= r["accuracy"] <= 1 for r in train)
    # Warmup of 2 steps to 1e-3, then linear decay to 0 at step 10: step 5 ran at 1e-3 * (1 - 2/8).
    assert train[0]["learning_rate"] == pytest.approx(1e-3 * 6 / 8, rel=1e-5)
    validation = read_metrics(trained_workdir, "validation")
    assert [r["step"] for r in validation] == [10] and validation[0]["examples"] == 64
    (events,) = os.listdir(os.path.join(trained_workdir, "tensorboard"))
    with open(os.path.join(trained_workdir, "tensorboard", events), "rb") as f:
        content = f.read()
    for tag in (b"train/loss", b"train/examples_per_second", b"validation/accuracy"):
        assert tag in content
