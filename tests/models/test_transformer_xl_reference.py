"""The NumPy reference of Transformer-XL's attention (transformer_xl_reference.py) checked against what it must
reduce to, before any model is tested against it."""

import numpy as np

from tests.models.transformer_xl_reference import relative_attention, sinusoid


def test_the_reference_without_memory_and_position_terms_is_causal_attention():
    """A check of the reference itself: with u = v = 0 and W_r = 0 it is plain causal softmax attention."""
    rng = np.random.default_rng(0)
    d, heads, length = 8, 2, 5
    h = rng.normal(size=(length, d))
    w = [rng.normal(size=(d, d)) for _ in range(4)]
    zeros = np.zeros((heads, d // heads))
    ours = relative_attention(h, np.zeros((0, d)), w[0], w[1], w[2], np.zeros((d, d)), w[3], zeros, zeros, heads)
    q, k, val = (h @ w[0]).reshape(length, heads, -1), (h @ w[1]).reshape(length, heads, -1), h @ w[2]
    expected = np.zeros((length, d))
    for n in range(heads):
        scores = q[:, n] @ k[:, n].T / np.sqrt(d // heads) + np.triu(np.full((length, length), -np.inf), 1)
        weights = np.exp(scores - scores.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        expected[:, n * (d // heads) : (n + 1) * (d // heads)] = weights @ val.reshape(length, heads, -1)[:, n]
    np.testing.assert_allclose(ours, expected @ w[3], atol=1e-10)


def test_distance_table_memory_and_causality():
    rng = np.random.default_rng(1)
    d, heads = 8, 2
    # The distance embedding: row t is [sin(t / 10000^(2k/d)) for k] then the cosines.
    table = sinusoid(np.arange(3), d)
    np.testing.assert_allclose(table[2, : d // 2], np.sin(2 / 10000 ** (np.arange(0, d, 2) / d)))
    np.testing.assert_allclose(table[0], np.r_[np.zeros(d // 2), np.ones(d // 2)])
    h = rng.normal(size=(4, d))
    w = [rng.normal(size=(d, d)) * 0.3 for _ in range(5)]
    u, v = rng.normal(size=(heads, d // heads)), rng.normal(size=(heads, d // heads))
    memory = rng.normal(size=(2, d))
    out = relative_attention(h, memory, *w, u, v, heads)
    # Every query sees the whole memory: another memory changes even the first query's output.
    assert not np.allclose(out[0], relative_attention(h, rng.normal(size=(2, d)), *w, u, v, heads)[0])
    # Causal within the segment: changing the last token leaves the earlier queries' outputs as they were.
    changed = h.copy()
    changed[-1] += 1.0
    again = relative_attention(changed, memory, *w, u, v, heads)
    np.testing.assert_allclose(again[:-1], out[:-1], atol=1e-12)
    assert not np.allclose(again[-1], out[-1])
