"""CoVe (McCann et al. 2017): the biLSTM encoder of an attentional sequence-to-sequence model, trained on a
translation-like task, whose outputs become context vectors for other tasks: [word vectors; CoVe(word vectors)].

- Encoder: a 2-layer bidirectional LSTM over the input word vectors (GloVe in the paper; any embedding here),
  plmjax.models.lstm.LSTM, so torch.nn.LSTM weights map one to one.
- Decoder: an attentional LSTM as in the paper (and OpenNMT-py, which its authors trained with): at step t a
  stacked LSTM reads [y_{t-1} embedding; the previous attentional state h~_{t-1}] ("input feeding"), attends
  over the encoder outputs with a general score h_t^T W_a e_j (padding masked), and emits
  h~_t = tanh(W_c [c_t; h_t]); the word logits are W_o h~_t.
- `cove_features(encoder outputs, word vectors)`: what a downstream model reads, [GloVe(w); CoVe(w)].
"""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from plmjax.models.init import uniform_init
from plmjax.models.lstm import LSTM, lstm_cell_update


class CoveEncoder(nn.Module):
    """word vectors [batch, length, dim], mask [batch, length] -> CoVe [batch, length, 2 * hidden_size]."""

    hidden_size: int = 300
    num_layers: int = 2
    dropout: float = 0.0

    @nn.compact
    def __call__(self, vectors, mask, deterministic: bool = True):
        lstm = LSTM(self.hidden_size, self.num_layers, bidirectional=True, dropout=self.dropout, name="lstm")
        outputs, _ = lstm(vectors, mask, deterministic=deterministic)
        return outputs


def cove_features(word_vectors, cove_vectors):
    """[GloVe(w); CoVe(w)]: the input of the paper's downstream models."""
    return jnp.concatenate([word_vectors, cove_vectors], axis=-1)


class LSTMCell(nn.Module):
    """torch.nn.LSTMCell: one step of one layer, parameters named and initialised as plmjax.models.lstm's."""

    hidden_size: int

    @nn.compact
    def __call__(self, x, state):
        h, c = state
        gates, init = 4 * self.hidden_size, uniform_init(1.0 / math.sqrt(self.hidden_size))
        w_i = self.param("input_kernel", init, (x.shape[-1], gates))
        w_h = self.param("hidden_kernel", init, (self.hidden_size, gates))
        b_i = self.param("input_bias", init, (gates,))
        b_h = self.param("hidden_bias", init, (gates,))
        return lstm_cell_update(x @ w_i + b_i + h @ w_h + b_h, c)


class AttentionDecoder(nn.Module):
    """Teacher-forced decoding: target ids [batch, target_length] (each step reads the previous target; the
    first reads `bos_id`), encoder outputs [batch, source_length, enc], source mask -> logits
    [batch, target_length, vocab_size]."""

    vocab_size: int
    hidden_size: int
    embed_dim: int
    num_layers: int = 2
    bos_id: int = 1

    @nn.compact
    def __call__(self, target_ids, encoder_outputs, source_mask):
        batch = target_ids.shape[0]
        embed = nn.Embed(self.vocab_size, self.embed_dim, name="embedding")
        inputs = embed(jnp.concatenate([jnp.full((batch, 1), self.bos_id, target_ids.dtype), target_ids[:, :-1]], 1))
        cells = [LSTMCell(self.hidden_size, name=f"cell_{k}") for k in range(self.num_layers)]
        # General attention: the encoder side's projection W_a e_j computed once for every step.
        keys = nn.Dense(self.hidden_size, use_bias=False, name="attention")(encoder_outputs)
        combine = nn.Dense(self.hidden_size, use_bias=False, name="combine")  # W_c [c_t; h_t]
        out = nn.Dense(self.vocab_size, name="output")
        zeros = jnp.zeros((batch, self.hidden_size), jnp.float32)
        state = [(zeros, zeros) for _ in cells]
        feed, outputs = zeros, []
        # A Python loop (target lengths here are short): flax modules inside lax.scan need nn.scan's lifting.
        for t in range(target_ids.shape[1]):
            x = jnp.concatenate([inputs[:, t], feed], axis=-1)
            for k, cell in enumerate(cells):
                state[k] = cell(x, state[k])
                x = state[k][0]
            scores = jnp.einsum("bh,bsh->bs", x, keys)
            scores = jnp.where(source_mask.astype(bool), scores, jnp.finfo(jnp.float32).min)
            context = jnp.einsum("bs,bse->be", jax.nn.softmax(scores, axis=-1), encoder_outputs)
            feed = jnp.tanh(combine(jnp.concatenate([context, x], axis=-1)))
            outputs.append(out(feed))
        return jnp.stack(outputs, axis=1)


class CoveSeq2Seq(nn.Module):
    """The MT-LSTM CoVe is trained as: source ids -> embedding -> CoveEncoder -> AttentionDecoder -> logits."""

    source_vocab: int
    target_vocab: int
    embed_dim: int = 300
    hidden_size: int = 300
    num_layers: int = 2
    bos_id: int = 1
    dropout: float = 0.0  # between the encoder's LSTM layers, and on its outputs before the decoder reads them

    def setup(self):
        self.source_embedding = nn.Embed(self.source_vocab, self.embed_dim)
        self.encoder = CoveEncoder(self.hidden_size, self.num_layers, self.dropout)
        self.decoder = AttentionDecoder(
            self.target_vocab, self.hidden_size, self.embed_dim, self.num_layers, self.bos_id
        )
        self.drop = nn.Dropout(self.dropout)

    def dummy_inputs(self, batch: int = 1, length: int = 8):
        """(source ids, source mask, target ids) for model.init (plmjax.models.init_params)."""
        ids = jnp.ones((batch, length), jnp.int32)
        return ids, ids, ids

    def encode(self, source_ids, source_mask, deterministic: bool = True):
        """CoVe of the source words [batch, length, 2 * hidden_size] (what downstream models read)."""
        return self.encoder(self.source_embedding(source_ids), source_mask, deterministic)

    def __call__(self, source_ids, source_mask, target_ids, deterministic: bool = True):
        encoded = self.drop(self.encode(source_ids, source_mask, deterministic), deterministic=deterministic)
        return self.decoder(target_ids, encoded, source_mask)
