"""Multi-task prompted training: the mixing rates are T5's (examples-proportional with a cap, temperature) and
the sampler's draws follow them over many draws, stateless per step; a mixed batch's rows score exactly as
their own task's ManualVerbalizer (absent classes never win), and the loss is each row's cross-entropy over
its own task's classes."""

import numpy as np
import pytest

from plmjax.prompting import ManualVerbalizer, collate, prompt_logits
from plmjax.prompting.mixture import MixtureSampler, check_held_out, mixing_rates
from plmjax.prompting.multi_task import ABSENT_CLASS, MultiTaskPromptClassification, MultiTaskVerbalizer
from tests.prompting.test_prompt_objective import QUERIES, TEMPLATE


def test_mixing_rates_are_t5s_examples_proportional_with_a_cap_and_temperature():
    np.testing.assert_allclose(mixing_rates([100, 300, 600]), [0.1, 0.3, 0.6])
    np.testing.assert_allclose(mixing_rates([100, 300, 600], cap=200), [100 / 500, 200 / 500, 200 / 500])
    np.testing.assert_allclose(mixing_rates([100, 400], temperature=2.0), [10 / 30, 20 / 30])
    with pytest.raises(ValueError, match="positive counts"):
        mixing_rates([0, 3])


def test_the_samplers_draws_follow_the_rates_and_depend_only_on_the_step():
    sampler = MixtureSampler([50, 10, 1000], mixing_rates([50, 10, 1000], cap=100), seed=3)
    tasks, examples = zip(*(sampler.draw(step, 64) for step in range(400)), strict=True)
    tasks, examples = np.concatenate(tasks), np.concatenate(examples)
    share = np.bincount(tasks, minlength=3) / len(tasks)
    np.testing.assert_allclose(share, [50 / 160, 10 / 160, 100 / 160], atol=0.01)  # 25,600 draws: 3 sigma < 0.01
    assert examples[tasks == 1].max() == 9 and len(np.unique(examples[tasks == 1])) == 10
    again = MixtureSampler([50, 10, 1000], mixing_rates([50, 10, 1000], cap=100), seed=3).draw(7, 64)
    np.testing.assert_array_equal(again[0], sampler.draw(7, 64)[0])


def test_mixed_rows_score_as_their_own_tasks_verbalizer(masked_lm):
    import jax

    _, model, params, tokenizer = masked_lm("bert")
    words = [[["terrible"], ["great", "good"]], [["bad"], ["fine"], ["best"]]]
    verbalizer = MultiTaskVerbalizer(words, tokenizer)
    objective = MultiTaskPromptClassification(model, verbalizer)
    prompts = [TEMPLATE.encode(q, tokenizer, 32) for q in QUERIES]
    task_ids = np.array([0, 1, 1, 0, 1, 0], np.int32)
    labels = np.array([1, 2, 0, 0, 1, 1], np.int32)
    batch = collate(prompts, tokenizer.pad_token_id, labels=labels)
    batch["task_ids"], batch["weights"] = task_ids, np.ones(6, np.float32)
    scores, _ = objective.scores(params, batch)
    scores = np.asarray(scores)
    for t, task_words in enumerate(words):
        own = np.asarray(prompt_logits(model, params, batch, ManualVerbalizer(task_words, tokenizer)))
        rows = task_ids == t
        np.testing.assert_allclose(scores[rows, : len(task_words)], own[rows], rtol=1e-5, atol=1e-6)
    assert np.all(scores[task_ids == 0, 2] == ABSENT_CLASS)
    loss = float(objective.loss(params, batch))
    expected = np.mean([
        -jax.nn.log_softmax(scores[r, : len(words[task_ids[r]])])[labels[r]] for r in range(6)
    ])  # fmt: skip
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_held_out_tasks_and_their_clusters_stay_out_of_training():
    check_held_out(["lmbff/snli", "lmbff/qqp"], ["lmbff/mr", "lmbff/trec"])
    with pytest.raises(ValueError, match="lmbff/mr is both in the training mixture and held out"):
        check_held_out(["lmbff/mr", "lmbff/snli"], ["lmbff/mr"])
    with pytest.raises(ValueError, match=r"lmbff/cr is in cluster 'sentiment', which training has: \['lmbff/mr'\]"):
        check_held_out(["lmbff/mr", "lmbff/snli"], ["lmbff/cr"])
