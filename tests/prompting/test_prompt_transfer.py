"""SPoT's pieces: task embeddings are the prompts' token means, sources rank by cosine similarity, the rank
correlation is scipy's Spearman (ties included); a prompt-tuned run's learned prompt, saved, starts another
run's prompt exactly."""

import os

import numpy as np
import pytest
from scipy import stats

from plmjax.prompting.prompt_transfer import learned_prompt, rank_sources, spearman, task_embedding
from plmjax.train import run_setup
from plmjax.train.evaluate_run import restore
from plmjax.train.export_run import main as export_main
from plmjax.train.export_run import run_prompt
from plmjax.train.few_shot import seed_config
from plmjax.train.loop import train_and_evaluate
from tests.lmbff_like import make as make_lmbff_like

CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "lmbff.py")


def test_task_embeddings_retrieval_and_rank_correlation():
    prompt = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_allclose(task_embedding(prompt), [4, 5, 6, 7])
    ranked = rank_sources([1.0, 0.0], {"a": [0.0, 1.0], "b": [2.0, 0.1], "c": [1.0, 1.0], "d": [-1.0, 0.0]})
    assert [name for name, _ in ranked] == ["b", "c", "a", "d"]
    assert ranked[1][1] == pytest.approx(np.sqrt(0.5))
    x, y = [0.3, 0.1, 0.1, 0.9, 0.5], [2.0, 1.0, 3.0, 5.0, 5.0]
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    with pytest.raises(ValueError, match="not all equal"):
        spearman([1, 1], [1, 2])


def test_a_learned_prompt_starts_another_runs_prompt(tmp_path):
    model_dir, data = make_lmbff_like(str(tmp_path / "setting"))
    overrides = {"data.length_buckets": "()", "data.max_length": "32", "peft.options.length": "4"}
    spec = f"{CONFIG}:task=mr,model={model_dir},data={data},steps=4,method=prompt_tuning"
    source = seed_config(spec, 13, overrides)
    train_and_evaluate(source, str(tmp_path / "source"), log=lambda *_: None)
    prompt = run_prompt(source, str(tmp_path / "source"))
    assert prompt.shape == (4, 32)
    # The command line writes the same prompt (the run's config, with the same overrides).
    export_main([f"--config={spec}", f"--workdir={tmp_path / 'source'}", f"--out={tmp_path / 'prompt.npy'}",
                 "--prompt", *(f"--config.{k}={v}" for k, v in overrides.items())])  # fmt: skip
    np.testing.assert_array_equal(np.load(tmp_path / "prompt.npy"), prompt)

    target = seed_config(
        spec, 13, {**overrides, "peft.options.init": "saved", "peft.options.saved": str(tmp_path / "prompt.npy")}
    )
    run = run_setup.prepare(target, str(tmp_path / "target"))
    state, _, _ = restore(run, "initial")
    run.checkpoints.close()
    np.testing.assert_array_equal(learned_prompt(state.trainable), prompt)
    fresh = run_setup.prepare(source, str(tmp_path / "fresh"))
    initial, _, _ = restore(fresh, "initial")
    fresh.checkpoints.close()
    assert not np.allclose(learned_prompt(initial.trainable), prompt)  # training moved it: the copy is the learned one
