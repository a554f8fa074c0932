"""The adaptive softmax (Grave et al. 2017), Transformer-XL's output layer for large vocabularies, as
torch.nn.AdaptiveLogSoftmaxWithLoss computes it.

The vocabulary is sorted by frequency and cut at `cutoffs` (c_1 < c_2 < ...). The head scores the c_1 most frequent
words and one token per tail cluster; cluster i (words c_i to c_(i+1) - 1) has its own output layer behind a
projection to hidden / div_value^(i+1) dimensions, so rare words cost far fewer multiply-adds than in a full
softmax. A word's log-probability is its head log-probability, or (in cluster i) the cluster's head
log-probability plus the word's log-probability within the cluster.

`AdaptiveLogSoftmax` returns the full normalised log-probabilities [..., vocab]: a language model can use them
as its logits (their log-softmax is themselves), so its cross-entropy is the adaptive softmax's NLL.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from plmjax.models.config import TransformerConfig
from plmjax.models.layers import dense


def cluster_widths(hidden_size: int, num_clusters: int, div_value: float) -> tuple[int, ...]:
    """Each tail cluster's projection width, torch's int(hidden // div_value ** (i + 1))."""
    return tuple(int(hidden_size // (div_value ** (i + 1))) for i in range(num_clusters))


class AdaptiveLogSoftmax(nn.Module):
    """hidden [..., hidden_size] -> log-probabilities [..., vocab_size], with config.adaptive_softmax_cutoffs
    and config.adaptive_softmax_div_value. Parameters: head (kernel [hidden, c_1 + clusters]), and per cluster
    i tail_{i}_projection and tail_{i}_output (torch's head, tail[i][0], tail[i][1]; no biases)."""

    config: TransformerConfig

    @nn.compact
    def __call__(self, hidden):
        c = self.config
        cutoffs = c.adaptive_softmax_cutoffs
        shortlist, clusters = cutoffs[0], len(cutoffs)
        head = dense(c, shortlist + clusters, ("embed", "vocab"), "head", use_bias=False)(hidden)
        head = jax.nn.log_softmax(head.astype(jnp.float32), axis=-1)
        pieces = [head[..., :shortlist]]
        bounds = (*cutoffs, c.vocab_size)
        widths = cluster_widths(c.hidden_size, clusters, c.adaptive_softmax_div_value)
        for i, width in enumerate(widths):
            projected = dense(c, width, ("embed", "embed_out"), f"tail_{i}_projection", use_bias=False)(hidden)
            size = bounds[i + 1] - bounds[i]
            tail = dense(c, size, ("embed_out", "vocab"), f"tail_{i}_output", use_bias=False)(projected)
            pieces.append(head[..., shortlist + i, None] + jax.nn.log_softmax(tail.astype(jnp.float32), axis=-1))
        return jnp.concatenate(pieces, axis=-1)
