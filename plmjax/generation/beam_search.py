"""Beam search with transformers' semantics, static shapes and a jax.lax.while_loop.

transformers 5 implements beam search over fixed-shape tensors; this follows the same steps so that the
same model gives the same ids: per step, take the top 2 * num_beams continuations of all beams, continue the
best num_beams that did not just end, and merge the ones that ended (EOS, a stop string, or the length
limit) into the num_beams finished hypotheses, scored by log-probability / generated_length ** length_penalty.
A batch item stops when its running beams can no longer improve on its finished ones (early_stopping decides
how that is judged). The logit processors read each running beam's sequence, as transformers' do. Very low
scores are -1e9 rather than -inf, as in transformers, so ties resolve alike.
"""

import jax
import jax.numpy as jnp
import numpy as np

from plmjax.generation.model_calls import prefill, prompt_length, prompt_tokens, select_rows, step
from plmjax.generation.options import SearchData, SearchOptions
from plmjax.generation.processors import first_real_token, process
from plmjax.generation.stop_strings import stop_string_hits

LOW = -1.0e9


def take_beams(x, beam_indices):
    """x [batch, beams, ...] gathered along the beam axis by beam_indices [batch, k]."""
    index = beam_indices.reshape(beam_indices.shape + (1,) * (x.ndim - 2))
    return jnp.take_along_axis(x, index, axis=1)


def length_penalties(max_length: int, length_penalty: float) -> jax.Array:
    """length ** length_penalty for every length, in float64 then float32 as transformers' Python ints give."""
    with np.errstate(divide="ignore"):  # length 0 never occurs; 0 ** negative would warn
        return jnp.asarray(np.arange(max_length + 1, dtype=np.float64) ** length_penalty, jnp.float32)


def beam_search(model, params, input_ids, attention_mask, o: SearchOptions, data: SearchData):
    """[batch * num_return_sequences, prompt + max_new_tokens] ids of each item's best hypotheses, best first,
    pad_token_id after their ends."""
    batch, beams = input_ids.shape[0], o.num_beams
    # Continuations kept per step: enough that num_beams survive even if num_beams of them end here.
    keep = 2 * beams
    prompt = prompt_length(model, input_ids)
    max_length = prompt + o.max_new_tokens
    penalty = length_penalties(max_length, o.length_penalty)
    best_length = (max_length - prompt) if (o.early_stopping == "never" and o.length_penalty > 0) else None

    rows_ids = jnp.repeat(input_ids, beams, axis=0)
    rows_mask = jnp.repeat(attention_mask, beams, axis=0)
    first = first_real_token(rows_mask, model.config.is_encoder_decoder)
    logits, cache, state = prefill(model, params, rows_ids, rows_mask, o.max_new_tokens, o.decoder_start_token_id)
    prefix = prompt_tokens(model, rows_ids, o).reshape(batch, beams, prompt)
    running = jnp.full((batch, beams, max_length), o.pad_token_id, jnp.int32).at[:, :, :prompt].set(prefix)
    carry = dict(
        running=running,
        # Only the first beam starts live, so that the first step does not pick the same token num_beams times.
        running_scores=jnp.zeros((batch, beams)).at[:, 1:].set(LOW),
        finished=running,
        finished_scores=jnp.full((batch, beams), LOW),
        is_finished=jnp.zeros((batch, beams), bool),
        improvable=jnp.ones((batch, 1), bool),
        all_hit=jnp.zeros((), bool),
        cache=cache,
        length=jnp.int32(prompt),
    )

    def advance(logits, c):
        """One step: choose continuations from `logits` [batch * beams, vocab], update both beam sets."""
        length = c["length"]
        log_probs = jax.nn.log_softmax(logits, axis=-1)
        sequences = c["running"].reshape(batch * beams, max_length)
        log_probs = process(log_probs, sequences, length, first, prompt, max_length, o, data)
        vocab = log_probs.shape[-1]
        totals = (log_probs.reshape(batch, beams, vocab) + c["running_scores"][:, :, None]).reshape(batch, -1)
        top_scores, top_indices = jax.lax.top_k(totals, keep)
        origin, tokens = top_indices // vocab, top_indices % vocab
        candidates = take_beams(c["running"], origin).at[:, :, length].set(tokens)
        hits = length + 1 >= max_length
        if o.eos_token_id is not None:
            hits = hits | (tokens == o.eos_token_id)
        hits = jnp.broadcast_to(hits, tokens.shape)
        if data.stop_strings is not None:
            ended = stop_string_hits(candidates.reshape(batch * keep, max_length), length + 1, data.stop_strings)
            hits = hits | ended.reshape(batch, keep)

        # The best num_beams continuations that did not end keep running.
        live_scores = top_scores + hits.astype(jnp.float32) * LOW
        running_scores, next_beams = jax.lax.top_k(live_scores, beams)
        running = take_beams(candidates, next_beams)
        parents = take_beams(origin, next_beams)

        # Ended continuations among the top num_beams join the finished hypotheses if they score high enough.
        just_finished = hits & (jnp.arange(keep) < beams)[None, :]
        scores = top_scores / penalty[length + 1 - prompt]
        if o.early_stopping is True:
            scores = scores + (jnp.all(c["is_finished"], axis=-1, keepdims=True)).astype(jnp.float32) * LOW
        scores = scores + (~c["improvable"]).astype(jnp.float32) * LOW + (~just_finished).astype(jnp.float32) * LOW
        merged_scores = jnp.concatenate([c["finished_scores"], scores], axis=1)
        finished_scores, best = jax.lax.top_k(merged_scores, beams)
        finished = take_beams(jnp.concatenate([c["finished"], candidates], axis=1), best)
        is_finished = take_beams(jnp.concatenate([c["is_finished"], just_finished], axis=1), best)

        rows = (jnp.arange(batch)[:, None] * beams + parents).reshape(-1)
        length = length + 1
        best_possible = running_scores[:, :1] / penalty[best_length if best_length is not None else length - prompt]
        worst_finished = jnp.where(is_finished, jnp.min(finished_scores, axis=1, keepdims=True), LOW)
        improvable = c["improvable"] & jnp.any(best_possible > worst_finished, axis=-1, keepdims=True)
        return dict(
            running=running,
            running_scores=running_scores,
            finished=finished,
            finished_scores=finished_scores,
            is_finished=is_finished,
            improvable=improvable,
            all_hit=jnp.all(hits),
            cache=select_rows(c["cache"], rows),
            length=length,
        )

    def not_done(c):
        open_beams = ~(jnp.all(c["is_finished"]) & (o.early_stopping is True))
        return jnp.any(c["improvable"]) & open_beams & ~c["all_hit"]

    def next_step(c):
        length = c["length"]
        tokens = jax.lax.dynamic_index_in_dim(c["running"], length - 1, axis=2, keepdims=False).reshape(-1)
        logits, cache = step(model, params, c["cache"], state, tokens, length - 1 - prompt, length - 1)
        return advance(logits, c | {"cache": cache})

    carry = jax.lax.while_loop(not_done, next_step, advance(logits, carry))
    return carry["finished"][:, : o.num_return_sequences].reshape(-1, max_length)
