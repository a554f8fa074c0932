"""ELMo's context-independent token encoder: a character CNN with highway layers and a projection, and the
scalar mix that combines the biLM's layers for a downstream task (Peters et al. 2018).

A token is its characters (ids padded to `max_chars`, 0 the padding id); each is embedded, convolved with
filters of several widths, max-pooled over the characters and passed through the activation; the concatenation
goes through `highway_layers` highway layers (Srivastava et al. 2015) and a linear projection to the LSTM's
input size. The arithmetic and the parameter shapes follow the released ELMo (bilm-tf's `W_cnn_i` kernels
[1, width, char_dim, filters], its highway carry/transform layers and `W_proj`; AllenNLP's
`_ElmoCharacterEncoder`), so that its weights could be mapped one to one.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

# The released ELMo's filters (width, count): 2,048 features from widths 1-7.
ELMO_FILTERS = ((1, 32), (2, 32), (3, 64), (4, 128), (5, 256), (6, 512), (7, 1024))
ACTIVATIONS = {"relu": jax.nn.relu, "tanh": jnp.tanh}


class Highway(nn.Module):
    """y = g * relu(W_t x + b_t) + (1 - g) * x, g = sigmoid(W_c x + b_c): one layer of bilm-tf's highway.
    (AllenNLP writes g * x + (1 - g) * f(x) and loads bilm-tf's carry weights negated: the same function.)"""

    @nn.compact
    def __call__(self, x):
        features = x.shape[-1]
        transform = jax.nn.relu(nn.Dense(features, name="transform")(x))
        carry = jax.nn.sigmoid(nn.Dense(features, name="carry")(x))
        return carry * transform + (1.0 - carry) * x


class CharCNNEncoder(nn.Module):
    """[batch, tokens, max_chars] character ids -> [batch, tokens, projection_dim] token vectors."""

    num_chars: int = 262  # ELMo's byte vocabulary: 256 bytes + begin/end of word and of sentence, padding
    char_dim: int = 16
    filters: Sequence[tuple[int, int]] = ELMO_FILTERS
    highway_layers: int = 2
    projection_dim: int = 512
    activation: str = "relu"

    @nn.compact
    def __call__(self, char_ids):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation={self.activation!r}; choose one of {sorted(ACTIVATIONS)}")
        chars = nn.Embed(self.num_chars, self.char_dim, name="char_embedding")(char_ids)
        batch, tokens, max_chars, _ = chars.shape
        chars = chars.reshape(batch * tokens, max_chars, self.char_dim)
        pooled = []
        for index, (width, count) in enumerate(self.filters):
            if width > max_chars:
                raise ValueError(f"a filter of width {width} does not fit tokens of {max_chars} characters")
            # VALID convolution over the characters, then the max over positions (bilm-tf's order: max, then
            # the activation; both orders give the same for a monotone activation).
            conv = nn.Conv(count, (width,), padding="VALID", name=f"conv_{index}")(chars)
            pooled.append(ACTIVATIONS[self.activation](conv.max(axis=1)))
        x = jnp.concatenate(pooled, axis=-1)
        for index in range(self.highway_layers):
            x = Highway(name=f"highway_{index}")(x)
        x = nn.Dense(self.projection_dim, name="projection")(x)
        return x.reshape(batch, tokens, self.projection_dim)


class ScalarMix(nn.Module):
    """ELMo's task-specific combination of the biLM's layers: gamma * sum_k softmax(s)_k h_k (equation 1 of
    the paper), optionally each layer normalised over its unmasked positions first (AllenNLP's
    `do_layer_norm`)."""

    num_layers: int
    layer_norm: bool = False

    @nn.compact
    def __call__(self, layers: Sequence[jax.Array], mask: jax.Array | None = None):
        if len(layers) != self.num_layers:
            raise ValueError(f"ScalarMix of {self.num_layers} layers got {len(layers)}")
        scalars = self.param("scalars", nn.initializers.zeros_init(), (self.num_layers,))
        gamma = self.param("gamma", nn.initializers.ones_init(), ())
        weights = jax.nn.softmax(scalars)
        if self.layer_norm:
            if mask is None:
                raise ValueError("ScalarMix(layer_norm=True) normalises over the unmasked positions: pass mask")
            layers = [_masked_layer_norm(h, mask) for h in layers]
        return gamma * sum(w * h for w, h in zip(weights, layers, strict=True))


def _masked_layer_norm(h, mask, eps: float = 1e-12):
    """AllenNLP's _do_layer_norm: one mean and variance over every unmasked position and feature."""
    m = mask[..., None].astype(h.dtype)
    count = m.sum() * h.shape[-1]
    mean = (h * m).sum() / count
    variance = (((h - mean) * m) ** 2).sum() / count
    return (h - mean) / jnp.sqrt(variance + eps)
