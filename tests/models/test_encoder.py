"""Encoder properties that parity tests do not cover: dtypes, remat, dropout, sharing, logical axes."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import traverse_util

from plmjax.models import EncoderModel, init_params, preset
from plmjax.models.init import abstract_params
from plmjax.models.layers import padding_position_ids

TINY = dict(vocab_size=101, hidden_size=32, num_layers=2, num_heads=4, intermediate_size=48, max_position_embeddings=32)
IDS = jnp.array([[5, 6, 7, 8, 9, 10], [11, 12, 13, 0, 0, 0]])
MASK = (IDS != 0).astype(jnp.int32)


def tiny(name="bert-base", **changes):
    return preset(name, **{**TINY, **changes})


@pytest.fixture(scope="module")
def mlm_model_and_params():
    model = EncoderModel(tiny(), head="mlm")
    return model, init_params(model, jax.random.key(0))


def test_bfloat16_compute_keeps_float32_params_and_tracks_float32(mlm_model_and_params):
    model, params = mlm_model_and_params
    half = EncoderModel(tiny(dtype="bfloat16"), head="mlm")
    out32 = model.apply({"params": params}, IDS, attention_mask=MASK)
    out16 = half.apply({"params": params}, IDS, attention_mask=MASK)
    assert out16.logits.dtype == jnp.bfloat16 and out32.logits.dtype == jnp.float32
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(params))
    np.testing.assert_allclose(np.asarray(out16.logits, np.float32), np.asarray(out32.logits), atol=0.1)
    assert not np.array_equal(np.asarray(out16.logits, np.float32), np.asarray(out32.logits))


def test_bfloat16_params_are_stored_in_bfloat16():
    model = EncoderModel(tiny(param_dtype="bfloat16"))
    assert all(leaf.dtype == jnp.bfloat16 for leaf in jax.tree.leaves(abstract_params(model)))


def test_remat_changes_neither_outputs_nor_gradients(mlm_model_and_params):
    model, params = mlm_model_and_params
    remat = EncoderModel(tiny(remat=True), head="mlm")

    def loss(m, p):
        return jnp.mean(m.apply({"params": p}, IDS, attention_mask=MASK).logits ** 2)

    value, grads = jax.value_and_grad(lambda p: loss(model, p))(params)
    value_remat, grads_remat = jax.value_and_grad(lambda p: loss(remat, p))(params)
    np.testing.assert_allclose(value, value_remat, rtol=1e-6)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(grads_remat), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)
    assert any(float(jnp.abs(g).sum()) > 0 for g in jax.tree.leaves(grads))


def test_dropout_only_when_not_deterministic(mlm_model_and_params):
    model, params = mlm_model_and_params

    def run(seed, deterministic):
        rngs = {"dropout": jax.random.key(seed)}
        return model.apply({"params": params}, IDS, attention_mask=MASK, deterministic=deterministic, rngs=rngs).logits

    np.testing.assert_array_equal(run(0, True), run(1, True))
    assert not np.allclose(run(0, False), run(1, False))
    np.testing.assert_array_equal(run(2, False), run(2, False))


def test_every_parameter_has_logical_axes_of_its_rank():
    for head in ("pretraining", "classification", "token_classification", "span"):
        boxed = abstract_params(EncoderModel(tiny("albert-base-v2", num_hidden_groups=1), head=head), boxed=True)
        flat = traverse_util.flatten_dict(boxed)
        for path, leaf in flat.items():
            assert isinstance(leaf, nn.LogicallyPartitioned), f"{'/'.join(path)} has no logical axes"
            assert len(leaf.names) == leaf.value.ndim, path
    specs = nn.get_partition_spec(abstract_params(EncoderModel(tiny()), boxed=True))
    assert tuple(specs["encoder"]["layers_0"]["attention"]["query"]["kernel"]) == ("embed", "heads")
    assert tuple(specs["encoder"]["layers_0"]["mlp"]["output"]["kernel"]) == ("mlp", "embed")


def test_albert_sharing_makes_parameters_independent_of_depth():
    def count(layers):
        params = abstract_params(EncoderModel(tiny("albert-base-v2", num_layers=layers, num_hidden_groups=1)))
        return sum(leaf.size for leaf in jax.tree.leaves(params))

    assert count(2) == count(12)
    unshared = abstract_params(EncoderModel(tiny("albert-base-v2", num_layers=4, num_hidden_groups=4)))
    assert len(unshared["encoder"]) == 4


def test_roberta_positions_skip_padding():
    ids = jnp.array([[0, 5, 6, 2, 1, 1]])
    np.testing.assert_array_equal(padding_position_ids(ids, pad_token_id=1), [[2, 3, 4, 5, 1, 1]])


def test_published_parameter_counts():
    # Parameter counts of the same architectures built by transformers (BertModel, RobertaModel, ...).
    expected = {
        "bert-base": 109_482_240,
        "roberta-base": 124_645_632,
        "albert-base-v2": 11_683_584,
        "distilbert-base": 66_362_880,
        "electra-small-discriminator": 13_483_008,
        "mpnet-base": 109_486_464,
    }
    for name, count in expected.items():
        params = abstract_params(EncoderModel(preset(name)))
        assert sum(leaf.size for leaf in jax.tree.leaves(params)) == count, name


def test_bad_configs_are_clear_errors():
    with pytest.raises(ValueError, match="not divisible by num_heads"):
        tiny(num_heads=5)
    with pytest.raises(ValueError, match=r"unknown activation 'nope'; known: \["):
        tiny(hidden_act="nope")
    with pytest.raises(ValueError, match=r"unknown preset 'bert-huge'; presets: \["):
        preset("bert-huge")
    with pytest.raises(ValueError, match="dtype='float33'; choose float32, bfloat16 or float16"):
        tiny(dtype="float33")


def test_tracing_in_threads_builds_no_module_classes():
    """The trainer traces its step in a compile thread while the main thread runs the model: module classes made
    per call (nn.remat(...) inside __call__) raced in flax's dataclass processing ("dictionary changed size")."""
    import concurrent.futures

    model = EncoderModel(tiny(remat=True), head="mlm")

    def trace(seed):
        return jax.eval_shape(lambda: model.init(jax.random.key(seed), IDS, attention_mask=MASK))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        shapes = list(pool.map(trace, range(16)))
    assert all(jax.tree.structure(s) == jax.tree.structure(shapes[0]) for s in shapes)
    from plmjax.models.stack import TransformerLayer

    def module_classes():
        return len(nn.LayerNorm.__subclasses__()) + len(TransformerLayer.__subclasses__())

    before = module_classes()
    trace(0)
    assert module_classes() == before
