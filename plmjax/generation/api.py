"""plmjax.generate: text generation for GPT-2, BART and T5 with an "lm" head, jitted end to end."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from plmjax.generation.beam_search import beam_search
from plmjax.generation.options import SearchData, SearchOptions
from plmjax.generation.sampling import greedy_or_sample
from plmjax.generation.stop_strings import stop_string_table


@functools.partial(jax.jit, static_argnames=("model", "options"))
def _generate(model, params, input_ids, attention_mask, rng, data: SearchData, options: SearchOptions):
    if options.num_beams > 1:
        return beam_search(model, params, input_ids, attention_mask, options, data)
    if options.num_return_sequences > 1:
        # Each prompt num_return_sequences times in a row, each copy sampled on its own, as transformers does.
        input_ids = jnp.repeat(input_ids, options.num_return_sequences, axis=0)
        attention_mask = jnp.repeat(attention_mask, options.num_return_sequences, axis=0)
    return greedy_or_sample(model, params, input_ids, attention_mask, rng, options, data)


def is_left_padded(attention_mask) -> bool:
    """Every row ends with a real token; assumed when the mask is traced (generate called under jit)."""
    try:
        last = np.asarray(attention_mask)[:, -1]
    except jax.errors.TracerArrayConversionError:
        return True
    return bool(np.all(last))


def padded_bad_words(bad_words_ids, eos_token_id, vocab_size: int) -> np.ndarray | None:
    """[count, longest] int32, each sequence right-aligned and left-padded with -1; None when nothing is banned.
    EOS alone is dropped, as transformers drops it (min_new_tokens is the way to delay EOS)."""
    if bad_words_ids is None:
        return None
    words = [tuple(int(t) for t in word) for word in bad_words_ids]
    if not words or any(not word or min(word) < 0 or max(word) >= vocab_size for word in words):
        raise ValueError(f"bad_words_ids must be non-empty lists of token ids below {vocab_size}, got {bad_words_ids}")
    words = sorted({word for word in words if word != (eos_token_id,)})
    if not words:
        return None
    longest = max(len(word) for word in words)
    return np.array([(-1,) * (longest - len(word)) + word for word in words], np.int32)


def generate(
    model,
    params,
    input_ids,
    attention_mask=None,
    *,
    max_new_tokens: int = 20,
    num_beams: int = 1,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int | None = 50,
    top_p: float | None = 1.0,
    rng: jax.Array | None = None,
    length_penalty: float = 1.0,
    early_stopping: bool | str = False,
    eos_token_id: int | None = None,
    pad_token_id: int | None = None,
    num_return_sequences: int = 1,
    min_new_tokens: int = 0,
    repetition_penalty: float = 1.0,
    no_repeat_ngram_size: int = 0,
    bad_words_ids: list[list[int]] | None = None,
    stop_strings: str | list[str] | None = None,
    tokenizer=None,
) -> jax.Array:
    """Generate token ids, as transformers' `model.generate(...)` with the same arguments does.

    model: a DecoderModel or Seq2SeqModel with head="lm". input_ids [batch, length]: prompts, left-padded for
    decoder-only models (attention_mask marks the real tokens), encoder inputs for encoder-decoders.
    Greedy by default; do_sample=True samples with temperature, top_k (None: off; transformers' default is 50)
    and top_p from `rng`; num_beams > 1 runs beam search with length_penalty and early_stopping.
    eos_token_id and pad_token_id default to the model config's (padding to EOS when the model has none);
    the config's decoder_start_token_id and forced BOS/EOS tokens apply as in transformers.

    Options, each as transformers' generate() takes and applies it: num_return_sequences (samples per prompt,
    or the best beams per prompt, at most num_beams), min_new_tokens (EOS banned before then),
    repetition_penalty (scores of tokens already in the sequence divided by it if positive, multiplied if
    negative; the prompt counts, its padding does not), no_repeat_ngram_size, bad_words_ids (token sequences
    that may not be generated), stop_strings with the model's `tokenizer` (a row ends, keeping the tokens
    that complete the string, as at EOS).

    Returns [batch * num_return_sequences, length + max_new_tokens] for decoder-only models (the prompt, then
    the new tokens) and [batch * num_return_sequences, 1 + max_new_tokens] for encoder-decoders (the decoder
    start token, then the new tokens); a prompt's sequences are consecutive rows. Positions after a row's end
    hold pad_token_id. The whole search is one jitted program, compiled once per input shape and settings
    (the repetition penalty's value, the bad words of one shape and the stop strings' table are data).
    """
    c = model.config
    if getattr(model, "head", None) != "lm":
        raise ValueError(f"generate needs a model with head='lm', got head={getattr(model, 'head', None)!r}")
    input_ids = jnp.asarray(input_ids, jnp.int32)
    attention_mask = jnp.ones_like(input_ids) if attention_mask is None else jnp.asarray(attention_mask, jnp.int32)
    if not c.is_encoder_decoder and not is_left_padded(attention_mask):
        raise ValueError("decoder-only prompts must be left-padded: every row's last position must be a real token")
    if do_sample and num_beams > 1:
        raise NotImplementedError("beam sampling (do_sample with num_beams > 1) is not implemented")
    if do_sample and rng is None:
        raise ValueError("sampling needs rng (a jax.random key)")
    eos = c.eos_token_id if eos_token_id is None else eos_token_id
    pad = pad_token_id if pad_token_id is not None else (c.pad_token_id if c.pad_token_id is not None else eos)
    if pad is None:
        raise ValueError("the model has neither a pad nor an EOS token; pass pad_token_id")
    if c.is_encoder_decoder and c.decoder_start_token_id is None:
        raise ValueError("the model config has no decoder_start_token_id")
    if repetition_penalty <= 0:
        raise ValueError(f"repetition_penalty must be > 0, got {repetition_penalty}")
    if stop_strings is not None and tokenizer is None:
        raise ValueError("stop_strings need the model's tokenizer: pass tokenizer=")
    words = padded_bad_words(bad_words_ids, eos, c.vocab_size)
    data = SearchData(
        repetition_penalty=None if repetition_penalty == 1.0 else jnp.float32(repetition_penalty),
        bad_words=None if words is None else jnp.asarray(words),
        stop_strings=None if stop_strings is None else stop_string_table(tokenizer, stop_strings),
    )
    options = SearchOptions(
        max_new_tokens=max_new_tokens,
        eos_token_id=eos,
        pad_token_id=pad,
        decoder_start_token_id=c.decoder_start_token_id if c.is_encoder_decoder else None,
        forced_bos_token_id=c.forced_bos_token_id,
        forced_eos_token_id=c.forced_eos_token_id,
        do_sample=do_sample,
        # Sampling settings do not matter to greedy and beam search: keep them out of the compilation key.
        temperature=float(temperature) if do_sample else 1.0,
        top_k=top_k if do_sample else None,
        top_p=top_p if do_sample else None,
        num_beams=num_beams,
        length_penalty=float(length_penalty),
        early_stopping=early_stopping,
        num_return_sequences=num_return_sequences,
        min_new_tokens=min_new_tokens,
        no_repeat_ngram_size=no_repeat_ngram_size,
    )
    rng = rng if rng is not None else jax.random.key(0)
    return _generate(model, params, input_ids, attention_mask, rng, data, options)
