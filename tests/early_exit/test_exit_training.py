"""The early_exit objective: its loss terms equal a hand computation from every exit's logits for each scheme
(PABEE's 1..L weights, DeeBERT's internal sum, BERxiT's alternation by step parity, the confidence predictor's
squared error); it trains through the standard trainer (configs/early_exit.py) on a tiny task with a LoRA
backbone, its loss falling; DeeBERT's second stage trains the exit parameters alone."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import traverse_util

from plmjax.early_exit import EarlyExit, all_confidences, all_exits, make_criterion
from plmjax.train import run_setup
from plmjax.train.checkpoint import load_trainable
from plmjax.train.config_files import load_config
from plmjax.train.loop import train_and_evaluate
from plmjax.train.writers import read_metrics
from tests.early_exit.conftest import random_batch
from tests.hf import tiny_generative_models
from tests.hf.tiny_models import make_hf_model
from tests.prompting.conftest import byte_level_word_tokenizer, wordpiece_tokenizer

CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "early_exit.py")


def _labelled(family="bert", rows=6):
    batch = random_batch(family, rows=rows)
    return {**batch, "labels": np.array([0, 1, 2, 1, 0, 2][:rows], np.int32), "weights": np.ones(rows, np.float32)}


def _per_layer_losses(model, params, batch):
    logits, _ = all_exits(model, params, batch)
    return np.asarray(optax.softmax_cross_entropy_with_integer_labels(logits, batch["labels"][None]))


@pytest.mark.parametrize("scheme", ["joint", "internal", "alternating"])
def test_the_classification_term_weighs_the_layers_losses_as_the_scheme_says(tiny_classifier, scheme):
    _, model, params = tiny_classifier("bert")
    batch = _labelled()
    losses = _per_layer_losses(model, params, batch).sum(axis=1)  # [layers]: summed over the rows
    depth = np.arange(1, 5)
    expected = {
        "joint": [np.sum(depth * losses) / np.sum(depth)] * 2,  # PABEE: sum_i i L_i / sum_i i
        "internal": [np.sum(losses[:3])] * 2,  # DeeBERT's second stage: the internal heads
        "alternating": [losses[3], np.sum(losses)],  # BERxiT: even steps the last layer, odd steps all
    }[scheme]
    objective = EarlyExit(model, 3, scheme)
    for step in (0, 1):
        terms, metrics = objective.at_step(jnp.int32(step)).loss_and_metrics(params, batch)
        loss_sum, count = terms["classification"]
        assert float(count) == 6
        assert float(loss_sum) == pytest.approx(expected[step], rel=1e-5)


def test_the_objective_reads_what_the_config_says(tiny_classifier):
    """objective.early_exit.reads="mean" trains the heads on the layers' token means: the joint term is then the
    PABEE sum of the mean-reading exits' losses, not of the [CLS]-reading ones."""
    _, model, params = tiny_classifier("bert")
    batch = _labelled()
    config = load_config(f"{CONFIG}:task=glue/rte,reads=mean")
    objective = EarlyExit.from_config(model, 3, config.objective.early_exit)
    assert objective.reads == "mean"
    logits, _ = all_exits(model, params, batch, reads="mean")
    losses = np.asarray(optax.softmax_cross_entropy_with_integer_labels(logits, batch["labels"][None])).sum(1)
    depth = np.arange(1, 5)
    loss_sum, _ = objective.loss_and_metrics(params, batch)[0]["classification"]
    assert float(loss_sum) == pytest.approx(np.sum(depth * losses) / np.sum(depth), rel=1e-5)
    classifier_losses = _per_layer_losses(model, params, batch).sum(axis=1)
    assert abs(float(loss_sum) - np.sum(depth * classifier_losses) / np.sum(depth)) > 1e-3
    with pytest.raises(ValueError, match="reads='max'"):
        EarlyExit(model, 3, reads="max")


def test_the_confidence_term_is_the_squared_error_against_each_exits_correctness(tiny_classifier):
    _, model, params = tiny_classifier("bert")
    batch = _labelled()
    logits, first_tokens = all_exits(model, params, batch)
    confidence = np.asarray(all_confidences(params, first_tokens, logits))
    right = (np.argmax(np.asarray(logits), -1) == batch["labels"][None]).astype(np.float32)
    expected = np.sum(np.mean((confidence - right) ** 2, axis=0))
    terms, metrics = EarlyExit(model, 3).loss_and_metrics(params, batch)
    assert float(terms["confidence"][0]) == pytest.approx(expected, rel=1e-5)
    for layer in range(4):
        assert float(metrics[f"layer_{layer + 1}_accuracy"][0]) == right[layer].sum()
    # The predictor learns to judge the exits without changing them: no gradient reaches the backbone.
    objective = EarlyExit(model, 3, confidence_weight=1.0)
    grads = jax.grad(lambda p: objective.loss_and_metrics(p, batch)[0]["confidence"][0])(params)
    flat = traverse_util.flatten_dict(grads, sep="/")
    assert all(not np.any(v) for k, v in flat.items() if not k.startswith("early_exit/confidence/"))
    assert np.any(flat["early_exit/confidence/kernel"])


def test_evaluation_reports_the_criterions_exits_and_the_full_models_predictions(tiny_classifier):
    _, model, params = tiny_classifier("bert")
    batch = _labelled()
    criterion = make_criterion("patience", 1, 3, 4)
    _, metrics, outputs = EarlyExit(model, 3, criterion=criterion).evaluation(params, batch)
    logits, _ = all_exits(model, params, batch)
    np.testing.assert_array_equal(outputs["predictions"], np.argmax(np.asarray(logits[-1]), -1))
    predicted = np.argmax(np.asarray(logits), -1)  # [layers, rows]
    # PABEE with t=1 by hand: the first layer whose prediction repeats the previous one's, else the last.
    layers = [next((i + 1 for i in range(1, 4) if predicted[i, r] == predicted[i - 1, r]), 4) for r in range(6)]
    chosen = predicted[np.array(layers) - 1, np.arange(6)]
    assert float(metrics["exit_layer"][0]) == sum(layers)
    assert float(metrics["exit_accuracy"][0]) == np.sum(chosen == batch["labels"])


@pytest.fixture(scope="module")
def task_setting(tmp_path_factory):
    """A tiny BERT classifier directory (4 layers) with a WordPiece tokenizer, and an RTE-layout task whose
    label a repeated word gives away (learnable in a few steps, even by LoRA on a random model)."""
    root = tmp_path_factory.mktemp("early_exit_task")
    model_dir = str(root / "bert")
    make_hf_model("bert", None, num_hidden_layers=4).save_pretrained(model_dir)
    wordpiece_tokenizer().save_pretrained(model_dir)
    rng = np.random.default_rng(0)
    words = ["the", "movie", "film", "plot", "acting", "food", "service", "book", "park", "day"]
    rows = []
    for i in range(96):
        label = i % 2
        signal = "great" if label else "terrible"
        first = " ".join([*rng.choice(words, size=3), signal, signal])
        second = " ".join([signal, *rng.choice(words, size=2), signal])
        rows.append(f"{i}\t{first}\t{second}\t{('not_entailment', 'entailment')[label]}\n")
    data_dir = root / "rte"
    data_dir.mkdir()
    header = "index\tsentence1\tsentence2\tlabel\n"
    (data_dir / "train.tsv").write_text(header + "".join(rows[:80]))
    (data_dir / "dev.tsv").write_text(header + "".join(rows[80:]))
    return model_dir, str(data_dir)


def _config(task_setting, arg="", **overrides):
    model_dir, data_dir = task_setting
    values = {"data.batch_size": "16", "data.eval_batch_size": "16", "data.max_length": "24",
              "data.length_buckets": "(24,)", "train.log_every": "1", "train.eval_every": "10",
              "train.checkpoint_every": "10", "optimizer.learning_rate": "0.003", "optimizer.warmup_steps": "0",
              **overrides}  # fmt: skip
    return load_config(f"{CONFIG}:model={model_dir},task=glue/rte,data_dir={data_dir},steps=10{arg}", values)


def test_joint_training_with_a_lora_backbone_runs_in_the_trainer_and_the_loss_falls(task_setting, tmp_path):
    workdir = str(tmp_path / "run")
    # LoRA's recipe rate (5e-4) moves a random tiny model too little in ten steps.
    arg, rate = ",method=lora,criterion=confidence,threshold=0.5", {"optimizer.learning_rate": "0.01"}
    config = _config(task_setting, arg, **rate)
    train_and_evaluate(config, workdir)
    losses = [r["loss"] for r in read_metrics(workdir, "train")]
    assert len(losses) == 10 and np.mean(losses[-3:]) < 0.8 * np.mean(losses[:3])
    validation = read_metrics(workdir, "validation")[-1]
    assert {"layer_1_accuracy", "layer_4_accuracy", "exit_accuracy", "exit_layer", "confidence_loss"} <= set(validation)
    assert 1.0 <= validation["exit_layer"] <= 4.0
    # LoRA composes: the checkpoint holds the exit parameters, LoRA's and the classifier, never a base weight.
    trained = traverse_util.flatten_dict(load_trainable(workdir), sep="/")
    kinds = {("early_exit" if k.startswith("early_exit/") else "lora" if "lora_" in k else k.split("/")[0])
             for k in trained}  # fmt: skip
    assert kinds == {"early_exit", "lora", "classifier"}, sorted(trained)


def test_deebert_second_stage_trains_the_exit_parameters_alone(task_setting, tmp_path):
    run = run_setup.prepare(_config(task_setting, ",stage=2,method=lora"), str(tmp_path / "stage2"))
    try:
        mask = traverse_util.flatten_dict(run.trainable_mask, sep="/")
        assert {k for k, trains in mask.items() if trains} == {k for k in mask if k.startswith("early_exit/")}
        assert any("lora_" in k for k in mask)  # the LoRA parameters exist, frozen with the rest
    finally:
        run.checkpoints.close()


def test_a_gpt2_classifier_trains_with_exits_in_the_trainer_and_exits_early(task_setting, tmp_path):
    """GPT-2's sequence classifier (the last non-pad token's state) with an exit after every block: trained by
    the same objective and trainer, then run by the inference that stops, which agrees with the simulation."""
    from plmjax.early_exit import exit_batched, make_criterion, simulate
    from plmjax.train.evaluate_run import restored_params

    _, data_dir = task_setting
    model_dir = str(tmp_path / "gpt2")
    # The byte-level tokenizer's ids: <s> 0, <pad> 1, </s> 2 (the model's config says so too).
    ids = {"bos_token_id": 0, "pad_token_id": 1, "eos_token_id": 2}
    tiny_generative_models.make_hf_model("gpt2", None, n_layer=4, **ids).save_pretrained(model_dir)
    byte_level_word_tokenizer().save_pretrained(model_dir)
    workdir = str(tmp_path / "run")
    config = _config((model_dir, data_dir), ",criterion=patience,threshold=1")
    train_and_evaluate(config, workdir)
    losses = [r["loss"] for r in read_metrics(workdir, "train")]
    assert len(losses) == 10 and np.mean(losses[-3:]) < 0.8 * np.mean(losses[:3])
    validation = read_metrics(workdir, "validation")[-1]
    assert {"layer_1_accuracy", "layer_4_accuracy", "exit_accuracy", "exit_layer"} <= set(validation)

    run, params, _ = restored_params(config, workdir, "latest")
    model = run.setup.objective.model
    batch = next(iter(run.source.eval_batches("validation")))
    batch = {k: batch[k] for k in ("input_ids", "attention_mask")}
    criterion = make_criterion("patience", 1, 2, 4)
    logits, first_tokens = all_exits(model, params, batch)
    expected_layers, _ = simulate(criterion, logits, all_confidences(params, first_tokens, logits))
    np.testing.assert_array_equal(exit_batched(model, params, batch, criterion).exit_layers, expected_layers)

    # The sweep command: its full-model accuracy is the trainer's last validation accuracy of the final layer,
    # and it times the stopping inference of a decoder at batch 1 and 4.
    from plmjax.train.early_exit_evaluate import evaluate

    report = evaluate(config, workdir, which="latest", batch_sizes=(1, 4))
    assert report.startswith(f"full model (4 layers): accuracy {validation['layer_4_accuracy']:.4f}")
    points = report.split("operating points")[1].strip().splitlines()[3:]  # after the title, header and rule
    assert [line.split(" | ")[0].lstrip("| ") for line in points] == ["entropy", "patience", "confidence"]
    assert all(float(line.rstrip(" |").split(" | ")[-1]) > 0 for line in points)  # a measured batch-4 speed-up


def test_the_recipe_follows_the_task_unless_named():
    kshot = load_config(f"{CONFIG}:task=lmbff/trec")
    assert (kshot.data.batch_size, kshot.train.num_steps, kshot.train.eval_every) == (8, 1000, 100)
    whole = load_config(f"{CONFIG}:task=lmbff/trec,data_dir=/tmp/trec_full/full,recipe=glue")
    assert (whole.data.batch_size, whole.train.num_steps, whole.train.num_epochs) == (32, 0, 3.0)
    assert whole.data.data_dir == "/tmp/trec_full/full"
    with pytest.raises(ValueError, match="recipe='fast'"):
        load_config(f"{CONFIG}:task=glue/rte,recipe=fast")
