"""Contextual word vectors in a downstream task, from a frozen pretrained model: ELMo's and CoVe's use.

- ELMo (Peters et al. 2018, section 3.3): the task model reads gamma * sum_k softmax(s)_k h_k of the biLM's
  layers, the mix (`ScalarMix`) trained with the task. `bilm_layers` computes the layers.
- CoVe (McCann et al. 2017): the task model reads [word vectors; CoVe], the MT-LSTM encoder's outputs after
  the word vectors it read. `cove_vectors` computes both.

Here the task model is a sentence classifier (`MixClassifier`): the mix of its input layers at each word, mean-
and max-pooled over the sentence's words, then one hidden ReLU layer. Which layers it mixes picks the features:
every biLM layer (ELMo), or layer 0 alone, the character CNN's context-independent token vectors (the
non-contextual baseline); for CoVe one layer, the word vectors with or without CoVe. The pretrained model is
frozen, so its features are computed once and the classifier trains on them (`train_classifier`: AdamW on
minibatches, the checkpoint chosen by accuracy on a dev split, then scored on test).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from plmjax.models.char_cnn import ScalarMix
from plmjax.models.cove import cove_features
from plmjax.models.elmo import elmo_char_ids


def bilm_layers(model, params, sentences, max_words: int, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(layers [sentences, max_words, num_layers + 1, width] float32, mask [sentences, max_words]) of a
    plmjax.models.elmo.ElmoBiLM over word lists (cut to max_words)."""
    char_ids = np.zeros((len(sentences), max_words, model.max_chars), np.int32)
    for row, words in enumerate(sentences):
        if words:
            char_ids[row, : min(len(words), max_words)] = elmo_char_ids(words[:max_words], model.max_chars)
    apply = jax.jit(lambda ids: model.apply({"params": params}, ids))
    layers, masks = [], []
    for start in range(0, len(sentences), batch_size):
        out = apply(char_ids[start : start + batch_size])
        layers.append(np.asarray(jnp.stack(out["layers"], axis=2)))
        masks.append(np.asarray(out["mask"]))
    return np.concatenate(layers), np.concatenate(masks)


def cove_vectors(model, params, tokenizer, sentences, max_words: int, batch_size: int = 64) -> dict:
    """{"words": word vectors [sentences, max_words, 1, embed_dim], "words+cove": [word vectors; CoVe]
    [..., 1, embed_dim + 2 * hidden_size], "mask": [sentences, max_words]} of a plmjax.models.cove.CoveSeq2Seq
    over word lists, looked up in its word tokenizer (a word it never saw is <unk>)."""
    ids = np.zeros((len(sentences), max_words), np.int32)
    for row, words in enumerate(sentences):
        words = words[:max_words]
        ids[row, : len(words)] = [tokenizer.ids.get(w, tokenizer.unk_token_id) for w in words]
    mask = (ids != tokenizer.pad_token_id).astype(np.int32)

    def features(ids, mask):
        vectors = model.apply({"params": params}, ids, method=lambda m, i: m.source_embedding(i))
        return vectors, model.apply({"params": params}, ids, mask, method=type(model).encode)

    apply = jax.jit(features)
    words, both = [], []
    for start in range(0, len(sentences), batch_size):
        vectors, cove = apply(ids[start : start + batch_size], mask[start : start + batch_size])
        words.append(np.asarray(vectors)[:, :, None])
        both.append(np.asarray(cove_features(vectors, cove))[:, :, None])
    return {"words": np.concatenate(words), "words+cove": np.concatenate(both), "mask": mask}


class MixClassifier(nn.Module):
    """layers [batch, words, num_layers, width], mask [batch, words] -> logits [batch, num_labels]."""

    num_labels: int
    num_layers: int
    hidden_size: int = 256
    dropout: float = 0.0

    @nn.compact
    def __call__(self, layers, mask, deterministic: bool = True):
        mixed = ScalarMix(self.num_layers, name="mix")([layers[:, :, k] for k in range(self.num_layers)])
        real = mask[..., None].astype(mixed.dtype)
        mean = (mixed * real).sum(1) / jnp.maximum(real.sum(1), 1.0)
        largest = jnp.where(real > 0, mixed, -jnp.inf).max(1)
        pooled = jnp.concatenate([mean, jnp.where(jnp.isfinite(largest), largest, 0.0)], axis=-1)
        pooled = nn.Dropout(self.dropout)(pooled, deterministic=deterministic)
        hidden = nn.relu(nn.Dense(self.hidden_size, name="hidden")(pooled))
        hidden = nn.Dropout(self.dropout)(hidden, deterministic=deterministic)
        return nn.Dense(self.num_labels, name="output")(hidden)


def train_classifier(splits: dict, num_labels: int, layers=None, *, seed: int = 0, steps: int = 2000,
                     eval_every: int = 100, batch_size: int = 32, learning_rate: float = 1e-3,
                     weight_decay: float = 1e-2, hidden_size: int = 256, dropout: float = 0.0) -> dict:  # fmt: skip
    """Train a MixClassifier on splits["train"] = (layers, mask, labels) over the biLM layers `layers` (None:
    all); every eval_every steps score splits["dev"], keep the best (the earliest on ties) and score
    splits["test"] with it. {"dev": best dev accuracy, "test": its test accuracy, "step", "mix": the softmax
    weights of the layers and gamma}."""
    pick = slice(None) if layers is None else np.asarray(layers)
    train_x, train_mask, train_y = (jnp.asarray(a) for a in splits["train"])
    train_x = train_x[:, :, pick]
    model = MixClassifier(num_labels, train_x.shape[2], hidden_size, dropout)
    init_key, data_key, dropout_key = jax.random.split(jax.random.key(seed), 3)
    params = model.init(init_key, train_x[:1], train_mask[:1])["params"]
    optimizer = optax.adamw(learning_rate, weight_decay=weight_decay)

    def loss(params, rows, key):
        logits = model.apply({"params": params}, train_x[rows], train_mask[rows], False, rngs={"dropout": key})
        return optax.softmax_cross_entropy_with_integer_labels(logits, train_y[rows]).mean()

    @jax.jit
    def train_chunk(params, opt_state, chunk):
        def step(carry, index):
            params, opt_state = carry
            rows = jax.random.randint(jax.random.fold_in(data_key, index), (batch_size,), 0, train_y.shape[0])
            grads = jax.grad(loss)(params, rows, jax.random.fold_in(dropout_key, index))
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        indices = chunk * eval_every + jnp.arange(eval_every)
        return jax.lax.scan(step, (params, opt_state), indices)[0]

    @jax.jit
    def correct(params, x, mask, y):
        return (jnp.argmax(model.apply({"params": params}, x[:, :, pick], mask), -1) == y).sum()

    def accuracy(params, split):
        x, mask, y = splits[split]
        hits = sum(
            int(correct(params, x[s : s + 256], mask[s : s + 256], y[s : s + 256])) for s in range(0, len(y), 256)
        )
        return hits / len(y)

    opt_state, best = optimizer.init(params), None
    for chunk in range(steps // eval_every):
        params, opt_state = train_chunk(params, opt_state, chunk)
        dev = accuracy(params, "dev")
        if best is None or dev > best[0]:
            best = (dev, (chunk + 1) * eval_every, params)
    dev, step, params = best
    mix = params["mix"]
    weights = np.asarray(jax.nn.softmax(mix["scalars"])).tolist()
    return {
        "dev": dev,
        "test": accuracy(params, "test"),
        "step": step,
        "mix": {"weights": weights, "gamma": float(mix["gamma"])},
    }
