"""BatchIterator: few shapes, every example once per epoch, seeded order, exact resume, per-process shards."""

import itertools
import json

import numpy as np
import pytest

from plmjax.data import BatchIterator, DataError, EmptyDatasetError


def make_features(lengths, regression=False, pad_token_id=0):
    """Example i is the token ids 1000*i+1 ... (so a row says which example it is), label i (or i/2)."""
    ids = [np.arange(1, n + 1, dtype=np.int32) + 1000 * i for i, n in enumerate(lengths)]
    labels = np.arange(len(lengths), dtype=np.float32) / 2 if regression else np.arange(len(lengths), dtype=np.int32)
    types = [np.r_[np.zeros(n // 2), np.ones(n - n // 2)].astype(np.int32) for n in lengths]
    return {"input_ids": ids, "token_type_ids": types, "labels": labels, "pad_token_id": pad_token_id}


LENGTHS = np.random.default_rng(0).integers(3, 120, size=203).tolist()


def example_ids(batch):
    """The example index of each real row (from its first token id), -1 for padding rows."""
    first = batch["input_ids"][:, 0].astype(np.int64)
    return np.where(batch["weights"] > 0, (first - 1) // 1000, -1)


def test_rows_are_the_examples_padded_to_a_bucket():
    features = make_features(LENGTHS, pad_token_id=7)
    iterator = BatchIterator(features, 16, seed=3, length_buckets=(16, 32, 64, 128))
    for batch in itertools.islice(iterator, 30):
        length = batch["input_ids"].shape[1]
        assert length in (16, 32, 64, 128)
        assert {key: value.dtype.name for key, value in batch.items()} == {
            "input_ids": "int32", "attention_mask": "int32", "token_type_ids": "int32", "labels": "int32",
            "weights": "float32",
        }  # fmt: skip
        for row, index in enumerate(example_ids(batch)):
            n = LENGTHS[index]
            assert n <= length
            np.testing.assert_array_equal(batch["input_ids"][row, :n], features["input_ids"][index])
            assert (batch["input_ids"][row, n:] == 7).all()
            assert batch["attention_mask"][row].tolist() == [1] * n + [0] * (length - n)
            np.testing.assert_array_equal(batch["token_type_ids"][row, :n], features["token_type_ids"][index])
            assert batch["labels"][row] == index
        assert (batch["weights"] == 1).all()


def test_a_training_epoch_uses_each_example_at_most_once_and_loses_less_than_a_batch():
    iterator = BatchIterator(make_features(LENGTHS), 16, seed=0, length_buckets=(16, 32, 64, 128))
    assert len(iterator) == 203 // 16
    seen = np.concatenate([example_ids(next(iterator)) for _ in range(len(iterator))])
    assert len(seen) == len(set(seen.tolist())) == 192
    next(iterator)
    assert iterator.epoch == 1  # an endless iterator moves on to the next epoch


def test_evaluation_pass_covers_every_example_exactly_once():
    features = make_features(LENGTHS, regression=True)
    iterator = BatchIterator(features, 16, seed=0, shuffle=False, drop_remainder=False, length_buckets=(32, 64, 128))
    batches = list(iterator)
    assert len(batches) == len(iterator) == 13  # ceil(203 / 16)
    seen = np.concatenate([example_ids(batch) for batch in batches])
    assert sorted(seen[seen >= 0].tolist()) == list(range(203))
    assert int(sum((batch["weights"] == 0).sum() for batch in batches)) == 13 * 16 - 203
    assert batches[0]["labels"].dtype == np.float32
    assert all((batch["attention_mask"][batch["weights"] == 0] == 0).all() for batch in batches)
    assert list(iterator) == []  # one pass only


def test_few_shapes_and_the_smallest_bucket_that_fits():
    lengths = [5] * 40 + [30] * 40 + [100] * 40
    iterator = BatchIterator(make_features(lengths), 8, seed=1, length_buckets=(32, 16, 128, 64, 512))
    shapes = {next(iterator)["input_ids"].shape for _ in range(3 * len(iterator))}
    assert shapes == {(8, 16), (8, 32), (8, 128)}
    single = BatchIterator(make_features(lengths), 8, seed=1, length_buckets=())
    assert {batch["input_ids"].shape for batch in itertools.islice(single, 20)} == {(8, 100)}


def test_order_depends_only_on_the_seed():
    features = make_features(LENGTHS)

    def run(seed, steps=40):
        iterator = BatchIterator(features, 16, seed=seed, length_buckets=(32, 64, 128))
        return [example_ids(batch).tolist() for batch in itertools.islice(iterator, steps)]

    assert run(5) == run(5)
    assert run(5) != run(6)
    epochs = run(5, steps=24)
    assert epochs[:12] != epochs[12:]  # each epoch is reshuffled


def test_state_resumes_exactly_and_is_json():
    features = make_features(LENGTHS)
    reference = BatchIterator(features, 16, seed=9, length_buckets=(32, 64, 128))
    expected = [example_ids(batch).tolist() for batch in itertools.islice(reference, 40)]
    for stop in (0, 5, 12, 13, 30):  # mid-epoch, at an epoch's end, into the next epochs
        first = BatchIterator(features, 16, seed=9, length_buckets=(32, 64, 128))
        for _ in range(stop):
            next(first)
        state = json.loads(json.dumps(first.get_state()))
        resumed = BatchIterator(features, 16, seed=9, length_buckets=(32, 64, 128))
        resumed.set_state(state)
        assert [example_ids(batch).tolist() for batch in itertools.islice(resumed, 40 - stop)] == expected[stop:]


def test_state_from_other_data_is_refused():
    iterator = BatchIterator(make_features(LENGTHS), 16, seed=9)
    state = iterator.get_state()
    with pytest.raises(ValueError, match="seed=9 but this iterator has 10"):
        BatchIterator(make_features(LENGTHS), 16, seed=10).set_state(state)
    with pytest.raises(ValueError, match="num_examples=203 but this iterator has 202"):
        BatchIterator(make_features(LENGTHS[:-1]), 16, seed=9).set_state(state)


@pytest.mark.parametrize(("drop_remainder", "process_count"), [(True, 2), (False, 2), (True, 4), (False, 4)])
def test_processes_together_yield_the_single_process_batches(drop_remainder, process_count):
    features = make_features(LENGTHS)
    options = dict(seed=4, shuffle=True, drop_remainder=drop_remainder, repeat=False, length_buckets=(32, 64, 128))
    single = list(BatchIterator(features, 16, **options))
    shards = [
        list(BatchIterator(features, 16, process_index=p, process_count=process_count, **options))
        for p in range(process_count)
    ]
    assert all(len(shard) == len(single) for shard in shards)
    for step, batch in enumerate(single):
        parts = [shard[step] for shard in shards]
        assert all(part["input_ids"].shape == (16 // process_count, batch["input_ids"].shape[1]) for part in parts)
        for key in batch:
            np.testing.assert_array_equal(np.concatenate([part[key] for part in parts]), batch[key])


def test_resume_with_a_different_process_count():
    features = make_features(LENGTHS)
    one = BatchIterator(features, 16, seed=2, length_buckets=(32, 64, 128))
    for _ in range(7):
        next(one)
    expected = next(one)
    one_back = BatchIterator(features, 16, seed=2, length_buckets=(32, 64, 128))
    one_back.set_state({"epoch": 0, "position": 7})
    halves = []
    for p in range(2):
        half = BatchIterator(features, 16, seed=2, length_buckets=(32, 64, 128), process_index=p, process_count=2)
        half.set_state(one_back.get_state())
        halves.append(next(half))
    np.testing.assert_array_equal(np.concatenate([h["input_ids"] for h in halves]), expected["input_ids"])


def test_bad_input_is_a_clear_error():
    with pytest.raises(DataError, match="example 1 has 40 tokens, more than the largest length bucket 32"):
        BatchIterator(make_features([3, 40]), 2, seed=0, length_buckets=(16, 32))
    with pytest.raises(EmptyDatasetError, match="no examples"):
        BatchIterator(make_features([]), 2, seed=0)
    with pytest.raises(EmptyDatasetError, match="3 examples make no full batch of 4"):
        BatchIterator(make_features([3, 3, 3]), 4, seed=0)
    with pytest.raises(ValueError, match="multiple of process_count 4"):
        BatchIterator(make_features([3] * 8), 6, seed=0, process_count=4)


def test_row_features_travel_with_their_examples_and_are_zero_in_padding_rows():
    features = make_features(LENGTHS[:21])
    features["mask_positions"] = np.arange(21, dtype=np.int32) % 3
    features["soft_labels"] = np.stack([np.arange(21) / 21, 1 - np.arange(21) / 21], axis=1).astype(np.float32)
    for process in range(2):
        iterator = BatchIterator(features, 8, seed=0, shuffle=False, drop_remainder=False, process_index=process,
                                 process_count=2, length_buckets=())  # fmt: skip
        for batch in iterator:
            assert batch["soft_labels"].dtype == np.float32 and batch["mask_positions"].dtype == np.int32
            ids = example_ids(batch)
            for row, index in enumerate(ids):
                if index < 0:
                    assert batch["mask_positions"][row] == 0 and not batch["soft_labels"][row].any()
                else:
                    assert batch["mask_positions"][row] == index % 3
                    np.testing.assert_array_equal(batch["soft_labels"][row], features["soft_labels"][index])
