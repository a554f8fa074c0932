"""Transformer-XL's attention (Dai et al. 2019, section 3.3), written out in NumPy from the paper's equations for
the tests: one query and one key at a time, distances indexed directly (no "relative shift" trick), so that an
implementation that uses the trick, or memory, or masking, is checked against arithmetic that is plainly right.

For layer input h [T, d] and memory m [M, d] (the previous segment's states of the layer below, no gradient):

    k_j, v_j from [m; h]_j W_k, W_v (j = 0 .. M + T - 1);   q_i = h_i W_q (i = 0 .. T - 1, at position M + i)
    R_t = sinusoid(t) for the distance t = (M + i) - j >= 0
    A_ij = (q_i + u)^T k_j + (q_i + v)^T (R_{M+i-j} W_r)        (u = r_w_bias, v = r_r_bias, per head)
    attention over j <= M + i (causal, memory always visible), scaled by 1/sqrt(d_head)
    out_i = W_o [softmax(A_i.) v_. for each head]
"""

import numpy as np


def sinusoid(positions: np.ndarray, dim: int) -> np.ndarray:
    """[len(positions), dim]: Transformer-XL's embedding of distances, [sin(p / 10000^(2k/dim)) ..., cos(...)]
    (all sines first, then all cosines, as its PositionalEmbedding concatenates them)."""
    inverse = 1.0 / (10000 ** (np.arange(0, dim, 2.0) / dim))
    angles = positions[:, None].astype(np.float64) * inverse[None, :]
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=-1)


def relative_attention(h, memory, w_q, w_k, w_v, w_r, w_o, u, v, num_heads: int) -> np.ndarray:
    """h [T, d], memory [M, d]; w_q, w_k, w_v, w_r [d, n * dh]; w_o [n * dh, d]; u, v [n, dh] -> [T, d]."""
    length, mem = h.shape[0], memory.shape[0]
    head_dim = w_q.shape[1] // num_heads
    keys_in = np.concatenate([memory, h], axis=0)
    q = (h @ w_q).reshape(length, num_heads, head_dim)
    k = (keys_in @ w_k).reshape(mem + length, num_heads, head_dim)
    val = (keys_in @ w_v).reshape(mem + length, num_heads, head_dim)
    r = (sinusoid(np.arange(mem + length), h.shape[1]) @ w_r).reshape(mem + length, num_heads, head_dim)
    out = np.zeros((length, num_heads, head_dim))
    for n in range(num_heads):
        for i in range(length):
            visible = np.arange(mem + i + 1)
            scores = np.array(
                [(q[i, n] + u[n]) @ k[j, n] + (q[i, n] + v[n]) @ r[mem + i - j, n] for j in visible]
            ) / np.sqrt(head_dim)
            weights = np.exp(scores - scores.max())
            weights /= weights.sum()
            out[i, n] = weights @ val[visible, n]
    return out.reshape(length, num_heads * head_dim) @ w_o
