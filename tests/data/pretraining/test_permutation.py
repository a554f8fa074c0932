"""XLNet's permutation-LM batches: partial prediction of the last 1/K of a random factorisation order, and the
perm_mask that lets each target see exactly the context and the targets before it, over many samples."""

import numpy as np
import pytest

from plmjax.data.pretraining.permutation import PermutationLmCollator, permutation_targets


def test_each_target_sees_the_context_and_the_earlier_targets():
    rng = np.random.default_rng(0)
    for length, k in [(12, 6), (7, 3), (5, 1), (1, 6)]:
        perm_mask, targets = permutation_targets(length, k, rng)
        count = -(-length // k)
        assert len(targets) == len(set(targets)) == count
        context = sorted(set(range(length)) - set(targets.tolist()))
        for rank, target in enumerate(targets):
            visible = set(np.flatnonzero(~perm_mask[target]).tolist())
            assert visible == set(context) | set(targets[:rank].tolist())  # never itself, never a later target
        for position in context:
            assert set(np.flatnonzero(~perm_mask[position]).tolist()) == set(context)


def test_every_position_is_a_target_equally_often_and_orders_are_uniform():
    rng = np.random.default_rng(1)
    length, k, samples = 12, 4, 6000
    hits = np.zeros(length)
    first = np.zeros(length)
    for _ in range(samples):
        _, targets = permutation_targets(length, k, rng)
        hits[targets] += 1
        first[targets[0]] += 1
    expected = samples * 3 / length  # 3 targets of 12
    assert np.all(np.abs(hits - expected) < 5 * np.sqrt(expected))
    expected_first = samples / length
    assert np.all(np.abs(first - expected_first) < 5 * np.sqrt(expected_first))


def test_collator_pads_rows_and_maps_targets():
    collator = PermutationLmCollator(max_length=10, pad_token_id=0, partial_prediction=3, batch_size=3)
    rows = [list(range(11, 21)), list(range(31, 36))]
    batch = collator(rows, np.random.default_rng(2))
    assert batch["perm_mask"].shape == (3, 10, 10) and batch["target_mapping"].shape == (3, 4, 10)
    assert batch["target_weights"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 0, 0]]
    for row in range(2):
        real = int(batch["attention_mask"][row].sum())
        for m in range(int(batch["target_weights"][row].sum())):
            position = int(np.argmax(batch["target_mapping"][row, m]))
            assert batch["target_mapping"][row, m].sum() == 1 and position < real
            assert batch["target_ids"][row, m] == batch["input_ids"][row, position]
        assert not batch["perm_mask"][row, :, real:].any()  # padding is the attention mask's job
    with pytest.raises(ValueError, match="K >= 1"):
        PermutationLmCollator(10, 0, 0)
