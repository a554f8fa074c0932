"""ELMo's downstream use (Peters et al. 2018, section 3.3): a task model reads gamma * sum_k softmax(s)_k h_k of
the frozen biLM's layers, the mix (`ScalarMix`) trained with the task.

Here the task model is a sentence classifier (`MixClassifier`): the mix at each word, mean- and max-pooled over
the sentence's words, then one hidden ReLU layer. Its `layers` pick what the mix reads: every biLM layer (ELMo),
or (0,) alone, the character CNN's context-independent token vectors (the non-contextual baseline). The biLM is
frozen, so its layers are computed once (`bilm_layers`) and the classifier trains on them (`train_classifier`:
AdamW on minibatches, the checkpoint chosen by accuracy on a dev split, then scored on test).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from plmjax.models.char_cnn import ScalarMix
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


class MixClassifier(nn.Module):
    """layers [batch, words, num_layers, width], mask [batch, words] -> logits [batch, num_labels]."""

    num_labels: int
    num_layers: int
    hidden_size: int = 256
    dropout: float = 0.2

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
                     weight_decay: float = 1e-2, hidden_size: int = 256, dropout: float = 0.2) -> dict:  # fmt: skip
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
