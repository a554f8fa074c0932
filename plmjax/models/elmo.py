"""ELMo's bidirectional language model (Peters et al. 2018): a character-CNN token encoder, then a forward and a
backward stack of projected LSTMs (LSTMP) with a residual connection between layers, and one softmax that both
directions share to predict the next word (forward) and the previous word (backward).

Its downstream representations are the L + 1 layers [token vector twice, (forward_k, backward_k) for each k],
which a task combines with `ScalarMix` (plmjax.models.char_cnn). The two directions never read each other: each
has its own LSTM stack, as in bilm-tf, unlike a bidirectional torch.nn.LSTM whose second layer reads both.

Characters follow ELMo's byte encoding (`elmo_char_ids`): a word is [begin-of-word, its UTF-8 bytes (at most
max_chars - 2), end-of-word], padded, every id shifted by one so that 0 is a padded (absent) token.
"""

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from plmjax.models.char_cnn import ELMO_FILTERS, CharCNNEncoder
from plmjax.models.lstm import LSTMDirection

# ELMo's character ids before the +1 shift (allennlp's ELMoCharacterMapper, bilm-tf's UnicodeCharsVocabulary).
BEGIN_SENTENCE, END_SENTENCE, BEGIN_WORD, END_WORD, PADDING = 256, 257, 258, 259, 260
SENTENCE_MARKERS = {"<S>": BEGIN_SENTENCE, "</S>": END_SENTENCE}


def elmo_char_ids(words, max_chars: int = 50) -> np.ndarray:
    """[len(words), max_chars] int32 character ids of a sentence's words (0 nowhere: a real token)."""
    out = np.full((len(words), max_chars), PADDING, np.int32)
    for row, word in enumerate(words):
        if word in SENTENCE_MARKERS:
            chars = [SENTENCE_MARKERS[word]]
        else:
            chars = list(word.encode("utf-8", "ignore")[: max_chars - 2])
        chars = [BEGIN_WORD, *chars, END_WORD]
        out[row, : len(chars)] = chars
    return out + 1


class ElmoBiLM(nn.Module):
    """char_ids [batch, tokens, max_chars] (0 for padded tokens) -> a dict:

    - "layers": num_layers + 1 arrays [batch, tokens, 2 * projection_dim], ELMo's representations (layer 0 the
      token vector repeated for both directions, as bilm-tf does);
    - "forward", "backward": the top layer of each direction [batch, tokens, projection_dim];
    - "mask": [batch, tokens], the real tokens.

    `lm_logits(out)` gives each direction's word logits through the shared softmax; `language_model(char_ids)`
    both at once (plmjax.objectives.BidirectionalLM trains it).
    """

    vocab_size: int
    projection_dim: int = 512
    cell_size: int = 4096
    num_layers: int = 2
    cell_clip: float | None = 3.0
    proj_clip: float | None = 3.0
    dropout: float = 0.1
    char_dim: int = 16
    filters: tuple[tuple[int, int], ...] = ELMO_FILTERS
    highway_layers: int = 2
    max_chars: int = 50  # characters per token, begin/end of word included (ELMo's 50)
    bidirectional: bool = True  # False: the forward LM alone (no backward stack, "layers" forward only)

    @property
    def directions(self) -> tuple[str, ...]:
        return ("forward", "backward") if self.bidirectional else ("forward",)

    def setup(self):
        self.token_encoder = CharCNNEncoder(
            char_dim=self.char_dim, filters=self.filters, highway_layers=self.highway_layers,
            projection_dim=self.projection_dim,
        )  # fmt: skip
        # Parameters: forward_layers_{k}, backward_layers_{k} (each an LSTMDirection).
        self.forward_layers, self.backward_layers = (
            None
            if reverse and not self.bidirectional
            else [
                LSTMDirection(
                    self.cell_size,
                    reverse=reverse,
                    proj_size=self.projection_dim,
                    cell_clip=self.cell_clip,
                    proj_clip=self.proj_clip,
                )  # fmt: skip
                for _ in range(self.num_layers)
            ]
            for reverse in (False, True)
        )
        self.softmax = nn.Dense(self.vocab_size, name="softmax")
        self.drop = nn.Dropout(self.dropout)

    def __call__(self, char_ids, deterministic: bool = True):
        mask = (char_ids > 0).any(axis=-1)
        tokens = self.token_encoder(char_ids) * mask[..., None]
        stacks = {"forward": self.forward_layers, "backward": self.backward_layers}
        layers = [jnp.concatenate([tokens] * len(self.directions), axis=-1)]
        tops, per_direction = {}, {}
        for direction in self.directions:
            stack = stacks[direction]
            x, outputs = tokens, []
            for index, lstm in enumerate(stack):
                h, _ = lstm(self.drop(x, deterministic=deterministic), mask)
                # bilm-tf's residual connection: every layer after the first adds its input.
                x = h + x if index else h
                outputs.append(x)
            tops[direction], per_direction[direction] = x, outputs
        for layer in zip(*(per_direction[d] for d in self.directions), strict=True):
            layers.append(jnp.concatenate(layer, axis=-1))
        out = {"layers": layers, **tops, "mask": mask}
        if self.is_initializing():  # model.init makes the softmax's parameters too
            self.lm_logits(out)
        return out

    def language_model(self, char_ids, deterministic: bool = True):
        """(the representations as __call__ returns them, forward logits, backward logits) in one pass."""
        out = self(char_ids, deterministic)
        return (out, *self.lm_logits(out, deterministic))

    def dummy_inputs(self, batch: int = 1, length: int = 8):
        """Inputs for model.init (plmjax.models.init_params)."""
        return jnp.ones((batch, length, self.max_chars), jnp.int32)

    def lm_logits(self, out, deterministic: bool = True):
        """(forward logits [batch, tokens, vocab]: word t + 1 from position t; backward: word t - 1), one per
        direction."""
        return tuple(self.softmax(self.drop(out[d], deterministic=deterministic)) for d in self.directions)
