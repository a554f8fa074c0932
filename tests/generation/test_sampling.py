"""Sampling: the processors mask what transformers' warpers mask, and sampled tokens follow the warped
distribution; plus the API's guarantees (compiled once per shape, left padding enforced)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from transformers.generation.logits_process import TopKLogitsWarper, TopPLogitsWarper

import plmjax
from plmjax.generation.api import _generate
from plmjax.generation.processors import top_k_filter, top_p_filter
from tests.generation.conftest import prompts


def test_top_p_keeps_the_smallest_set_reaching_p():
    # probabilities 0.5, 0.3, 0.15, 0.05: the nucleus for p = 0.8 is the first two (0.5 + 0.3 reaches 0.8).
    scores = jnp.log(jnp.array([[0.15, 0.5, 0.05, 0.3]]))
    kept = np.isfinite(np.asarray(top_p_filter(scores, 0.8)))
    np.testing.assert_array_equal(kept, [[False, True, False, True]])
    # A tiny p still keeps the most likely token.
    np.testing.assert_array_equal(np.isfinite(np.asarray(top_p_filter(scores, 1e-6))), [[False, True, False, False]])


@pytest.mark.parametrize("top_p", [0.1, 0.5, 0.9, 0.99])
def test_top_p_and_top_k_mask_what_transformers_masks(top_p):
    scores = np.random.default_rng(0).normal(size=(16, 99)).astype(np.float32) * 3
    theirs = TopPLogitsWarper(top_p)(None, torch.tensor(scores)).numpy()
    np.testing.assert_array_equal(
        np.isfinite(np.asarray(top_p_filter(jnp.asarray(scores), top_p))), np.isfinite(theirs)
    )
    top_k = int(top_p * 20) + 1
    theirs = TopKLogitsWarper(top_k)(None, torch.tensor(scores)).numpy()
    np.testing.assert_array_equal(
        np.isfinite(np.asarray(top_k_filter(jnp.asarray(scores), top_k))), np.isfinite(theirs)
    )


@pytest.mark.parametrize("variant", ["gpt2", "t5-relu-untied"])
def test_top_k_1_sampling_is_greedy(lm_pair, variant):
    _, model, params = lm_pair(variant)
    ids, mask = prompts(variant)
    greedy = plmjax.generate(model, params, ids, mask, max_new_tokens=6)
    sampled = plmjax.generate(
        model, params, ids, mask, max_new_tokens=6, do_sample=True, top_k=1, temperature=0.7, rng=jax.random.key(3)
    )
    np.testing.assert_array_equal(greedy, sampled)


def test_samples_follow_the_warped_distribution(lm_pair):
    """First tokens sampled for one prompt, many times over, match softmax(logits / T) restricted to the top-p
    nucleus (total variation distance)."""
    _, model, params = lm_pair("gpt2")
    ids, mask = prompts("gpt2")
    rows = 4000
    prompt, prompt_mask = np.repeat(ids[:1], rows, 0), np.repeat(mask[:1], rows, 0)
    temperature, top_p = 0.6, 0.9
    sampled = plmjax.generate(
        model,
        params,
        prompt,
        prompt_mask,
        max_new_tokens=1,
        do_sample=True,
        temperature=temperature,
        top_k=None,
        top_p=top_p,
        rng=jax.random.key(0),
    )[:, -1]
    logits = model.apply({"params": params}, ids[:1], mask[:1]).logits[0, -1]
    expected = np.asarray(jax.nn.softmax(top_p_filter((logits / temperature)[None], top_p)[0]))
    observed = np.bincount(np.asarray(sampled), minlength=expected.size) / rows
    assert observed[expected == 0].sum() == 0, "sampled a token outside the nucleus"
    assert 0.5 * np.abs(observed - expected).sum() < 0.05


def test_sampling_stops_rows_at_eos_and_pads_after(lm_pair):
    _, model, params = lm_pair("gpt2")
    ids, mask = prompts("gpt2")
    eos = 42
    out = np.asarray(
        plmjax.generate(
            model, params, ids, mask, max_new_tokens=12, do_sample=True, eos_token_id=eos, rng=jax.random.key(1)
        )
    )
    new = out[:, ids.shape[1] :]
    for row in new:
        ends = np.flatnonzero(row == eos)
        if len(ends):
            assert np.all(row[ends[0] + 1 :] == model.config.pad_token_id)


def test_compiled_once_per_shape(lm_pair):
    _, model, params = lm_pair("gpt2")
    ids, mask = prompts("gpt2")
    plmjax.generate(model, params, ids, mask, max_new_tokens=5)
    compiled = _generate._cache_size()
    other_prompts = np.where(mask == 1, (ids + 7) % 99, 0)
    plmjax.generate(model, params, other_prompts, mask, max_new_tokens=5)
    assert _generate._cache_size() == compiled


def test_right_padded_prompts_are_refused(lm_pair):
    _, model, params = lm_pair("gpt2")
    ids, mask = prompts("gpt2")
    with pytest.raises(ValueError, match="left-padded"):
        plmjax.generate(model, params, ids, mask[:, ::-1], max_new_tokens=3)
