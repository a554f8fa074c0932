"""MLM, NSP/SOP, causal LM and seq2seq losses equal hand-computed values; counts come from the batch alone,
so micro-batch loss sums over global counts give the full-batch loss; losses differentiate under jit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import plmjax
from plmjax import objectives
from plmjax.objectives import base
from tests.objectives.helpers import RTOL, mean_cross_entropy, mlm_batch, mlm_token_weights, random_params, run, tiny


def test_cross_entropy_and_binary_cross_entropy_on_explicit_logits():
    logits = np.array([[[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]], [[0.0, 0.0, 0.0], [-3.0, 1.0, 2.0]]], np.float32)
    labels = np.array([[0, 2], [1, 2]])
    weights = np.array([[1.0, 1.0], [0.0, 1.0]], np.float32)
    loss_sum, count = base.cross_entropy(jnp.asarray(logits), labels, weights)
    # -log softmax at (0,0), (0,1), (1,1); (1,0) has weight 0.
    expected = (
        -(2 - np.log(np.e**2 + 1 + np.e**-1))
        - (0 - np.log(2 * np.e**0.5 + 1))
        - (2 - np.log(np.e**-3 + np.e + np.e**2))
    )
    np.testing.assert_allclose(loss_sum, expected, rtol=RTOL)
    assert count == 3.0

    rtd_logits = np.array([[1.0, -2.0], [0.0, 3.0]], np.float32)
    replaced = np.array([[True, False], [True, True]])
    loss_sum, count = base.binary_cross_entropy(jnp.asarray(rtd_logits), replaced, weights)
    # -log sigmoid(1), -log(1 - sigmoid(-2)) = -log sigmoid(2), -log sigmoid(3).
    expected = np.log(1 + np.exp(-1.0)) + np.log(1 + np.exp(-2.0)) + np.log(1 + np.exp(-3.0))
    np.testing.assert_allclose(loss_sum, expected, rtol=RTOL)
    assert count == 3.0

    terms = {"a": (jnp.float32(6.0), jnp.float32(3.0)), "b": (jnp.float32(1.0), jnp.float32(0.0))}
    np.testing.assert_allclose(base.total_loss(terms, {"a": 2.0, "b": 50.0}), 2.0 * 2.0 + 50.0 * 1.0)
    np.testing.assert_allclose(base.ratios(terms)["a"], 2.0)
    with pytest.raises(ValueError, match="do not match"):
        base.total_loss(terms, {"a": 1.0})


def _inputs(batch):
    return {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}


@pytest.fixture(scope="module")
def bert():
    """A tiny BERT with the pretraining head; its params also serve the "mlm" and "nsp" heads."""
    model = plmjax.EncoderModel(tiny("bert-base", hidden_dropout=0.5), head="pretraining")
    return model, random_params(objectives.MaskedLMWithSentenceRelation(model).init)


def test_mlm_loss_is_the_mean_cross_entropy_over_selected_tokens_of_real_rows(bert):
    model, params = bert
    objective = objectives.MaskedLM(plmjax.EncoderModel(model.config, head="mlm"))
    most = 4
    gathered = objectives.MaskedLM(objective.model, max_predictions=most)
    batch = mlm_batch()
    assert batch["mlm_weights"].sum(1).max() <= most

    def compute(params, batch, rng):
        logits = objective.model.apply({"params": params}, **_inputs(batch)).logits
        train_loss = objective.loss(params, batch, rng, deterministic=False)
        return logits, objective.loss_and_metrics(params, batch), gathered.loss_terms(params, batch), train_loss

    logits, (terms, metrics), gathered_terms, train_loss = run(compute, params, batch, jax.random.key(1))
    weights = mlm_token_weights(batch)
    expected = mean_cross_entropy(logits, batch["mlm_labels"], weights)
    np.testing.assert_allclose(terms["mlm"][0] / terms["mlm"][1], expected, rtol=RTOL)
    assert terms["mlm"][1] == weights.sum() == objective.term_counts(batch)["mlm"]
    hits = (np.asarray(logits).argmax(-1) == batch["mlm_labels"]) * weights
    np.testing.assert_allclose(metrics["mlm_accuracy"], (hits.sum(), weights.sum()))
    # The gather path (logits only at up to max_predictions selected positions per row) gives the same terms.
    np.testing.assert_allclose(gathered_terms["mlm"], terms["mlm"], rtol=RTOL)
    assert gathered.term_counts(batch)["mlm"] == weights.sum()
    # Dropout (hidden_dropout=0.5) is on only in training, and then needs an rng.
    assert not np.isclose(train_loss, expected)
    with pytest.raises(ValueError, match="rng"):
        objective.loss(params, batch, None, deterministic=False)


def test_bert_pretraining_loss_is_mlm_plus_nsp(bert):
    model, params = bert
    objective = objectives.MaskedLMWithSentenceRelation(model)
    nsp = objectives.SentenceRelation(plmjax.EncoderModel(model.config, head="nsp"))
    batch = mlm_batch(seed=1)

    def compute(params, batch):
        out = model.apply({"params": params}, **_inputs(batch))
        return out.logits, out.sentence_logits, objective.loss(params, batch), nsp.loss(params, batch)

    logits, sentence_logits, loss, nsp_loss = run(compute, params, batch)
    mlm = mean_cross_entropy(logits, batch["mlm_labels"], mlm_token_weights(batch))
    sentence = mean_cross_entropy(sentence_logits, batch["sentence_labels"], batch["weights"])
    np.testing.assert_allclose(loss, mlm + sentence, rtol=RTOL)
    np.testing.assert_allclose(nsp_loss, sentence, rtol=RTOL)  # the same head, alone
    assert objective.term_counts(batch) == {"mlm": mlm_token_weights(batch).sum(), "sentence": 2.0}


def test_albert_pretraining_loss_is_mlm_plus_sop():
    model = plmjax.EncoderModel(tiny("albert-base-v2", embedding_size=8), head="pretraining")
    objective = objectives.MaskedLMWithSentenceRelation(model, max_predictions=4)
    batch = mlm_batch(seed=2)

    def compute(params, batch):
        out = model.apply({"params": params}, **_inputs(batch))
        return out.logits, out.sentence_logits, objective.loss(params, batch)

    logits, sentence_logits, loss = run(compute, random_params(objective.init, seed=2), batch)
    mlm = mean_cross_entropy(logits, batch["mlm_labels"], mlm_token_weights(batch))
    sentence = mean_cross_entropy(sentence_logits, batch["sentence_labels"], batch["weights"])
    np.testing.assert_allclose(loss, mlm + sentence, rtol=RTOL)


def test_causal_lm_loss_is_the_mean_next_token_cross_entropy():
    objective = objectives.CausalLM(plmjax.DecoderModel(tiny("gpt2"), head="lm"))
    rng = np.random.default_rng(3)
    ids = rng.integers(1, 50, (3, 8)).astype(np.int32)
    mask = np.ones((3, 8), np.int32)
    mask[0, 6:] = 0
    next_mask = np.concatenate([mask[:, 1:], np.zeros((3, 1), np.int32)], 1)
    batch = {
        "input_ids": ids,
        "attention_mask": mask,
        "weights": np.array([1.0, 1.0, 0.0], np.float32),
        "target_ids": np.concatenate([ids[:, 1:], np.zeros((3, 1), np.int32)], 1),
        "target_weights": (mask * next_mask).astype(np.float32),
    }

    def compute(params, batch):
        logits = objective.model.apply({"params": params}, batch["input_ids"], batch["attention_mask"]).logits
        return logits, objective.loss_terms(params, batch), jax.grad(objective.loss)(params, batch)

    logits, terms, grads = run(compute, random_params(objective.init, seed=3), batch)
    assert all(np.isfinite(g).all() for g in jax.tree.leaves(grads))
    assert float(jnp.max(jnp.abs(grads["embeddings"]["word_embeddings"]["embedding"]))) > 0
    weights = batch["target_weights"] * batch["weights"][:, None]
    expected = mean_cross_entropy(logits, batch["target_ids"], weights)
    np.testing.assert_allclose(terms["lm"][0] / terms["lm"][1], expected, rtol=RTOL)
    assert terms["lm"][1] == 5 + 7  # rows of 6 and 8 real tokens, less their last; row 2 is padding


@pytest.mark.parametrize("name", ["bart-base", "t5-small"])
def test_seq2seq_loss_is_the_mean_decoder_cross_entropy(name):
    # One layer per stack keeps compilation short.
    config = tiny(name, num_layers=1, **({"attention_head_dim": 8} if name.startswith("t5") else {}))
    objective = objectives.Seq2SeqLM(plmjax.Seq2SeqModel(config, head="lm"))
    rng = np.random.default_rng(4)
    targets = rng.integers(3, 50, (2, 5)).astype(np.int32)
    target_weights = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], np.float32)
    batch = {
        "input_ids": rng.integers(3, 50, (2, 7)).astype(np.int32),
        "attention_mask": np.array([[1] * 7, [1] * 5 + [0] * 2], np.int32),
        "decoder_input_ids": np.concatenate([np.zeros((2, 1), np.int32), targets[:, :-1]], 1),
        "decoder_attention_mask": target_weights.astype(np.int32),
        "target_ids": targets,
        "target_weights": target_weights,
        "weights": np.ones(2, np.float32),
    }

    def compute(params, batch):
        logits = objective.model.apply(
            {"params": params},
            batch["input_ids"],
            attention_mask=batch["attention_mask"],
            decoder_input_ids=batch["decoder_input_ids"],
            decoder_attention_mask=batch["decoder_attention_mask"],
        ).logits
        return logits, objective.loss(params, batch)

    logits, loss = run(compute, random_params(objective.init, seed=4), batch)
    np.testing.assert_allclose(loss, mean_cross_entropy(logits, targets, target_weights), rtol=RTOL)


def test_micro_batch_sums_over_global_counts_give_the_full_batch_loss(bert):
    model, params = bert
    objective = objectives.MaskedLMWithSentenceRelation(model)
    batch = {k: np.concatenate([v, v[::-1]]) for k, v in mlm_batch(seed=5).items()}  # 6 rows, uneven selections

    def split_loss(params, batch):
        counts = objective.term_counts(batch)  # the global batch's, before splitting
        total = 0.0
        for rows in (slice(0, 2), slice(2, 6)):
            terms = objective.loss_terms(params, jax.tree.map(lambda x, rows=rows: x[rows], batch))
            total = total + base.total_loss(terms, objective.term_weights, counts)
        return total

    full, split = run(lambda p, b: (objective.loss(p, b), split_loss(p, b)), params, batch)
    np.testing.assert_allclose(split, full, rtol=RTOL)

    # Counts come from the batch alone: no parameters, and other input ids leave them unchanged.
    shuffled = dict(batch, input_ids=batch["input_ids"][:, ::-1])
    assert objective.term_counts(shuffled) == objective.term_counts(batch)
