"""Scoring: per-token log-likelihoods equal transformers' on padded batches, and sliding-window perplexity
equals a direct transformers loop over the same windows."""

import math

import numpy as np
import pytest
import torch

import plmjax
from plmjax.generation.scoring import sliding_windows
from tests.generation.conftest import prompts


def test_decoder_only_log_likelihoods_match_transformers(lm_pair):
    reference, model, params = lm_pair("gpt2")
    ids, mask = prompts("gpt2")  # left-padded: positions must count real tokens
    ours = np.asarray(plmjax.token_log_likelihoods(model, params, ids, mask))
    positions = np.maximum(mask.cumsum(-1) - 1, 0)
    with torch.no_grad():
        logits = reference(
            input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask), position_ids=torch.tensor(positions)
        ).logits
    theirs = torch.log_softmax(logits[:, :-1], -1).gather(-1, torch.tensor(ids[:, 1:, None]))[..., 0].numpy()
    scored = (mask[:, 1:] * mask[:, :-1]).astype(bool)
    np.testing.assert_allclose(ours[:, 1:][scored], theirs[scored], atol=1e-4, rtol=0)
    assert np.all(ours[:, 1:][~scored] == 0) and np.all(ours[:, 0] == 0)


@pytest.mark.parametrize("variant", ["bart", "t5-relu-untied"])
def test_seq2seq_label_log_likelihoods_match_transformers_loss(lm_pair, variant):
    reference, model, params = lm_pair(variant)
    ids, mask = prompts(variant)
    labels = np.random.default_rng(2).integers(3, 99, size=(4, 6))
    labels[1, 3:] = -100
    ours = np.asarray(plmjax.token_log_likelihoods(model, params, ids, mask, labels=labels))
    with torch.no_grad():
        loss = reference(
            input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask), labels=torch.tensor(labels)
        ).loss.item()
    assert -ours.sum() / (labels != -100).sum() == pytest.approx(loss, abs=1e-5)


def test_overlapping_windows_score_every_token_once():
    for length, window, stride in [(100, 16, 8), (17, 16, 5), (5, 16, 8), (100, 16, 15)]:
        counts = np.zeros(length, int)
        for begin, end, first in sliding_windows(length, window, stride):
            assert end - begin <= window and first >= 1
            counts[begin + first : end] += 1
        np.testing.assert_array_equal(counts[1:], 1)
        assert counts[0] == 0


def test_disjoint_windows_skip_each_window_start():
    """stride == window: a window's first token has no context inside it, so nothing scores it."""
    scored = [range(begin + first, end) for begin, end, first in sliding_windows(40, 16, 16)]
    assert [(r.start, r.stop) for r in scored] == [(1, 16), (17, 32), (33, 40)]


def transformers_perplexity(model, tokens, window, stride):
    """The direct loop: every window through transformers, summing the NLL of the tokens it newly scores."""
    total, count, previous_end = 0.0, 0, 0
    for begin in range(0, len(tokens), stride):
        end = min(begin + window, len(tokens))
        targets = torch.tensor(tokens[begin:end])[None].clone()
        first = max(previous_end - begin, 1)
        targets[:, :first] = -100
        with torch.no_grad():
            loss = model(input_ids=torch.tensor(tokens[begin:end])[None], labels=targets).loss.item()
        scored = end - begin - first
        total, count = total + loss * scored, count + scored
        previous_end = end
        if end == len(tokens):
            break
    return math.exp(total / count), count


@pytest.mark.parametrize(("window", "stride"), [(32, 16), (32, 32), (64, 24)])
def test_sliding_window_perplexity_matches_a_transformers_loop(lm_pair, window, stride):
    reference, model, params = lm_pair("gpt2")
    tokens = np.random.default_rng(5).integers(0, 99, size=301)
    ours = plmjax.sliding_window_perplexity(model, params, tokens, window=window, stride=stride, batch_size=4)
    theirs, count = transformers_perplexity(reference, tokens, window, stride)
    assert ours.num_tokens == count == len(tokens) - 1 - (len(tokens) - 1) // window * (stride == window)
    assert ours.perplexity == pytest.approx(theirs, rel=1e-5)
