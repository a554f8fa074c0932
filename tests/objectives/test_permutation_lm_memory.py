"""XLNet pretraining with a segment memory: each segment of the parallel streams permuted on its own
(PermutedSegments), and the permutation LM's evaluation walking whole streams with the memory equals running
the segments one after another by hand."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from plmjax.data.pretraining.batches import ConsecutiveSegments
from plmjax.data.pretraining.permutation import PermutationLmCollator, PermutedSegments
from plmjax.models.config import TransformerConfig
from plmjax.models.presets import XLNET_ARCHITECTURE
from plmjax.models.xlnet import PERMUTATION_KEYS, XLNetModel
from plmjax.objectives import PermutationLM

TOKENS = np.arange(3, 3 + 4 * 25) % 40
COLLATOR = PermutationLmCollator(6, pad_token_id=0, partial_prediction=3, batch_size=4)


def test_each_segment_is_permuted_by_its_step_and_row():
    train = PermutedSegments(ConsecutiveSegments(TOKENS, 6, 4), COLLATOR, seed=7)
    next(train)
    second = next(train)  # step 1: the second 6-token segment of each of the 4 streams
    streams = TOKENS.reshape(4, 25)
    np.testing.assert_array_equal(second["input_ids"], streams[:, 6:12])
    expected = COLLATOR(list(streams[:, 6:12]), [np.random.default_rng([7, 1, row]) for row in range(4)])
    for key in PERMUTATION_KEYS:
        np.testing.assert_array_equal(second[key], expected[key])
    assert not np.array_equal(second["perm_mask"][0], second["perm_mask"][1])  # rows draw their own orders

    evaluation = next(PermutedSegments(ConsecutiveSegments(TOKENS, 6, 4, train=False), COLLATOR, seed=7))
    assert evaluation["input_ids"].shape == (4, 24) and evaluation["perm_mask"].shape == (4, 4, 6, 6)
    for key in PERMUTATION_KEYS:  # segment s of the walk is permuted as training's step s
        np.testing.assert_array_equal(evaluation[key][:, 1], expected[key])


def test_evaluation_walks_the_segments_with_the_memory():
    config = TransformerConfig(
        **{**XLNET_ARCHITECTURE, "pad_token_id": 0}, vocab_size=40, hidden_size=16, num_layers=2, num_heads=2,
        intermediate_size=32, memory_length=6, hidden_dropout=0.0, attention_dropout=0.0,
    )  # fmt: skip
    model = XLNetModel(config, head="lm")
    params = nn.unbox(model.init(jax.random.key(0), jnp.ones((1, 6), jnp.int32))["params"])
    objective = PermutationLM(model)
    batch = next(PermutedSegments(ConsecutiveSegments(TOKENS, 6, 4, train=False), COLLATOR, seed=7))
    terms, metrics, _ = objective.evaluation(params, jax.tree.map(jnp.asarray, batch))

    memory, total, count = None, 0.0, 0.0
    for s in range(4):
        piece = {key: batch[key][:, s] for key in PERMUTATION_KEYS}
        piece |= {"input_ids": batch["input_ids"][:, 6 * s : 6 * s + 6], "attention_mask": np.ones((4, 6), np.int32)}
        piece = jax.tree.map(jnp.asarray, piece)
        terms_s, _, memory = objective.carried_loss_and_metrics(params, piece, memory)
        (loss, weight), last = terms_s["plm"], piece
        total, count = total + float(loss), count + float(weight)
    np.testing.assert_allclose(terms["plm"], (total, count), rtol=1e-5)
    assert float(count) == 4 * 4 * 2 and set(metrics) == {"plm_accuracy"}
    # Without the memory the same segments score differently.
    alone = PermutationLM(XLNetModel(config.replace(memory_length=0), head="lm"))
    assert abs(float(alone.loss_and_metrics(params, last)[0]["plm"][0]) - float(loss)) > 1e-4
