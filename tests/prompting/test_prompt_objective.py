"""The prompt objective (plmjax.prompting.objective): its loss is the prompt loss of prompt_logits, its ensemble
is the mean over demonstration sets, a verbalizer's own parameters sit beside the model's; and
DemonstrationBatches draws demonstrations per step, the same again after a resume."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from plmjax.prompting import Field, ManualVerbalizer, Mask, Template, Text, collate, prompt_logits, prompt_loss
from plmjax.prompting.demonstrations import DemonstrationPool
from plmjax.prompting.objective import VERBALIZER, PromptClassification, model_params
from plmjax.prompting.prompt_data import DemonstrationBatches, as_prompt_example, encode_prompts
from plmjax.prompting.soft_verbalizer import SoftVerbalizer

TEMPLATE = Template(Field("text_a"), Text(" it was"), Mask(), Text("."))
EXAMPLES = [
    {"sentence": "the movie was great .", "label": 1},
    {"sentence": "the food was bad and the service was slow", "label": 0},
    {"sentence": "a fine day", "label": 1},
    {"sentence": "not the best book i have read", "label": 0},
    {"sentence": "i liked the acting", "label": 1},
    {"sentence": "i hated the plot", "label": 0},
]
QUERIES = [as_prompt_example(e, ("sentence",)) for e in EXAMPLES]


def _batch(tokenizer, vocab_size):
    features = encode_prompts(QUERIES, TEMPLATE, tokenizer, 32, vocab_size)
    prompts = [TEMPLATE.encode(q, tokenizer, 32) for q in QUERIES]
    batch = collate(prompts, tokenizer.pad_token_id, labels=[q["label"] for q in QUERIES])
    np.testing.assert_array_equal(features["mask_positions"], batch["mask_positions"])
    batch["weights"] = np.asarray([1, 1, 1, 1, 1, 0], np.float32)  # the last row is padding
    return batch


def test_the_objective_loss_is_the_prompt_loss_of_prompt_logits(masked_lm):
    _, model, params, tokenizer = masked_lm("bert")
    verbalizer = ManualVerbalizer([["terrible", "bad"], ["great"]], tokenizer)
    objective = PromptClassification(model, verbalizer)
    batch = _batch(tokenizer, model.config.vocab_size)
    logits = prompt_logits(model, params, batch, verbalizer)
    expected = prompt_loss(logits, batch["labels"], batch["weights"])
    np.testing.assert_allclose(objective.loss(params, batch), expected, rtol=1e-6)
    terms, metrics, examples = objective.evaluation(params, batch)
    hits = (np.argmax(logits, -1) == batch["labels"])[:5].sum()
    np.testing.assert_allclose(metrics["accuracy"], (hits, 5.0))
    np.testing.assert_array_equal(examples["predictions"], np.argmax(logits, -1))
    assert objective.term_weights == {"classification": 1.0}


def test_an_ensemble_of_demonstration_sets_averages_their_class_logits(masked_lm):
    _, model, params, tokenizer = masked_lm("bert")
    verbalizer = ManualVerbalizer([["terrible"], ["great"]], tokenizer)
    objective = PromptClassification(model, verbalizer)
    pool = DemonstrationPool(QUERIES, [q["label"] for q in QUERIES], 2, seed=1)
    batches = DemonstrationBatches(QUERIES, pool, TEMPLATE, tokenizer, verbalizer.word_ids, 64,
                                   model.config.vocab_size, 6, seed=1, train=False, sets=3, in_pool=False)  # fmt: skip
    batch = next(batches)
    assert batch["input_ids"].shape == (6, 3, 64) and batch["mask_positions"].shape == (6, 3)
    scores, _ = objective.scores(params, batch)
    per_set = [
        prompt_logits(
            model,
            params,
            {k: batch[k][:, s] for k in ("input_ids", "attention_mask", "token_type_ids", "mask_positions")},
            verbalizer,
        )  # fmt: skip
        for s in range(3)
    ]
    np.testing.assert_allclose(scores, np.mean(per_set, axis=0), rtol=1e-5, atol=1e-6)
    assert not np.allclose(per_set[0], per_set[1])  # the sets differ, so the mean is a real ensemble
    # The same sets every time the split is evaluated.
    again = DemonstrationBatches(QUERIES, pool, TEMPLATE, tokenizer, verbalizer.word_ids, 64,
                                 model.config.vocab_size, 6, seed=1, train=False, sets=3, in_pool=False)  # fmt: skip
    again = next(again)
    np.testing.assert_array_equal(again["input_ids"], batch["input_ids"])
    # With length buckets: the same prompts, padded to the smallest bucket the batch's longest one fits.
    longest = int(batch["attention_mask"].sum(-1).max())
    bucketed = DemonstrationBatches(QUERIES, pool, TEMPLATE, tokenizer, verbalizer.word_ids, 64,
                                    model.config.vocab_size, 6, seed=1, train=False, sets=3, in_pool=False,
                                    length_buckets=(longest - 1, longest + 1, 200))  # fmt: skip
    bucketed = next(bucketed)
    assert bucketed["input_ids"].shape == (6, 3, longest + 1)
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        np.testing.assert_array_equal(bucketed[key], batch[key][..., : longest + 1])
    np.testing.assert_array_equal(bucketed["mask_positions"], batch["mask_positions"])


def test_training_demonstrations_change_every_step_and_resume_where_they_were(masked_lm):
    _, model, _, tokenizer = masked_lm("bert")
    pool = DemonstrationPool(QUERIES, [q["label"] for q in QUERIES], 2, seed=0)
    word_ids = ManualVerbalizer([["terrible"], ["great"]], tokenizer).word_ids

    def batches():
        return DemonstrationBatches(QUERIES, pool, TEMPLATE, tokenizer, word_ids, 64, model.config.vocab_size, 2,
                                    seed=0, train=True)  # fmt: skip

    first = batches()
    drawn = [next(first) for _ in range(9)]  # 3 epochs of 3 batches
    # The same query appears once per epoch, with other demonstrations each time.
    assert drawn[0]["input_ids"].shape == (2, 64)
    rows = {}
    for batch in drawn:
        for ids in batch["input_ids"]:
            query = tuple(ids[: int(np.argmax(ids == tokenizer.sep_token_id))])
            rows.setdefault(query, set()).add(tuple(ids))
    assert len(rows) == 6 and sum(len(v) > 1 for v in rows.values()) >= 4
    resumed = batches()
    state = None
    replay = batches()
    for _ in range(4):
        next(replay)
    state = replay.get_state()
    resumed.set_state(state)
    for expected in drawn[4:]:
        np.testing.assert_array_equal(next(resumed)["input_ids"], expected["input_ids"])


def test_a_verbalizer_with_parameters_trains_them_beside_the_model(masked_lm):
    _, model, params, tokenizer = masked_lm("bert")
    words = [["terrible", "bad"], ["great"]]
    objective = PromptClassification(model, SoftVerbalizer(words, tokenizer))
    full = objective.add_verbalizer_params(params, jax.random.key(0))
    assert set(full) == set(params) | {VERBALIZER} and model_params(full).keys() == params.keys()
    batch = _batch(tokenizer, model.config.vocab_size)
    manual = prompt_logits(model, params, batch, ManualVerbalizer(words, tokenizer))
    np.testing.assert_allclose(objective.scores(full, batch)[0], manual, rtol=1e-5, atol=1e-5)
    grads = jax.grad(objective.loss)(full, batch)
    assert float(jnp.abs(grads[VERBALIZER]["class_embeddings"]).sum()) > 0


def test_pets_auxiliary_mlm_adds_the_masked_lm_loss_of_an_unlabeled_batch(masked_lm):
    from plmjax.data.pretraining.collators import MlmCollator
    from plmjax.objectives import MaskedLM, total_loss
    from plmjax.prompting.prompt_data import WithUnlabeledMlm

    _, model, params, tokenizer = masked_lm("bert")
    verbalizer = ManualVerbalizer([["terrible"], ["great"]], tokenizer)
    features = encode_prompts(QUERIES, TEMPLATE, tokenizer, 32, model.config.vocab_size)
    prompts = _batch(tokenizer, model.config.vocab_size)
    labeled = type("Labeled", (), {"__next__": lambda self: dict(prompts), "get_state": lambda self: {},
                                   "set_state": lambda self, state: None})()  # fmt: skip
    collator = MlmCollator.from_tokenizer(tokenizer, 32, batch_size=6, mask_prob=0.3)
    batches = WithUnlabeledMlm(labeled, features, collator, 6, seed=3)
    batch = next(batches)
    selected = batch["unlabeled_mlm_weights"] > 0
    assert selected.any() and not np.isin(batch["unlabeled_mlm_labels"][selected], tokenizer.all_special_ids).any()

    objective = PromptClassification(model, verbalizer, auxiliary_mlm=0.25)
    assert objective.term_weights == {"classification": 0.75, "mlm": 0.25}
    unlabeled = {k[len("unlabeled_") :]: v for k, v in batch.items() if k.startswith("unlabeled_")}
    ce = prompt_loss(prompt_logits(model, params, batch, verbalizer), batch["labels"], batch["weights"])
    mlm = MaskedLM(model).loss(params, unlabeled)
    np.testing.assert_allclose(objective.loss(params, batch), 0.75 * ce + 0.25 * mlm, rtol=1e-5)
    terms, _ = objective.loss_and_metrics(params, batch)
    assert float(total_loss(terms, objective.term_weights, objective.term_counts(batch))) == pytest.approx(
        float(objective.loss(params, batch))
    )

    # The unlabeled batches are a function of the step: a resumed iterator replays them.
    later = [next(batches) for _ in range(2)]
    resumed = WithUnlabeledMlm(labeled, features, collator, 6, seed=3)
    resumed.set_state({"labeled": {}, "unlabeled_step": 1})
    for expected in later:
        got = next(resumed)
        np.testing.assert_array_equal(got["unlabeled_input_ids"], expected["unlabeled_input_ids"])
        np.testing.assert_array_equal(got["unlabeled_mlm_labels"], expected["unlabeled_mlm_labels"])
