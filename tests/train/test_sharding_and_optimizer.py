"""The logical axis rules, the mesh, and the learning-rate schedules."""

import logging

import ml_collections
import numpy as np
import pytest
from jax.sharding import PartitionSpec

from plmjax.train import sharding
from plmjax.train.config import default_config
from plmjax.train.optimizer import learning_rate_schedule


class FakeMesh:
    def __init__(self, **shape):
        self.shape = shape


def test_rules_shard_by_mesh_axis_and_fall_back_to_replication(caplog):
    fsdp = FakeMesh(data=1, fsdp=4, tensor=1)
    assert sharding.spec_for(fsdp, (384, 1536), ("embed", "mlp")) == PartitionSpec("fsdp", None)
    assert sharding.spec_for(fsdp, (30522, 384), ("vocab", "embed_in")) == PartitionSpec(None, "fsdp")
    tensor = FakeMesh(data=2, fsdp=1, tensor=2)
    assert sharding.spec_for(tensor, (384, 1536), ("embed", "mlp")) == PartitionSpec(None, "tensor")
    # 30522 is not divisible by 4: that dimension stays whole rather than failing.
    assert sharding.spec_for(FakeMesh(data=1, fsdp=1, tensor=4), (30522, 384), ("vocab", "embed_in")) == (
        PartitionSpec(None, None)
    )
    both = FakeMesh(data=1, fsdp=2, tensor=2)
    assert sharding.spec_for(both, (64, 64), ("heads", "embed")) == PartitionSpec("tensor", "fsdp")
    with caplog.at_level(logging.WARNING):
        assert sharding.spec_for(fsdp, (8, 8), ("new_axis_name", "embed")) == PartitionSpec(None, "fsdp")
        sharding.spec_for(fsdp, (8, 8), ("new_axis_name", "embed"))
    assert caplog.text.count("'new_axis_name' has no sharding rule") == 1  # warned once


def test_mesh_sizes():
    import jax

    config = ml_collections.ConfigDict({"data": -1, "fsdp": 1, "tensor": 1})
    mesh = sharding.make_mesh(config)
    assert dict(mesh.shape) == {"data": jax.device_count(), "fsdp": 1, "tensor": 1}
    with pytest.raises(ValueError, match="needs 3 devices"):
        sharding.make_mesh(ml_collections.ConfigDict({"data": 3, "fsdp": 1, "tensor": 1}))
    with pytest.raises(ValueError, match="at most one mesh axis may be -1"):
        sharding.make_mesh(ml_collections.ConfigDict({"data": -1, "fsdp": -1, "tensor": 1}))


@pytest.mark.parametrize("decay", ["linear", "cosine", "constant"])
def test_warmup_then_decay(decay):
    config = default_config().optimizer
    config.update(learning_rate=1.0, warmup_steps=10, decay=decay, end_learning_rate_fraction=0.1)
    schedule = learning_rate_schedule(config, num_steps=110)
    values = np.asarray([float(schedule(step)) for step in range(111)])
    np.testing.assert_allclose(values[:11], np.linspace(0.0, 1.0, 11), atol=1e-6)
    if decay == "constant":
        np.testing.assert_allclose(values[10:], 1.0)
        return
    np.testing.assert_allclose(values[110], 0.1, atol=1e-6)
    assert np.all(np.diff(values[10:]) <= 1e-7)
    middle = 0.55 if decay == "linear" else 0.1 + 0.9 * 0.5  # halfway through the decay
    np.testing.assert_allclose(values[60], middle, atol=1e-6)


def test_warmup_fraction_and_unknown_names():
    config = default_config().optimizer
    config.update(learning_rate=2.0, warmup_steps=-1, warmup_fraction=0.25)
    schedule = learning_rate_schedule(config, num_steps=40)
    assert float(schedule(10)) == pytest.approx(2.0)
    config.decay = "exponential"
    with pytest.raises(ValueError, match="choose one of"):
        learning_rate_schedule(config, 10)
