"""Transformer-XL (plmjax family "transfo_xl"): its relative attention against the NumPy reference of the paper's
equations (transformer_xl_reference.py), and its segment memory against the same tokens in one long segment."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from plmjax.models.attention import MultiHeadAttention, causal_bias
from plmjax.models.config import TransformerConfig
from plmjax.models.decoder import DecoderModel
from plmjax.models.presets import TRANSFORMER_XL_ARCHITECTURE
from plmjax.models.relative_positions import RelativeInputs, distance_sinusoids, relative_shift
from plmjax.models.segment_memory import empty_memory
from tests.models.transformer_xl_reference import relative_attention

TINY = dict(
    TRANSFORMER_XL_ARCHITECTURE,
    vocab_size=50,
    hidden_size=16,
    num_layers=2,
    num_heads=2,
    intermediate_size=32,
    hidden_dropout=0.0,
    attention_dropout=0.0,
)


def test_relative_shift_puts_distance_memory_plus_i_minus_j_in_column_j():
    queries, keys = 3, 5  # 2 memory slots
    rows = keys + 1
    distance_of_row = keys - np.arange(rows)
    scores = np.broadcast_to(distance_of_row.astype(np.float32), (queries, rows))
    shifted = np.asarray(relative_shift(jnp.asarray(scores), keys))
    for i in range(queries):
        for j in range(2 + i + 1):  # the keys query i may see
            assert shifted[i, j] == 2 + i - j


@pytest.mark.parametrize("memory_slots", [0, 3])
def test_attention_equals_the_papers_equations(memory_slots):
    config = TransformerConfig(**TINY)
    length, d = 4, config.hidden_size
    rng = np.random.default_rng(0)
    h = rng.normal(size=(1, length, d)).astype(np.float32)
    memory = rng.normal(size=(1, memory_slots, d)).astype(np.float32)
    keys = memory_slots + length
    relative = RelativeInputs(distance_sinusoids(keys, 0, d))
    bias = causal_bias(None, memory_slots + jnp.arange(length), keys, 1, jnp.float32)
    attention = MultiHeadAttention(config)
    args = (h, bias, True, None, None, None, memory if memory_slots else None, relative)
    params = nn.meta.unbox(attention.init(jax.random.key(0), *args)["params"])
    # Biases on the random init are zero-mean noise; make u and v clearly matter.
    params = jax.tree.map(lambda x: x * 3.0, params)
    ours, _ = attention.apply({"params": params}, *args)
    p = jax.tree.map(np.asarray, params)
    expected = relative_attention(
        h[0].astype(np.float64),
        memory[0].astype(np.float64),
        p["query"]["kernel"],
        p["key"]["kernel"],
        p["value"]["kernel"],
        p["relative_position"]["kernel"],
        p["output"]["kernel"],
        p["content_bias"],
        p["position_bias"],
        config.num_heads,
    )
    assert "bias" not in p["query"]  # Transformer-XL's projections have no biases
    np.testing.assert_allclose(np.asarray(ours[0]), expected, atol=1e-5)


def _model_and_params(memory_length):
    config = TransformerConfig(**TINY, memory_length=memory_length)
    model = DecoderModel(config, head="lm")
    params = nn.meta.unbox(model.init(jax.random.key(1), jnp.ones((2, 4), jnp.int32))["params"])
    return model, params


def test_segments_with_memory_equal_one_long_segment():
    """With a memory as long as what came before, segment by segment gives the logits of the whole sequence
    in one pass: the memory holds exactly the earlier positions' layer inputs, at the right distances."""
    tokens = jax.random.randint(jax.random.key(2), (2, 12), 0, 50)
    model, params = _model_and_params(memory_length=8)
    whole_model = DecoderModel(model.config.replace(memory_length=12), head="lm")
    whole = jax.jit(whole_model.apply)({"params": params}, tokens).logits

    def run_segments(memory_length):
        """Logits of the three 4-token segments in turn, and the last memory."""
        segment_model = DecoderModel(model.config.replace(memory_length=memory_length), head="lm")
        step = jax.jit(lambda tokens, memory: segment_model.apply({"params": params}, tokens, memory=memory))
        memory, pieces = empty_memory(segment_model.config, 2), []
        for start in range(0, 12, 4):
            out = step(tokens[:, start : start + 4], memory)
            memory, pieces = out.memory, pieces + [out.logits]
        return np.concatenate(pieces, axis=1), memory

    logits, memory = run_segments(8)
    np.testing.assert_allclose(logits, whole, atol=1e-5)
    # The memory keeps the last 8 positions' layer inputs, every slot now real.
    assert memory.mask.tolist() == [[1] * 8] * 2
    # A shorter memory sees less: the third segment differs once its queries need more than 4 slots back.
    short, _ = run_segments(4)
    np.testing.assert_allclose(short[:, :8], whole[:, :8], atol=1e-5)
    assert np.abs(short[:, 8:] - whole[:, 8:]).max() > 1e-4  # the match above is to 1e-5


def test_no_gradient_flows_into_the_memory():
    model, params = _model_and_params(memory_length=4)
    tokens = jax.random.randint(jax.random.key(3), (2, 8), 0, 50)

    def second_segment_loss(params, stop):
        memory = model.apply({"params": params}, tokens[:, :4]).memory
        if stop:
            memory = jax.lax.stop_gradient(memory)
        return jnp.sum(model.apply({"params": params}, tokens[:, 4:], memory=memory).logits ** 2)

    gradient = jax.jit(jax.grad(second_segment_loss), static_argnums=1)
    through, stopped = gradient(params, False), gradient(params, True)
    for a, b in zip(jax.tree.leaves(through), jax.tree.leaves(stopped), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_memory_shapes_and_errors():
    model, params = _model_and_params(memory_length=6)
    empty = empty_memory(model.config, batch=2)
    assert [s.shape for s in empty.states] == [(2, 6, 16)] * 2 and not empty.mask.any()
    # An empty memory is the first segment: every slot masked, the same logits as no memory at all.
    tokens = jnp.arange(8).reshape(2, 4)
    first = model.apply({"params": params}, tokens).logits
    np.testing.assert_allclose(model.apply({"params": params}, tokens, memory=empty).logits, first, atol=1e-6)
    with pytest.raises(ValueError, match="relative_sinusoid"):
        TransformerConfig(memory_length=4)
    gpt = DecoderModel(TransformerConfig(**dict(TINY, family="gpt2")), head="lm")
    with pytest.raises(ValueError, match="memory_length 0"):
        gpt.init(jax.random.key(0), tokens, memory=empty)
