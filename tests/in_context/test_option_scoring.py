"""Option scoring for in-context learning: on a tiny random GPT-2 from transformers, the log-likelihood of each
option after each (left-padded) prompt equals transformers' log-probabilities summed over the option's tokens
(1e-5), with the shared-prefix cache and without; the length-normalised score is their mean."""

import numpy as np
import pytest

import plmjax
from plmjax.in_context import option_scores
from tests.hf.tiny_generative_models import make_hf_model


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory):
    reference = make_hf_model("gpt2", "lm")
    path = tmp_path_factory.mktemp("gpt2")
    reference.save_pretrained(path)
    return (reference, *plmjax.from_pretrained(str(path), head="lm"))


def _transformers_scores(reference, prompts, options):
    import torch

    scores = np.zeros((len(prompts), len(options)))
    for b, prompt in enumerate(prompts):
        for c, option in enumerate(options):
            ids = torch.tensor([prompt + option])
            with torch.no_grad():
                log_probs = torch.log_softmax(reference(ids).logits[0].double(), -1).numpy()
            scores[b, c] = sum(log_probs[len(prompt) - 1 + j, token] for j, token in enumerate(option))
    return scores


def test_option_log_likelihoods_equal_transformers_with_and_without_the_prefix_cache(gpt2):
    reference, model, params = gpt2
    rng = np.random.default_rng(0)
    prompts = [list(rng.integers(3, 99, n)) for n in (5, 9, 12)]
    options = [[7], [11, 13], [17, 19, 23]]
    ids, mask = np.zeros((3, 12), np.int32), np.zeros((3, 12), np.int32)
    for row, prompt in enumerate(prompts):
        ids[row, 12 - len(prompt) :], mask[row, 12 - len(prompt) :] = prompt, 1
    option_ids, option_mask = np.zeros((3, 3), np.int32), np.zeros((3, 3), np.int32)
    for row, option in enumerate(options):
        option_ids[row, : len(option)], option_mask[row, : len(option)] = option, 1

    expected = _transformers_scores(reference, prompts, options)
    for cache in (True, False):
        got = np.asarray(option_scores(model, params, ids, mask, option_ids, option_mask, cache=cache))
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    mean = np.asarray(option_scores(model, params, ids, mask, option_ids, option_mask, normalize="mean"))
    np.testing.assert_allclose(mean, expected / np.array([1, 2, 3]), atol=1e-5, rtol=0)


def test_single_token_options_need_no_continuation_pass(gpt2):
    reference, model, params = gpt2
    prompts = [[5, 6, 7, 8]]
    got = option_scores(
        model, params, np.array([[5, 6, 7, 8]]), np.ones((1, 4)), np.array([[9], [10]]), np.ones((2, 1))
    )
    np.testing.assert_allclose(np.asarray(got), _transformers_scores(reference, prompts, [[9], [10]]), atol=1e-5)
