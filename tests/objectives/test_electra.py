"""ELECTRA: embeddings stored once and trained by both losses, replacement labels after sampling, the joint
loss computed by hand from the two models' own logits, and export of both halves as HF directories."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import traverse_util

import plmjax
from plmjax import objectives
from plmjax.objectives.electra import generator_params
from tests.objectives.helpers import (
    RTOL,
    mean_binary_cross_entropy,
    mean_cross_entropy,
    mlm_batch,
    mlm_token_weights,
    random_params,
    real_token_weights,
    run,
    tiny,
)

FORCED_TOKEN = 7


@pytest.fixture(scope="module")
def electra():
    sizes = dict(num_layers=1, hidden_size=32, num_heads=4, intermediate_size=64, embedding_size=16)
    config = tiny("electra-small-discriminator", **sizes)
    objective = objectives.Electra.from_config(config)  # generator 1/4: hidden 8, 1 head, feed-forward 16
    return objective, random_params(objective.init)


def _inputs(batch, input_ids=None):
    ids = batch["input_ids"] if input_ids is None else input_ids
    return dict(input_ids=ids, attention_mask=batch["attention_mask"], token_type_ids=batch["token_type_ids"])


def test_generator_is_a_fraction_of_the_discriminator_and_shares_its_embeddings(electra):
    objective, params = electra
    generator = objective.generator.config
    assert (generator.hidden_size, generator.num_heads, generator.intermediate_size) == (8, 1, 16)
    assert generator.num_layers == objective.discriminator.config.num_layers
    assert generator.embed_size == objective.discriminator.config.embed_size == 16
    # One copy of the tables and norm: the generator keeps only its own projection to its hidden size.
    assert set(params["generator"]["embeddings"]) == {"projection"}
    paths = ["/".join(p) for p in traverse_util.flatten_dict(params)]
    assert sum(p.endswith("word_embeddings/embedding") for p in paths) == 1
    with pytest.raises(ValueError, match="heads"):
        objectives.generator_config(objective.discriminator.config, fraction=0.7)  # hidden 22 over 3 heads

    batch = mlm_batch(seed=1)

    def term_grads(params, batch, rng):
        def loss_sum(generator, params, name):
            return objective.loss_terms({**params, "generator": generator}, batch, rng)[name][0]

        mlm = jax.grad(lambda params: loss_sum(params["generator"], params, "mlm"))(params)
        # The rtd term differentiated by the generator's own parameters only.
        return mlm, jax.grad(loss_sum)(params["generator"], params, "rtd")

    mlm_grads, rtd_generator_grads = run(term_grads, params, batch, jax.random.key(1))
    norm = lambda tree: float(sum(jnp.sum(jnp.abs(x)) for x in jax.tree.leaves(tree)))
    for table in ("word_embeddings", "position_embeddings", "token_type_embeddings", "norm"):
        assert norm(mlm_grads["discriminator"]["embeddings"][table]) > 0  # the generator's loss trains them
    assert norm(mlm_grads["discriminator"]["encoder"]) == 0
    # No gradient through the sampled replacements: the discriminator's loss leaves the generator alone.
    assert norm(rtd_generator_grads) == 0 and norm(mlm_grads["generator"]) > 0


@pytest.mark.parametrize("max_predictions", [None, 4])
def test_replaced_labels_are_set_after_sampling(max_predictions):
    """Logits that always sample FORCED_TOKEN: a selected position whose original is that token stays
    "original"; every other selected position of a real row is replaced; nothing else changes."""
    objective = objectives.Electra(None, None, max_predictions=max_predictions)
    batch = mlm_batch(seed=2)
    selected = mlm_token_weights(batch) > 0
    labels = batch["mlm_labels"].copy()
    labels[selected & (np.arange(8) % 2 == 0)] = FORCED_TOKEN
    batch["mlm_labels"] = labels
    shape = batch["input_ids"].shape if max_predictions is None else (3, max_predictions)
    logits = jnp.zeros(shape + (50,)).at[..., FORCED_TOKEN].set(1e4)

    corrupted, replaced = run(objective.corrupt, logits, batch, jax.random.key(3))
    np.testing.assert_array_equal(corrupted, np.where(selected, FORCED_TOKEN, batch["input_ids"]))
    np.testing.assert_array_equal(replaced, selected & (labels != FORCED_TOKEN))
    assert 0 < replaced.sum() < selected.sum()


def test_joint_loss_equals_the_hand_computed_value(electra):
    objective, params = electra
    assert objective.term_weights == {"mlm": 1.0, "rtd": 50.0}
    batch = mlm_batch(seed=4)
    rng = jax.random.key(5)
    sample_rng = jax.random.split(rng, 3)[0]  # the first of the step rng's three: sampling

    def compute(params, batch, rng):
        logits = objective.generator.apply({"params": generator_params(params)}, **_inputs(batch)).logits
        return logits, jax.random.categorical(sample_rng, logits), objective.loss_and_metrics(params, batch, rng)

    logits, sampled, (terms, metrics) = run(compute, params, batch, rng)

    # By hand: corrupt, label, run the discriminator on the corrupted ids, combine.
    selected = mlm_token_weights(batch) > 0
    corrupted = np.where(selected, sampled, batch["input_ids"])
    replaced = corrupted != np.where(selected, batch["mlm_labels"], batch["input_ids"])
    assert 0 < replaced.sum() <= selected.sum()
    discriminator = objective.discriminator
    rtd_logits = run(
        lambda p, ids: discriminator.apply({"params": p["discriminator"]}, **_inputs(batch, ids)).logits,
        params,
        corrupted,
    )
    mlm = mean_cross_entropy(logits, batch["mlm_labels"], mlm_token_weights(batch))
    rtd = mean_binary_cross_entropy(rtd_logits, replaced, real_token_weights(batch))
    np.testing.assert_allclose(terms["mlm"][0] / terms["mlm"][1], mlm, rtol=RTOL)
    np.testing.assert_allclose(terms["rtd"][0] / terms["rtd"][1], rtd, rtol=RTOL)
    np.testing.assert_allclose(objectives.total_loss(terms, objective.term_weights), mlm + 50 * rtd, rtol=RTOL)
    assert terms["rtd"][1] == real_token_weights(batch).sum() == objective.term_counts(batch)["rtd"]
    np.testing.assert_allclose(metrics["replaced_fraction"][0], (replaced * real_token_weights(batch)).sum())


def test_both_halves_export_as_hf_electra_directories(electra, tmp_path):
    """Each half saves complete (with the shared embeddings); transformers loads it and gives its logits."""
    import torch
    import transformers

    objective, params = electra
    generator, discriminator = objectives.export_params(params)
    batch = mlm_batch(seed=8)
    halves = (
        (objective.generator, generator, "mlm", transformers.ElectraForMaskedLM),
        (objective.discriminator, discriminator, "rtd", transformers.ElectraForPreTraining),
    )
    for model, half, head, hf_class in halves:
        plmjax.save_pretrained(model, half, str(tmp_path / head))
        _, loaded = plmjax.from_pretrained(str(tmp_path / head), head=head)
        flat, expected = traverse_util.flatten_dict(loaded), traverse_util.flatten_dict(half)
        assert set(flat) == set(expected)
        for path in expected:
            np.testing.assert_array_equal(flat[path], expected[path])

        hf_model = hf_class.from_pretrained(str(tmp_path / head)).eval()
        with torch.no_grad():
            theirs = hf_model(**{k: torch.as_tensor(v, dtype=torch.long) for k, v in _inputs(batch).items()}).logits
        ours = run(lambda p, b, model=model: model.apply({"params": p}, **_inputs(b)).logits, half, batch)
        np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-4)
