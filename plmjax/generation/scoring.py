"""Scoring text with a language model: per-token log-likelihoods (zero-shot evaluation, ranking options) and
sliding-window perplexity over a long token stream (LM benchmarks)."""

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from plmjax.models.seq2seq import shift_right

IGNORE = -100


@functools.partial(jax.jit, static_argnames=("model",))
def _token_log_likelihoods(model, params, input_ids, attention_mask, labels):
    c = model.config
    if c.is_encoder_decoder:
        targets = jnp.where(labels == IGNORE, c.pad_token_id or 0, labels)
        decoder_inputs = shift_right(labels, c.decoder_start_token_id or 0, c.pad_token_id or 0)
        logits = model.apply({"params": params}, input_ids, attention_mask, decoder_input_ids=decoder_inputs).logits
        log_probs = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
        scores = jnp.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
        return jnp.where(labels == IGNORE, 0.0, scores)
    # Positions count real tokens, so that left- and right-padded rows score alike.
    positions = jnp.maximum(jnp.cumsum(attention_mask, axis=-1) - 1, 0)
    logits = model.apply({"params": params}, input_ids, attention_mask, position_ids=positions).logits
    log_probs = jax.nn.log_softmax(logits[:, :-1].astype(jnp.float32), axis=-1)
    scores = jnp.take_along_axis(log_probs, input_ids[:, 1:, None], axis=-1)[..., 0]
    # Token t is scored from position t - 1; both must be real tokens.
    scored = (attention_mask[:, 1:] * attention_mask[:, :-1]).astype(bool)
    return jnp.pad(jnp.where(scored, scores, 0.0), ((0, 0), (1, 0)))


def token_log_likelihoods(model, params, input_ids, attention_mask=None, labels=None) -> jax.Array:
    """log p(token | everything before it), in float32.

    Decoder-only models (head="lm"): [batch, length], entry t scores input_ids[:, t] given input_ids[:, :t];
    entry 0 (no context) and padding are 0. Encoder-decoders: `labels` [batch, target_length] are the target
    tokens (-100 to ignore one) and entry t scores labels[:, t] given the input and labels[:, :t].
    Sum over the target tokens for a sequence score.
    """
    if getattr(model, "head", None) != "lm":
        raise ValueError("scoring needs a model with head='lm'")
    input_ids = jnp.asarray(input_ids, jnp.int32)
    attention_mask = jnp.ones_like(input_ids) if attention_mask is None else jnp.asarray(attention_mask, jnp.int32)
    if model.config.is_encoder_decoder:
        if labels is None:
            raise ValueError("an encoder-decoder scores labels given input_ids: pass labels")
        labels = jnp.asarray(labels, jnp.int32)
    return _token_log_likelihoods(model, params, input_ids, attention_mask, labels)


@dataclasses.dataclass(frozen=True)
class Perplexity:
    perplexity: float
    mean_nll: float  # nats per scored token
    num_tokens: int  # tokens scored: every token but the first


def sliding_windows(num_tokens: int, window: int, stride: int) -> list[tuple[int, int, int]]:
    """(begin, end, first scored offset) per window: windows start every `stride` tokens, and each scores only
    the tokens the previous one did not, each with up to window - 1 tokens of context (transformers'
    perplexity recipe)."""
    if not 0 < stride <= window:
        raise ValueError(f"need 0 < stride <= window, got stride={stride}, window={window}")
    windows, previous_end = [], 0
    for begin in range(0, num_tokens, stride):
        end = min(begin + window, num_tokens)
        windows.append((begin, end, max(previous_end - begin, 1)))
        previous_end = end
        if end == num_tokens:
            break
    return windows


def sliding_window_perplexity(
    model, params, token_ids, *, window: int = 1024, stride: int = 512, batch_size: int = 8
) -> Perplexity:
    """Perplexity of a decoder-only LM over one long token sequence, scored in overlapping windows.

    With stride < window every token but the first is scored exactly once, conditioned on the up to
    window - 1 tokens before it inside its window (stride == window leaves each window's first token unscored).
    Windows run in batches of batch_size through one jitted program.
    """
    if model.config.is_encoder_decoder:
        raise ValueError("sliding-window perplexity is defined for decoder-only models")
    tokens = np.asarray(token_ids, np.int32).reshape(-1)
    windows = sliding_windows(len(tokens), window, stride)
    padded = -(-len(windows) // batch_size) * batch_size
    ids = np.zeros((padded, window), np.int32)
    mask = np.zeros((padded, window), np.int32)
    weights = np.zeros((padded, window), np.float32)
    for row, (begin, end, first) in enumerate(windows):
        ids[row, : end - begin] = tokens[begin:end]
        mask[row, : end - begin] = 1
        weights[row, first : end - begin] = 1.0
    total = 0.0
    for start in range(0, padded, batch_size):
        batch = slice(start, start + batch_size)
        scores = token_log_likelihoods(model, params, ids[batch], mask[batch])
        total += float(jnp.sum(scores * weights[batch]))
    count = int(weights.sum())
    mean_nll = -total / count
    return Perplexity(perplexity=math.exp(mean_nll), mean_nll=mean_nll, num_tokens=count)
