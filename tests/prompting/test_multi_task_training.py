"""Multi-task prompted training in the trainer (data.mixture with objective "prompt"): a tiny BERT masked LM
trained on an MR-like and an SNLI-like task mixed in every batch; each task's validation accuracy in the run's
metrics equals a direct evaluation of the best checkpoint through that task's own prompt and label words, and
the selection metric is their mean; a mixture that names a task twice, or one task, is refused."""

import json
import os

import numpy as np
import pytest

import plmjax
from plmjax.data import DataError, get_task, read_examples
from plmjax.prompting import ManualVerbalizer, collate, prompt_logits
from plmjax.prompting.presets import prompt_for
from plmjax.prompting.prompt_data import as_prompt_example
from plmjax.train import partition, run_setup
from plmjax.train.evaluate_run import restore
from plmjax.train.few_shot import seed_config
from plmjax.train.loop import train_and_evaluate
from tests import lmbff_like

CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "lmbff.py")


@pytest.fixture(scope="module")
def mixture(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixture")
    bert, data = lmbff_like.make(str(root))
    lmbff_like.make_nli(data)
    overrides = {
        "data.mixture": f"lmbff/mr={data}/mr/16-13,lmbff/snli={data}/SNLI/16-13",
        "data.length_buckets": "()",
        "data.max_length": "32",
        "optimizer.learning_rate": "0.003",
    }
    return f"{CONFIG}:task=mr,model={bert},data={data},steps=12", overrides, bert, data


def test_a_mixture_trains_and_scores_each_task_through_its_own_prompt(mixture, tmp_path):
    spec, overrides, bert, data = mixture
    config = seed_config(spec, 13, overrides)
    train_and_evaluate(config, str(tmp_path), log=lambda *_: None)
    with open(tmp_path / "metrics.jsonl") as f:
        rows = [json.loads(line) for line in f]
    dev = [r for r in rows if r.get("split") == "validation" and "accuracy" in r]
    assert len(dev) >= 2
    for row in dev:
        assert row["accuracy"] == pytest.approx((row["lmbff/mr/accuracy"] + row["lmbff/snli/accuracy"]) / 2)

    run = run_setup.prepare(config, str(tmp_path))
    state, frozen, step = restore(run, "best")
    run.checkpoints.close()
    best = next(r for r in dev if r["step"] == step)
    params = partition.merge(state.trainable, frozen)
    model, _ = plmjax.from_pretrained(bert, head="mlm")
    tokenizer = plmjax.load_tokenizer(bert)
    for name, folder in (("lmbff/mr", "mr"), ("lmbff/snli", "SNLI")):
        task = get_task(name, data_dir=os.path.join(data, folder, "16-13"), source="local")
        examples = [as_prompt_example(e, task.text_fields) for e in read_examples(task, "validation")]
        template, words = prompt_for(name)
        batch = collate([template.encode(e, tokenizer, 32) for e in examples], tokenizer.pad_token_id)
        logits = np.asarray(prompt_logits(model, params, batch, ManualVerbalizer(words, tokenizer)))
        accuracy = np.mean(logits.argmax(-1) == np.array([e["label"] for e in examples]))
        assert best[f"{name}/accuracy"] == pytest.approx(accuracy, abs=1e-6)


def test_a_mixture_must_name_two_distinct_tasks(mixture, tmp_path):
    spec, overrides, _, data = mixture
    for mixture_value, message in ((f"lmbff/mr={data}/mr/16-13", "fewer than two tasks"),
                                   (f"lmbff/mr={data}/mr/16-13,lmbff/mr={data}/mr/16-13", "twice")):  # fmt: skip
        config = seed_config(spec, 13, {**overrides, "data.mixture": mixture_value})
        with pytest.raises(DataError, match=message):
            run_setup.prepare(config, str(tmp_path))
