"""Soft prompt initialisations (Lester et al., 2021, section 3.2) for prompt tuning and P-tuning.

init="random": U(-0.5, 0.5). "vocab": embeddings of tokens sampled from the top_k (5000) most frequent ones,
counted from token_counts, a frequency_list or a corpus. "labels": the class-label words' embeddings (a
multi-token label averages its tokens), the remaining slots sampled as for "vocab" (or random without counts).
"text": a text's token embeddings, repeated or cut to the prompt length (as HF peft's TEXT init). "saved": a
prompt saved before (an array, a .npy file or a plmjax.peft.save directory), for prompt transfer (SPoT).
"""

import collections
import math
import os

import jax
import numpy as np
from flax import traverse_util

from plmjax.peft.trainable_file import read_trainable

INITS = ("random", "vocab", "labels", "text", "saved")
PROMPT_PATH = ("soft_prompt", "embedding")


def word_embedding_table(model, params) -> np.ndarray:
    """[vocab, embed_size] word vectors as the model feeds them to its first layer (BART's scaling included)."""
    if "shared" in params:
        table = np.asarray(params["shared"]["embedding"], np.float32)
    else:
        table = np.asarray(params["embeddings"]["word_embeddings"]["embedding"], np.float32)
    if model.config.scale_embedding:
        table = table * math.sqrt(model.config.embed_size)
    return table


def most_frequent_ids(top_k: int, token_counts=None, frequency_list=None, corpus=None) -> np.ndarray:
    """The top_k most frequent token ids from counts ({id: count} or an array indexed by id), a list of ids
    most frequent first, or a corpus (iterable of token id sequences) to count."""
    if frequency_list is not None:
        return np.asarray(frequency_list[:top_k], np.int64)
    if corpus is not None:
        counter = collections.Counter()
        for ids in corpus:
            counter.update(int(i) for i in ids)
        token_counts = dict(counter)
    if token_counts is None:
        raise ValueError("init='vocab' needs token_counts, frequency_list or corpus to find the frequent tokens")
    if isinstance(token_counts, dict):
        ranked = sorted(token_counts, key=lambda i: (-token_counts[i], i))
        return np.asarray(ranked[:top_k], np.int64)
    counts = np.asarray(token_counts)
    return np.argsort(-counts, kind="stable")[:top_k]


def sample_rows(rng, table: np.ndarray, count: int, candidates: np.ndarray) -> np.ndarray:
    """`count` rows of table at ids drawn from candidates (without replacement while there are enough)."""
    picks = jax.random.choice(rng, len(candidates), (count,), replace=count > len(candidates))
    return table[candidates[np.asarray(picks)]]


def text_rows(table: np.ndarray, token_ids, length: int) -> np.ndarray:
    ids = list(token_ids)
    if not ids:
        raise ValueError("init='text' needs a non-empty text")
    ids = (ids * math.ceil(length / len(ids)))[:length]
    return table[np.asarray(ids)]


def saved_prompt(saved) -> np.ndarray:
    if isinstance(saved, str):
        if os.path.isdir(saved):
            return np.asarray(traverse_util.flatten_dict(read_trainable(saved))[PROMPT_PATH])
        return np.load(saved)
    return np.asarray(saved)


def initial_prompt(model, params, options, rng) -> np.ndarray | None:
    """The [length, embed_size] starting prompt the options ask for; None keeps the random init."""
    init, length = options["init"], int(options["length"])
    if init not in INITS:
        raise ValueError(f"prompt init={init!r}; choose one of {INITS}")
    if init == "random":
        return None
    if init == "saved":
        return saved_prompt(options["saved"])
    table = word_embedding_table(model, params)
    counted = any(options[k] is not None for k in ("token_counts", "frequency_list", "corpus"))
    candidates = (
        most_frequent_ids(options["top_k"], options["token_counts"], options["frequency_list"], options["corpus"])
        if counted or init == "vocab"
        else None
    )
    if init == "vocab":
        return sample_rows(rng, table, length, candidates)
    if init == "text":
        token_ids = options["token_ids"]
        if token_ids is None:
            if options["text"] is None or options["tokenizer"] is None:
                raise ValueError("init='text' needs token_ids, or text and tokenizer")
            token_ids = options["tokenizer"](options["text"])["input_ids"]
        return text_rows(table, token_ids, length)
    labels = options["label_token_ids"]
    if not labels:
        raise ValueError("init='labels' needs label_token_ids: one list of token ids per class")
    if len(labels) > length:
        raise ValueError(f"{len(labels)} class labels do not fit a prompt of length {length}")
    rows = np.stack([table[np.asarray(ids)].mean(axis=0) for ids in labels])
    rest = length - len(rows)
    if candidates is not None:
        filler = sample_rows(rng, table, rest, candidates)
    else:
        filler = np.asarray(jax.random.uniform(rng, (rest, table.shape[1]), minval=-0.5, maxval=0.5))
    return np.concatenate([rows, filler]) if rest else rows


def initialise(model, params, options, rng):
    """params with the soft prompt (the prompt encoder's input, for P-tuning) set as options["init"] says."""
    prompt = initial_prompt(model, params, options, rng)
    if prompt is None:
        return params
    flat = traverse_util.flatten_dict(params)
    want = flat[PROMPT_PATH].shape
    if prompt.shape != want:
        raise ValueError(f"the initial prompt has shape {prompt.shape}; the model's soft prompt is {want}")
    flat[PROMPT_PATH] = jax.numpy.asarray(prompt, flat[PROMPT_PATH].dtype)
    return traverse_util.unflatten_dict(flat)


INIT_OPTIONS = dict(
    init="random",
    top_k=5000,
    token_counts=None,
    frequency_list=None,
    corpus=None,
    label_token_ids=None,
    text=None,
    tokenizer=None,
    token_ids=None,
    saved=None,
)
