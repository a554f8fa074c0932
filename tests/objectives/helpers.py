"""Shared set-up of the objective tests: tiny models, batches in the agreed collator layout, and the numpy
reference formulas every loss is checked against."""

import jax
import numpy as np

import plmjax

TINY = dict(vocab_size=50, hidden_size=16, num_layers=2, num_heads=2, intermediate_size=32, max_position_embeddings=16)
RTOL = 1e-5


def tiny(name: str, **changes):
    return plmjax.preset(name, **{**TINY, **changes})


def run(function, *args):
    """jit, compiled without LLVM's optimisations: these programs run once, so compile time dominates."""
    compiled = jax.jit(function).lower(*args).compile(compiler_options={"xla_backend_optimization_level": 0})
    return compiled(*args)


def mlm_batch(rows=3, length=8, vocab=50, seed=0):
    """Rows of random ids; the last row is padding (weight 0) and row 1 is padded at the end. About a third of
    the real tokens are selected (including in the padding row, which must not count)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, vocab, (rows, length)).astype(np.int32)
    mask = np.ones((rows, length), np.int32)
    mask[1, length - 3 :] = 0
    selected = (rng.random((rows, length)) < 0.35) & (mask == 1)
    selected[:, 1] = True  # every row has a selection
    labels = np.where(selected, rng.integers(5, vocab, (rows, length)), 0).astype(np.int32)
    ids = np.where(selected, 4, ids) * mask  # 4 stands for [MASK]; padding is 0
    weights = np.ones(rows, np.float32)
    weights[-1] = 0.0
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "token_type_ids": (np.arange(length)[None] >= length // 2).astype(np.int32).repeat(rows, 0),
        "weights": weights,
        "mlm_labels": labels,
        "mlm_weights": selected.astype(np.float32),
        "sentence_labels": np.arange(rows, dtype=np.int32) % 2,
    }


def log_softmax(x):
    x = np.asarray(x, np.float64)
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def mean_cross_entropy(logits, labels, weights):
    """sum_i w_i * -log softmax(logits_i)[label_i] / sum_i w_i, in float64."""
    picked = np.take_along_axis(log_softmax(logits), np.asarray(labels)[..., None], -1)[..., 0]
    return float((-picked * weights).sum() / weights.sum())


def mean_binary_cross_entropy(logits, labels, weights):
    p = 1 / (1 + np.exp(-np.asarray(logits, np.float64)))
    losses = -(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    return float((losses * weights).sum() / weights.sum())


def mlm_token_weights(batch):
    return batch["mlm_weights"] * batch["weights"][:, None]


def real_token_weights(batch):
    return batch["attention_mask"] * batch["weights"][:, None]


def random_params(init, seed: int = 0, scale: float = 0.1):
    """Parameters of init's structure filled by numpy (norm scales near 1, everything else near 0): no init
    program to compile (a large part of a tiny model's test time). init: rng -> params (objective.init)."""
    rng = np.random.default_rng(seed)

    def fill(path, leaf):
        noise = rng.normal(scale=scale, size=leaf.shape).astype(leaf.dtype)
        return noise + 1 if path[-1].key == "scale" else noise

    return jax.tree_util.tree_map_with_path(fill, jax.eval_shape(init, jax.random.key(0)))
