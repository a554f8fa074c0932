"""plmjax.generate: text generation for GPT-2, BART and T5 with an "lm" head, jitted end to end."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from plmjax.generation.beam_search import beam_search
from plmjax.generation.options import SearchOptions
from plmjax.generation.sampling import greedy_or_sample


@functools.partial(jax.jit, static_argnames=("model", "options"))
def _generate(model, params, input_ids, attention_mask, rng, options: SearchOptions):
    if options.num_beams > 1:
        return beam_search(model, params, input_ids, attention_mask, options)
    return greedy_or_sample(model, params, input_ids, attention_mask, rng, options)


def is_left_padded(attention_mask) -> bool:
    """Every row ends with a real token; assumed when the mask is traced (generate called under jit)."""
    try:
        last = np.asarray(attention_mask)[:, -1]
    except jax.errors.TracerArrayConversionError:
        return True
    return bool(np.all(last))


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
) -> jax.Array:
    """Generate token ids, as transformers' `model.generate(...)` with the same arguments does.

    model: a DecoderModel or Seq2SeqModel with head="lm". input_ids [batch, length]: prompts, left-padded for
    decoder-only models (attention_mask marks the real tokens), encoder inputs for encoder-decoders.
    Greedy by default; do_sample=True samples with temperature, top_k (None: off; transformers' default is 50)
    and top_p from `rng`; num_beams > 1 runs beam search with length_penalty and early_stopping.
    eos_token_id and pad_token_id default to the model config's (padding to EOS when the model has none);
    the config's decoder_start_token_id and forced BOS/EOS tokens apply as in transformers.

    Returns [batch, length + max_new_tokens] for decoder-only models (the prompt, then the new tokens) and
    [batch, 1 + max_new_tokens] for encoder-decoders (the decoder start token, then the new tokens). Positions
    after a row's EOS hold pad_token_id. The whole search is one jitted program, compiled once per input shape
    and settings.
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
    )
    return _generate(model, params, input_ids, attention_mask, rng if rng is not None else jax.random.key(0), options)
