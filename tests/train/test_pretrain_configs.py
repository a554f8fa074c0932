"""Every configs/pretrain/ config trains from its file at size=tiny on 8 virtual CPU devices (data parallel) on
a small generated corpus, and its loss falls; distillation's teacher stays bitwise unchanged and gets no
optimizer state. All runs share one child process (and a compilation cache) to keep this file quick."""

import json
import os

import numpy as np
import pytest

from plmjax.train.config import default_config
from plmjax.train.config_files import load_config
from tests.train.runs import REPO, copy_cut_back, run_python, train_losses

PRETRAIN = os.path.join(REPO, "configs", "pretrain")
SUBJECTS = ["the cat", "a dog", "my friend", "the old king", "a small bird", "the teacher", "her brother", "the ship"]
VERBS = ["sees", "likes", "follows", "finds", "helps", "remembers", "watches", "calls"]
OBJECTS = ["the river", "a red house", "the green field", "his horse", "the tall tower", "a quiet road", "the sea"]


def write_corpus(path: str, documents: int = 60, seed: int = 0) -> str:
    """Documents (blank-line separated) of simple, learnable sentences."""
    rng = np.random.default_rng(seed)
    blocks = []
    for _ in range(documents):
        sentences = []
        for _ in range(int(rng.integers(4, 9))):
            words = [rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS)]
            sentences.append(" ".join(words).capitalize() + ".")
        blocks.append(" ".join(sentences))
    with open(path, "w") as f:
        f.write("\n\n".join(blocks) + "\n")
    return path


# config argument -> extra overrides, for each objective's run.
RESUMED = "bert_mlm.py:size=tiny,masking=dynamic,nsp=false"
TRANSFORMER_XL = "transformer_xl.py:size=tiny,memory=16"
XLNET = "xlnet_plm.py:size=tiny"
XLNET_MEMORY = "xlnet_plm.py:size=tiny,memory=16"
ELMO = "elmo.py:size=tiny"
RUNS = {
    # Checkpointed at step 20 too: test_resume_restores_data_position resumes from there.
    RESUMED: ["--config.train.checkpoint_every=20", "--config.train.keep_checkpoints=3"],
    "bert_mlm.py:size=tiny,masking=static,nsp=true": [],
    "bert_mlm.py:size=tiny,masking=whole_word,nsp=false": [],
    "albert_sop.py:size=tiny": [],
    "gpt2_clm.py:size=tiny": [],
    "electra.py:size=tiny": [],
    "bart_denoise.py:size=tiny": [],
    "t5_span.py:size=tiny": [],
    "distilbert.py:size=tiny": [],
    "shakespeare_char.py:size=tiny": [],
    # Checkpointed at step 10: test_transformer_xl_resumes_with_its_memory resumes from there.
    TRANSFORMER_XL: ["--config.train.checkpoint_every=10", "--config.train.keep_checkpoints=10"],
    "transformer_xl.py:size=tiny,memory=16,words=true,adaptive=true": [],
    XLNET: ["--config.train.checkpoint_every=10", "--config.train.keep_checkpoints=10"],
    XLNET_MEMORY: ["--config.train.checkpoint_every=10", "--config.train.keep_checkpoints=10"],
    ELMO: ["--config.train.checkpoint_every=10", "--config.train.keep_checkpoints=10"],
}


def _name(config_arg: str) -> str:
    return config_arg.replace(".py:", "_").replace("size=tiny", "").replace(",", "_").replace("=", "-").strip("_")


def test_every_pretrain_config_loads_and_names_its_run_command():
    for name in sorted(os.listdir(PRETRAIN)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(PRETRAIN, name)) as f:
            assert f"python -m plmjax.main --config=configs/pretrain/{name}" in f.read(), name
        config = load_config(os.path.join(PRETRAIN, name) + ":size=tiny")
        assert config.is_locked and set(config.keys()) == set(default_config().keys()), name
        assert config.objective.name != "classification", name
    trained = {config_arg.split(":")[0] for config_arg in RUNS}
    assert trained == {name for name in os.listdir(PRETRAIN) if name.endswith(".py")}


CHILD = """
import jax, numpy as np
from flax import traverse_util
from plmjax.hf import load_tokenizer
from plmjax.main import main
from plmjax.assembly import objective as objective_setup
from plmjax.train.config_files import load_config
assert jax.device_count() == 8
for workdir, args in RUNS:
    results = main([f"--workdir={{workdir}}", *args])
    if "distilbert" in args[0]:
        # The teacher is the frozen partition: not in the optimizer state, bitwise equal to a fresh init.
        state, frozen = results["state"], results["frozen"]
        assert set(frozen) == {{"teacher"}} and set(state.trainable) == {{"student"}}, set(frozen)
        config = load_config(args[0].removeprefix("--config="))
        setup = objective_setup.build(config, vocab_size=len(load_tokenizer(workdir + "/tokenizer")))
        fresh = jax.jit(setup.objective.init)(jax.random.fold_in(jax.random.key(config.seed), 0))["teacher"]
        kept = traverse_util.flatten_dict(frozen["teacher"])
        for path, value in traverse_util.flatten_dict(fresh).items():
            assert np.array_equal(np.asarray(value), np.asarray(kept[path])), path
        moments = sum(leaf.size for leaf in jax.tree.leaves(state.opt_state) if leaf.ndim)
        student = sum(leaf.size for leaf in jax.tree.leaves(state.trainable))
        assert moments == 2 * student, (moments, student)
        print("DISTILLATION_OK")
"""


@pytest.fixture(scope="module")
def pretrain_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("pretrain")
    corpus = write_corpus(str(root / "corpus.txt"))
    runs = []
    for config_arg, extra in RUNS.items():
        corpus_arg = f",corpus={corpus}"
        args = [f"--config={os.path.join(PRETRAIN, config_arg)}{corpus_arg}"]
        runs.append((str(root / _name(config_arg)), [*args, *extra]))
    code = f"RUNS = {runs!r}\n" + CHILD.format()
    result = run_python(code, devices=8, cache_dir=str(root / "cache"), timeout=1800)
    return {config_arg: workdir for config_arg, (workdir, _) in zip(RUNS, runs, strict=True)}, result.stdout


@pytest.mark.parametrize("config_arg", list(RUNS))
def test_pretraining_loss_falls(pretrain_runs, config_arg):
    workdir = pretrain_runs[0][config_arg]
    losses = train_losses(workdir)
    steps = sorted(losses)
    assert steps == list(range(1, len(steps) + 1)) and len(steps) >= 30
    first, last = np.mean([losses[s] for s in steps[:5]]), np.mean([losses[s] for s in steps[-5:]])
    assert last < 0.9 * first, (first, last)
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        validation = [json.loads(line) for line in f if '"validation"' in line]
    assert validation and np.isfinite(validation[-1]["loss"])


def test_resume_restores_data_position(pretrain_runs, tmp_path):
    """Dynamic masking resumed from step 20 draws the batches and masks of the uninterrupted run: same losses."""
    workdir = pretrain_runs[0][RESUMED]
    resumed = copy_cut_back(workdir, str(tmp_path / "resumed"), last_step=20)
    corpus = os.path.join(os.path.dirname(workdir), "corpus.txt")
    args = [f"--workdir={resumed}", f"--config={os.path.join(PRETRAIN, RESUMED)},corpus={corpus}", *RUNS[RESUMED]]
    code = f"from plmjax.main import main\nmain({args!r})\n"
    run_python(code, devices=8, cache_dir=os.path.join(os.path.dirname(workdir), "cache"))
    reference, losses = train_losses(workdir), train_losses(resumed)
    assert sorted(losses) == list(range(21, 41))
    for step in losses:
        assert abs(losses[step] - reference[step]) <= 1e-5 * abs(reference[step]), step


def test_distillation_teacher_is_frozen(pretrain_runs):
    assert "DISTILLATION_OK" in pretrain_runs[1]


@pytest.mark.parametrize("config_arg", [TRANSFORMER_XL, XLNET, XLNET_MEMORY, ELMO])
def test_new_architectures_train_alike_on_one_and_eight_devices_and_resume(pretrain_runs, config_arg, tmp_path):
    """Transformer-XL, XLNet (with and without memory) and ELMo on one device train as on 8 (data parallel);
    resumed on 8 devices from the 1-device run's step-10 checkpoint they continue with the uninterrupted run's
    losses. A checkpoint with a segment memory holds it (every slot filled), which shapes those losses."""
    import orbax.checkpoint as ocp

    eight = pretrain_runs[0][config_arg]
    corpus = os.path.join(os.path.dirname(eight), "corpus.txt")
    args = [f"--config={os.path.join(PRETRAIN, config_arg)},corpus={corpus}", *RUNS[config_arg]]
    single = str(tmp_path / "single")
    cache = os.path.join(os.path.dirname(eight), "cache")
    run_python(f"from plmjax.main import main\nmain({[f'--workdir={single}', *args]!r})\n", devices=1, cache_dir=cache)
    reference, losses = train_losses(single), train_losses(eight)
    assert sorted(losses) == sorted(reference) and len(reference) >= 30
    for step in reference:
        assert abs(losses[step] - reference[step]) <= 1e-4 * abs(reference[step]), step

    if config_arg in (TRANSFORMER_XL, XLNET_MEMORY):
        options = ocp.CheckpointManagerOptions(read_only=True)
        with ocp.CheckpointManager(os.path.join(single, "checkpoints"), options=options) as manager:
            state = manager.restore(10, args=ocp.args.Composite(state=ocp.args.StandardRestore()))["state"]
        *states, mask = [np.asarray(leaf) for leaf in state["carry"]]
        assert len(states) == 2 and states[0].shape[1:] == (16, 32) and mask.shape == states[0].shape[:2]
        assert mask.all() and all(np.abs(s).max() > 0 for s in states)

    resumed = copy_cut_back(single, str(tmp_path / "resumed"), last_step=10)
    run_python(f"from plmjax.main import main\nmain({[f'--workdir={resumed}', *args]!r})\n", devices=8, cache_dir=cache)
    resumed_losses = train_losses(resumed)
    assert sorted(resumed_losses) == [step for step in sorted(reference) if step > 10]
    for step in resumed_losses:
        assert abs(resumed_losses[step] - reference[step]) <= 1e-4 * abs(reference[step]), step
