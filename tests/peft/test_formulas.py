"""Exact formulas on hand-checked examples: the bottleneck adapter and where it sits, LoRA (alpha / r and
rsLoRA's alpha / sqrt(r)) and IA3 in a Dense, and P-tuning soft tokens around hard anchors in a template."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from plmjax import peft
from plmjax.models import EncoderModel, init_params, preset
from plmjax.models.hooks import PeftConfig
from plmjax.models.layers import HookedDense
from plmjax.peft.methods.adapters import BottleneckAdapter
from plmjax.peft.methods.ia3 import Ia3
from plmjax.peft.methods.lora import Lora
from tests.peft.helpers import plmjax_output

CONFIG = preset(
    "bert-base",
    vocab_size=40,
    hidden_size=8,
    num_layers=1,
    num_heads=2,
    intermediate_size=12,
    max_position_embeddings=32,
)


def test_bottleneck_adapter_by_hand():
    config = CONFIG.replace(hidden_size=2)
    params = {
        "down": {"kernel": jnp.array([[1.0], [2.0]]), "bias": jnp.array([0.5])},
        "up": {"kernel": jnp.array([[0.1, -0.2]]), "bias": jnp.array([0.0, 1.0])},
    }
    # down: 1 * 1 + 2 * 2 + 0.5 = 5.5; relu: 5.5; up: [0.55, -1.1 + 1] = [0.55, -0.1]; plus the input [1, 2].
    out = BottleneckAdapter(config, 1, "relu", 1e-2).apply({"params": params}, jnp.array([[1.0, 2.0]]))
    np.testing.assert_allclose(np.asarray(out), [[1.55, 1.9]], rtol=1e-6)
    out = BottleneckAdapter(config, 1, "tanh", 1e-2).apply({"params": params}, jnp.array([[1.0, 2.0]]))
    np.testing.assert_allclose(np.asarray(out), [[1 + 0.1 * np.tanh(5.5), 2 - 0.2 * np.tanh(5.5) + 1]], rtol=1e-6)


def test_adapters_sit_on_the_branch_output_before_the_residual():
    """An adapter whose up-projection is 0 with bias v adds v to its branch's output: the same model as adding v
    to the attention output / feed-forward output bias. Houlsby has both, Pfeiffer the feed-forward one only."""
    model = EncoderModel(CONFIG, head="classification")
    params = init_params(model, jax.random.key(0))
    ids = np.array([[3, 4, 5, 6, 7, 8]])
    v_attention, v_mlp = np.linspace(-1, 1, 8), np.linspace(1, -0.5, 8)
    for kind in ("houlsby", "pfeiffer"):
        adapted, adapted_params, _ = peft.apply(kind, model, params, size=3)
        flat = traverse_util.flatten_dict(adapted_params)
        expected = dict(traverse_util.flatten_dict(params))
        layer = ("encoder", "layers_0")
        for site, v, bias in (("attention", v_attention, "attention"), ("mlp", v_mlp, "mlp")):
            if (*layer, f"{site}_adapter", "up", "kernel") not in flat:
                continue
            flat[(*layer, f"{site}_adapter", "up", "kernel")] = jnp.zeros((3, 8))
            flat[(*layer, f"{site}_adapter", "up", "bias")] = jnp.asarray(v, jnp.float32)
            expected[(*layer, bias, "output", "bias")] = expected[(*layer, bias, "output", "bias")] + v
        assert (kind == "houlsby") == ((*layer, "attention_adapter", "up", "bias") in flat)
        ours = plmjax_output(adapted, traverse_util.unflatten_dict(flat), {"input_ids": ids})
        theirs = plmjax_output(model, traverse_util.unflatten_dict(expected), {"input_ids": ids})
        np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)


def dense_params(method, features_in=3, features_out=2):
    layer = HookedDense(features_out, peft=PeftConfig((method,)), axes=("embed", "mlp"))
    return layer, nn.meta.unbox(layer.init(jax.random.key(0), jnp.ones((1, features_in)))["params"])


def test_lora_scale_and_rslora_scale_by_hand():
    x = np.array([[1.0, 0.0, 2.0]], np.float32)
    kernel = np.arange(6, dtype=np.float32).reshape(3, 2)
    bias = np.array([0.5, -0.5], np.float32)
    lora_a = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]], np.float32)  # rank 4
    lora_b = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [1.0, 1.0]], np.float32)
    # x W + b = [0 + 8, 1 + 10] + b = [8.5, 10.5]; x A = [1, 0, 2, 2]; x A B = [1 + 2, 2 + 2] = [3, 4].
    for rslora, scale in ((False, 8 / 4), (True, 8 / 2)):
        layer, params = dense_params(Lora(targets=".*", rank=4, alpha=8, rslora=rslora))
        assert set(params) == {"kernel", "bias", "lora_a", "lora_b"}
        assert not np.any(params["lora_b"])  # B starts at zero: the layer starts as the base layer
        out = layer.apply({"params": dict(kernel=kernel, bias=bias, lora_a=lora_a, lora_b=lora_b)}, x)
        np.testing.assert_allclose(np.asarray(out), [[8.5 + scale * 3, 10.5 + scale * 4]], rtol=1e-6)


def test_lora_dropout_acts_on_the_input_only_while_training():
    layer, params = dense_params(Lora(targets=".*", rank=2, dropout=0.5))
    params = dict(params, lora_b=jnp.ones((2, 2)))
    x = jnp.ones((64, 3))
    forward = jax.jit(lambda rngs: layer.apply({"params": params}, x, rngs=rngs))
    evaluation = forward(None)
    assert np.allclose(evaluation, evaluation[0])
    training = forward({"dropout": jax.random.key(1)})
    base = x @ params["kernel"] + params["bias"]
    low_rank = np.asarray(training - base)
    assert len(np.unique(low_rank.round(5), axis=0)) > 1  # masks differ by row
    low_rank = 8 / 2 * (x @ params["lora_a"] @ params["lora_b"])  # default alpha 8, rank 2
    np.testing.assert_allclose(np.asarray(evaluation - base), np.asarray(low_rank), rtol=1e-5)


def test_ia3_scales_the_output_or_the_input_by_hand():
    x = np.array([[1.0, 2.0, 3.0]], np.float32)
    kernel = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], np.float32)
    bias = np.array([1.0, 2.0], np.float32)
    layer, params = dense_params(Ia3(targets=".*", input_targets=""))
    assert params["ia3_scale"].shape == (2,) and np.all(params["ia3_scale"] == 1)
    out = layer.apply({"params": dict(kernel=kernel, bias=bias, ia3_scale=np.array([2.0, -1.0]))}, x)
    np.testing.assert_allclose(np.asarray(out), [[(4 + 1) * 2, (5 + 2) * -1]])  # (x W + b) * l
    layer, params = dense_params(Ia3(targets=".*", input_targets=".*"))
    assert params["ia3_scale"].shape == (3,)
    out = layer.apply({"params": dict(kernel=kernel, bias=bias, ia3_scale=np.array([1.0, 0.5, 0.0]))}, x)
    np.testing.assert_allclose(np.asarray(out), [[1 + 1, 1 + 2]])  # (x * l) W + b with x * l = [1, 1, 0]


def test_p_tuning_soft_tokens_around_anchors_and_input_by_hand():
    vocab = CONFIG.vocab_size
    template = [2, "premise", [30], 1, [31], "hypothesis"]  # soft, premise, "?", soft, [MASK], hypothesis
    ids = peft.template_ids(template, {"premise": [5, 6, 7], "hypothesis": [8, 9]}, vocab)
    assert ids == [vocab, vocab + 1, 5, 6, 7, 30, vocab + 2, 31, 8, 9]

    model = EncoderModel(CONFIG, head="mlm")
    params = init_params(model, jax.random.key(0))
    adapted, adapted_params, _ = peft.apply(
        "p_tuning", model, params, length=3, encoder="mlp", hidden_size=5, placement="template", rng=jax.random.key(1)
    )
    p = {
        k: {n: np.asarray(v) for n, v in d.items()} if isinstance(d, dict) else np.asarray(d)
        for k, d in adapted_params["soft_prompt"].items()
    }
    relu = lambda z: np.maximum(z, 0)  # noqa: E731
    hidden = relu(
        relu(p["embedding"] @ p["mlp_0"]["kernel"] + p["mlp_0"]["bias"]) @ p["mlp_1"]["kernel"] + p["mlp_1"]["bias"]
    )
    soft = hidden @ p["mlp_2"]["kernel"] + p["mlp_2"]["bias"]  # [3 soft tokens, 8]

    e = traverse_util.flatten_dict(adapted_params)
    words = np.asarray(e[("embeddings", "word_embeddings", "embedding")])
    vectors = np.stack([soft[i - vocab] if i >= vocab else words[i] for i in ids])
    x = vectors + np.asarray(e[("embeddings", "position_embeddings", "embedding")])[: len(ids)]
    x = x + np.asarray(e[("embeddings", "token_type_embeddings", "embedding")])[0]
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    scale, bias = np.asarray(e[("embeddings", "norm", "scale")]), np.asarray(e[("embeddings", "norm", "bias")])
    expected = (x - mean) / np.sqrt(var + CONFIG.layer_norm_eps) * scale + bias

    forward = jax.jit(lambda params, ids: adapted.apply({"params": params}, ids, output_hidden_states=True))
    out = forward(adapted_params, np.array([ids]))
    np.testing.assert_allclose(np.asarray(out.hidden_states[0][0]), expected, atol=1e-5, rtol=0)
    assert out.logits.shape == (1, len(ids), vocab)  # soft tokens take slots in the input: no shift
