"""The prompt objective in the trainer, through the few-shot runner (configs/lmbff.py, plmjax.train.few_shot), on
a tiny random BERT masked LM and LM-BFF-style files: zero-shot scores equal a direct prompt_logits evaluation,
training selects the checkpoint best on dev, soft prompts in front of the input read the right mask position,
and bad prompts are clear errors."""

import json
import os

import jax
import numpy as np
import pytest
from flax import traverse_util

import plmjax
from plmjax.in_context.calibration import CONTENT_FREE_INPUTS, calibrate, label_probabilities
from plmjax.prompting import Field, ManualVerbalizer, Mask, PromptError, Soft, Template, Text, collate, prompt_logits
from plmjax.prompting.objective import PromptClassification
from plmjax.prompting.presets import prompt_for
from plmjax.train import few_shot
from plmjax.train.loop import train_and_evaluate
from tests.lmbff_like import make as make_lmbff_like
from tests.train.runs import copy_cut_back

CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "lmbff.py")


@pytest.fixture(scope="module")
def lmbff_like(tmp_path_factory):
    """(model dir, data root): a tiny BERT masked LM, and data/mr/16-<seed>/{train,dev}.csv plus data/mr/test.csv
    for seeds 13 and 21 (tests/lmbff_like.py)."""
    return make_lmbff_like(str(tmp_path_factory.mktemp("lmbff")), seeds=(13, 21))


def _read(path) -> str:
    with open(path) as f:
        return f.read()


def _run(lmbff_like, workdir, extra_arg="", *flags):
    model_dir, data = lmbff_like
    arg = f"task=mr,model={model_dir},data={data}{extra_arg}"
    return few_shot.main([f"--config={CONFIG}:{arg}", f"--workdir={workdir}", "--seeds=13,21", *flags,
                          "--config.data.length_buckets=()", "--config.data.max_length=32"])  # fmt: skip


def test_zero_shot_scores_equal_a_direct_prompt_logits_evaluation(lmbff_like, tmp_path):
    out = _run(lmbff_like, str(tmp_path), ",method=prompt", "--zero-shot", "--calibrate")
    model, params = plmjax.from_pretrained(lmbff_like[0], head="mlm")
    tokenizer = plmjax.load_tokenizer(lmbff_like[0])
    template, words = prompt_for("lmbff/mr")
    lines = _read(os.path.join(lmbff_like[1], "mr", "test.csv")).split("\n")[:-1]
    examples = [{"text_a": line.split(",", 1)[1]} for line in lines]
    labels = np.asarray([int(line[0]) for line in lines])
    batch = collate([template.encode(e, tokenizer, 32) for e in examples], tokenizer.pad_token_id)
    logits = prompt_logits(model, params, batch, ManualVerbalizer(words, tokenizer))
    expected = float(np.mean(np.argmax(logits, -1) == labels))
    for row in out["rows"]:
        assert row["step"] == 0
        np.testing.assert_allclose(row["test"]["accuracy"], expected, rtol=1e-6)
        assert row["majority"] == 0.5
    rows = [json.loads(line) for line in _read(tmp_path / "metrics.jsonl").splitlines()]
    assert [r["seed"] for r in rows] == [13, 21]
    assert f"**{100 * expected:.1f} (0.0)**" in _read(tmp_path / "results.md")

    # Contextual calibration: the prior is the content-free prompts' mean class distribution.
    free = collate([template.encode({"text_a": t}, tokenizer, 32) for t in CONTENT_FREE_INPUTS], tokenizer.pad_token_id)
    prior = label_probabilities(prompt_logits(model, params, free, ManualVerbalizer(words, tokenizer))).mean(0)
    calibrated = float(np.mean(calibrate(logits, prior / prior.sum()).argmax(-1) == labels))
    for row in out["rows"]:
        np.testing.assert_allclose(row["calibrated"]["prior"], prior, rtol=1e-4)
        assert row["calibrated"]["accuracy"] == expected and row["calibrated"]["calibrated_accuracy"] == calibrated
    assert f"contextually calibrated test accuracy: {100 * calibrated:.1f} (0.0)" in _read(tmp_path / "results.md")


def test_training_keeps_the_checkpoint_best_on_dev_and_reports_mean_and_std(lmbff_like, tmp_path):
    out = _run(lmbff_like, str(tmp_path), ",method=prompt,steps=24,learning_rate=0.003")
    for row in out["rows"]:
        logged = [json.loads(line) for line in _read(tmp_path / f"seed-{row['seed']}" / "metrics.jsonl").splitlines()]
        dev = {r["step"]: r["accuracy"] for r in logged if r.get("split") == "validation" and "accuracy" in r}
        assert len(dev) >= 4 and row["validation"]["accuracy"] == max(dev.values())
        assert dev[row["step"]] == max(dev.values())
    values = [100 * row["test"]["accuracy"] for row in out["rows"]]
    assert out["summary"]["mean"] == pytest.approx(np.mean(values)) and out["summary"]["std"] == pytest.approx(
        np.std(values)
    )
    assert max(values) > 60.0  # the planted sentiment words are learnable in 24 steps


def test_a_soft_prompt_in_front_of_the_input_moves_the_mask_it_reads(masked_lm):
    _, model, params, tokenizer = masked_lm("bert")
    adapted, adapted_params, _ = plmjax.peft.apply("prompt", model, params, length=3, rng=jax.random.key(0))
    template, _ = prompt_for("lmbff/mr")
    verbalizer = ManualVerbalizer([["terrible"], ["great"]], tokenizer)
    prompts = [template.encode({"text_a": t}, tokenizer, 16) for t in ("a fine day", "the plot was slow .")]
    batch = collate(prompts, tokenizer.pad_token_id, labels=[1, 0])
    scores, _ = PromptClassification(adapted, verbalizer).scores(adapted_params, batch)
    full = adapted.apply({"params": adapted_params}, batch["input_ids"], attention_mask=batch["attention_mask"],
                         token_type_ids=batch["token_type_ids"]).logits  # fmt: skip
    at_mask = np.asarray(full)[np.arange(2), batch["mask_positions"] + 3][:, verbalizer.word_ids]
    np.testing.assert_allclose(scores, at_mask, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "override, message",
    [
        ("--config.objective.prompt.label_words=[['bad']]", "label_words has 1 entries but task lmbff/mr has 2"),
        ("--config.objective.prompt.label_words=[['bad'],['zzqx']]", "label word 'zzqx' is not one token"),
        ("--config.objective.prompt.template=lmbff/rte", "fields ['text_b'] that task lmbff/mr lacks"),
        ("--config.objective.prompt.verbalizer=cosine", "verbalizers: ['manual', 'prototypical', 'soft']"),
    ],
)
def test_bad_prompts_are_errors_that_name_the_culprit(lmbff_like, tmp_path, override, message):
    with pytest.raises(PromptError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _run(lmbff_like, str(tmp_path), ",method=prompt", "--zero-shot", override)


PTUNING_TEMPLATE = Template(Soft(2), Field("text_a"), Soft(1), Text(" it was"), Mask(), Text("."))


@pytest.mark.parametrize(
    "method, options, verbalizer, trains",
    [
        ("bitfit", {}, "manual", lambda path: path.endswith("/bias")),
        # Houlsby et al. train the adapters, the layer norms and the head.
        ("houlsby", {}, "manual", lambda path: "adapter" in path or "norm" in path or path.startswith("mlm_head/")),
        ("p_tuning", {"placement": "template", "length": 3}, "manual", lambda path: "prompt" in path),
        ("full", {}, "soft", lambda path: True),
        ("head_only", {}, "prototypical", lambda path: path.startswith(("mlm_head/", "verbalizer/"))),
    ],
)
def test_peft_methods_and_verbalizers_train_inside_the_prompt_objective(
    lmbff_like, tmp_path, method, options, verbalizer, trains
):
    model_dir, data = lmbff_like
    config = few_shot.seed_config(f"{CONFIG}:task=mr,model={model_dir},data={data},steps=6", 13, {})
    config.data.length_buckets, config.data.max_length = (), 32
    config.peft.method, config.peft.options = method, options
    config.optimizer.learning_rate = 1e-2
    config.objective.prompt.verbalizer = verbalizer
    if method == "p_tuning":  # P-tuning's anchors: soft tokens around the input and the template's words
        config.objective.prompt.template = PTUNING_TEMPLATE
    results = train_and_evaluate(config, str(tmp_path), log=lambda *_: None)
    trained = ["/".join(path) for path in traverse_util.flatten_dict(results["state"].trainable)]
    assert trained and all(trains(path) for path in trained), trained
    if verbalizer != "manual":
        assert any(path.startswith("verbalizer/") for path in trained)
    if verbalizer == "prototypical":
        assert set(results["train"]) >= {"instance_prototype_loss", "instance_instance_loss"}
        assert "classification_loss" not in results["train"]
    logged = [json.loads(line) for line in _read(tmp_path / "metrics.jsonl").splitlines()]
    losses = [r["loss"] for r in logged if r.get("split") == "validation"]
    assert len(losses) >= 2 and losses[-1] != losses[0]  # the trained parameters changed what the model says


def test_main_evaluates_without_training_on_validation_and_test(lmbff_like, tmp_path, capsys):
    from plmjax.main import main

    model_dir, data = lmbff_like
    arg = f"task=mr,model={model_dir},data={data}"
    results = main([f"--config={CONFIG}:{arg}", f"--workdir={tmp_path}", "--evaluate=initial",
                    "--config.data.length_buckets=()", "--config.data.max_length=32"])  # fmt: skip
    assert results["step"] == 0 and results["test"]["examples"] == 40 and results["validation"]["examples"] == 16
    assert "step 0 (initial), test: loss" in capsys.readouterr().out
    assert not os.path.exists(tmp_path / "checkpoints") or not os.listdir(tmp_path / "checkpoints")


def test_pets_auxiliary_mlm_trains_on_unlabeled_prompts_and_resumes(lmbff_like, tmp_path):
    model_dir, data = lmbff_like
    unlabeled = tmp_path / "unlabeled.txt"
    unlabeled.write_text("".join(f"the plot was good and fine {i}\n" for i in range(20)))
    config = few_shot.seed_config(f"{CONFIG}:task=mr,model={model_dir},data={data},steps=6", 13, {})
    config.data.length_buckets, config.data.max_length = (), 32
    config.objective.prompt.auxiliary_mlm, config.objective.prompt.unlabeled_file = 0.5, str(unlabeled)
    config.train.checkpoint_every, config.train.keep_checkpoints = 3, 3
    first = train_and_evaluate(config, str(tmp_path / "a"), log=lambda *_: None)
    assert first["train"]["mlm_loss"] > 0 and "mlm_accuracy" in first["train"]
    assert set(first["validation"]) >= {"classification_loss", "accuracy"}
    # Cut back to its step-3 checkpoint and resumed: the same parameters as the uninterrupted run.
    copy_cut_back(str(tmp_path / "a"), str(tmp_path / "b"), 3)
    second = train_and_evaluate(config, str(tmp_path / "b"), log=lambda *_: None)
    for a, b in zip(jax.tree.leaves(first["state"].trainable), jax.tree.leaves(second["state"].trainable), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)
