"""SimCSE's loss equals princeton-nlp/SimCSE's cl_forward arithmetic (ported below) on a tiny random BERT from
transformers, unsupervised (two views) and supervised (triplets, with a hard-negative weight), to 1e-5; a
padding row is neither an anchor nor a negative."""

import jax
import numpy as np
import pytest

import plmjax
from plmjax.sentence.simcse import MLP, SimCSE
from tests.hf.tiny_models import make_hf_model


def cl_forward_loss(hf, batch, kernel, bias, temp, hard_negative_weight):
    """SimCSE's models.py cl_forward: encoder on [bs * num_sent, len], [CLS], MLPLayer (dense + tanh), cosine /
    temp, the hard negatives' weight matrix, CrossEntropyLoss with labels arange."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    input_ids = torch.tensor(batch["input_ids"].astype(np.int64))
    batch_size, num_sent = input_ids.shape[:2]
    mask = torch.tensor(batch["attention_mask"].astype(np.int64))
    flat = dict(input_ids=input_ids.view(-1, input_ids.size(-1)), attention_mask=mask.view(-1, input_ids.size(-1)))
    with torch.no_grad():
        outputs = hf(**flat)
        pooler_output = outputs.last_hidden_state[:, 0].view(batch_size, num_sent, -1)
        pooler_output = torch.tanh(pooler_output @ torch.tensor(np.asarray(kernel)) + torch.tensor(np.asarray(bias)))
        z1, z2 = pooler_output[:, 0], pooler_output[:, 1]
        cos_sim = F.cosine_similarity(z1.unsqueeze(1), z2.unsqueeze(0), dim=-1) / temp
        if num_sent == 3:
            z3 = pooler_output[:, 2]
            z1_z3_cos = F.cosine_similarity(z1.unsqueeze(1), z3.unsqueeze(0), dim=-1) / temp
            cos_sim = torch.cat([cos_sim, z1_z3_cos], 1)
        labels = torch.arange(cos_sim.size(0)).long()
        if num_sent == 3:
            z3_weight = hard_negative_weight
            weights = torch.tensor(
                [
                    [0.0] * (cos_sim.size(-1) - z1_z3_cos.size(-1)) + [0.0] * i + [z3_weight]
                    + [0.0] * (z1_z3_cos.size(-1) - i - 1)
                    for i in range(z1_z3_cos.size(-1))
                ]
            )  # fmt: skip
            cos_sim = cos_sim + weights
        return float(torch.nn.CrossEntropyLoss()(cos_sim, labels))


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    hf = make_hf_model("bert", None).eval()
    path = tmp_path_factory.mktemp("bert")
    hf.save_pretrained(path)
    model, params = plmjax.from_pretrained(str(path))
    return hf, model, params


def _batch(rows, views, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, 99, (rows, views, 9)).astype(np.int32)
    mask = np.ones_like(ids)
    mask[0, 1, 6:] = 0  # views of different lengths
    return {"input_ids": ids, "attention_mask": mask, "weights": np.ones(rows, np.float32)}


@pytest.mark.parametrize(("views", "weight"), [(2, 0.0), (3, 0.0), (3, 0.7)])
def test_the_loss_equals_simcse_cl_forward(encoder, views, weight):
    hf, model, params = encoder
    objective = SimCSE(model, temperature=0.05, hard_negative_weight=weight)
    params = objective.add_mlp_params(params, jax.random.key(1))
    batch = _batch(4, views)
    ours = float(objective.loss(params, batch))
    expected = cl_forward_loss(hf, batch, params[MLP]["kernel"], params[MLP]["bias"], 0.05, weight)
    assert ours == pytest.approx(expected, abs=1e-5)


def test_a_padding_row_is_neither_anchor_nor_negative(encoder):
    _, model, params = encoder
    objective = SimCSE(model, hard_negative_weight=0.3)
    params = objective.add_mlp_params(params, jax.random.key(1))
    batch = _batch(4, 3)
    padded = {k: np.concatenate([v, v[:1]]) for k, v in batch.items()}
    padded["weights"][-1] = 0.0
    assert float(objective.loss(params, padded)) == pytest.approx(float(objective.loss(params, batch)), abs=1e-5)


SHARDED_CODE = """
import jax, jax.numpy as jnp, numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
import plmjax
from plmjax.sentence.simcse import SimCSE
assert jax.device_count() == 8
from plmjax.models import build_model
model = build_model(plmjax.preset("bert-base", num_layers=1, hidden_size=32, num_heads=2,
                                  intermediate_size=64, vocab_size=99, max_position_embeddings=64))
objective = SimCSE(model, hard_negative_weight=0.5)
params = objective.init(jax.random.key(0))
rng = np.random.default_rng(0)
batch = {"input_ids": rng.integers(5, 99, (16, 3, 8)).astype(np.int32), "attention_mask": np.ones((16, 3, 8), np.int32),
         "weights": np.ones(16, np.float32)}
loss_and_grad = jax.value_and_grad(objective.loss)
one_loss, one_grad = jax.jit(loss_and_grad)(params, batch)
mesh = Mesh(np.array(jax.devices()), ("data",))
sharded = jax.device_put(batch, NamedSharding(mesh, P("data")))
assert len(sharded["input_ids"].sharding.device_set) == 8
eight_loss, eight_grad = jax.jit(loss_and_grad)(params, sharded)
assert abs(float(one_loss) - float(eight_loss)) <= 1e-5 * abs(float(one_loss)), (one_loss, eight_loss)
for a, b in zip(jax.tree.leaves(one_grad), jax.tree.leaves(eight_grad)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)
print("losses", float(one_loss), float(eight_loss))
"""


def test_the_loss_over_a_batch_sharded_on_eight_devices_equals_one_devices():
    from tests.train.runs import run_python

    result = run_python(SHARDED_CODE, devices=8, timeout=300)
    assert "losses" in result.stdout
