"""Sentence embeddings from any encoder: tokenise, run jitted in length buckets, mean-pool, normalise."""

import functools

import jax
import numpy as np

from plmjax.models.pooling import l2_normalize, mean_pool


def bucket_length(length: int, buckets=(16, 32, 64, 128, 256, 512)) -> int:
    """Pad to one of a few lengths so jit compiles a handful of shapes, not one per batch."""
    return next((b for b in buckets if b >= length), length)


# How a sentence's vector is read from the encoder: the mean of its token states (sentence-transformers),
# the pooler output (dense + tanh on [CLS]: a SimCSE model's MLP, exported as the pooler), or the [CLS] state.
POOLINGS = ("mean", "cls", "cls_before_pooler")


@functools.partial(jax.jit, static_argnums=(0, 5))
def _embed(model, params, input_ids, attention_mask, token_type_ids, pooling):
    out = model.apply({"params": params}, input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
    if pooling == "cls":
        return l2_normalize(out.pooler_output)
    if pooling == "cls_before_pooler":
        return l2_normalize(out.last_hidden_state[:, 0])
    return l2_normalize(mean_pool(out.last_hidden_state, attention_mask))


def encode_sentences(
    model, params, tokenizer, sentences, batch_size: int = 64, max_length: int = 256, pooling: str = "mean"
) -> np.ndarray:
    """[len(sentences), hidden] L2-normalised embeddings, mean-pooled by default (sentence-transformers' recipe;
    POOLINGS names the others)."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r}; choose one of {POOLINGS}")
    outputs = []
    for start in range(0, len(sentences), batch_size):
        chunk = list(sentences[start : start + batch_size])
        longest = max(len(ids) for ids in tokenizer(chunk, truncation=True, max_length=max_length)["input_ids"])
        # Pad the batch dimension too, so the last short batch reuses the compiled shape.
        padded = chunk + [""] * (batch_size - len(chunk))
        batch = tokenizer(
            padded, padding="max_length", truncation=True, max_length=bucket_length(longest), return_tensors="np"
        )
        token_types = batch.get("token_type_ids")
        embeddings = _embed(model, params, batch["input_ids"], batch["attention_mask"], token_types, pooling)
        outputs.append(np.asarray(embeddings)[: len(chunk)])
    return np.concatenate(outputs)
