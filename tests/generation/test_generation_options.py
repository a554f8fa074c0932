"""generate()'s options (min_new_tokens, repetition_penalty, no_repeat_ngram_size, bad_words_ids, stop_strings,
num_return_sequences) give the ids transformers' generate() gives with the same arguments, on the tiny GPT-2
(left-padded prompts), BART and T5 models, greedy and beam search; and the processors and the stop-string
check agree with transformers' own classes on random sequences, edge cases included."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from transformers.generation.logits_process import (
    NoBadWordsLogitsProcessor,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
)
from transformers.generation.stopping_criteria import StopStringCriteria

import plmjax
from plmjax.generation.api import padded_bad_words
from plmjax.generation.processors import bad_words, no_repeat_ngram, repetition_penalty
from plmjax.generation.stop_strings import stop_string_hits, stop_string_table
from tests.generation.conftest import EOS, prompts

MAX_NEW = 8


def normalized(ids, start, filler):
    """transformers crops once every row has ended, and fills ended beams with EOS where the pad id is 0: each
    row's trailing run of `filler` tokens after `start` becomes -1, and rows are -1-padded to the full width."""
    ids = np.pad(np.asarray(ids), ((0, 0), (0, start + MAX_NEW - ids.shape[1])), constant_values=-1)
    for row in ids:
        end = len(row)
        while end > start and row[end - 1] in filler | {-1}:
            end -= 1
        row[end:] = -1
    return ids


def banned_from(plain, start, eos):
    """Bad words that change the search: the first new token of row 0, two tokens of row 1, three of row 2
    (the longer ones are banned only when their prefix precedes), and EOS alone (which transformers ignores)."""
    rows = [row[start:] for row in plain]
    return [[int(rows[0][0])], [int(t) for t in rows[1][1:3]], [int(t) for t in rows[2][:3]], [eos]]


def stop_string_from(plain, start, eos, tokenizer):
    """A stop string made of the end of one token and the start of the next generated one (so it crosses a
    token boundary, maybe the prompt's end), from the first row with two such ordinary tokens before its EOS;
    and one that never occurs."""
    for row in plain:
        new = [int(t) for t in row[start - 1 :]]
        new = new[: new.index(eos)] if eos in new else new
        for left, right in zip(new[:-1], new[1:], strict=True):
            a, b = tokenizer.decode([left]), tokenizer.decode([right])
            if left > 2 and right > 2 and a.strip() and b.strip():
                return [a[-2:] + b[:1], "zzqzz"]
    raise AssertionError("no two ordinary tokens in a row")


# (variant, num_beams, option, value): each option greedy on one family and beam search on another, with a
# value that changes these models' output (GPT-2 ends most rows after 1-2 tokens: a penalty below 1 bites;
# with these min_new_tokens some row ends at the first step EOS is allowed, which an off-by-one would move).
CASES = [
    ("gpt2", 1, "min_new_tokens", 4),
    ("t5-relu-untied", 3, "min_new_tokens", 6),
    ("gpt2", 1, "repetition_penalty", 0.5),
    ("bart", 3, "repetition_penalty", 1.5),
    ("bart", 1, "no_repeat_ngram_size", 2),
    ("gpt2", 3, "no_repeat_ngram_size", 2),
    ("t5-relu-untied", 1, "bad_words_ids", "from the output"),
    ("gpt2", 2, "bad_words_ids", "from the output"),
    ("gpt2", 1, "stop_strings", "from the output"),
    ("bart", 3, "stop_strings", "from the output"),
]


@pytest.mark.parametrize(("variant", "num_beams", "option", "value"), CASES)
def test_option_ids_equal_transformers(lm_pair, byte_level_tokenizer, variant, num_beams, option, value):
    reference, model, params = lm_pair(variant)
    ids, mask = prompts(variant)
    eos = EOS[variant]
    start = 1 if model.config.is_encoder_decoder else ids.shape[1]
    settings = dict(max_new_tokens=MAX_NEW, num_beams=num_beams, eos_token_id=eos)

    def transformers_generate(**options):
        with torch.no_grad():
            return reference.generate(
                torch.tensor(ids), attention_mask=torch.tensor(mask), do_sample=False, **settings, **options
            ).numpy()

    plain = transformers_generate()
    if option == "bad_words_ids":
        options = dict(bad_words_ids=banned_from(plain, start, eos))
    elif option == "stop_strings":
        tokenizer = byte_level_tokenizer
        options = dict(stop_strings=stop_string_from(plain, start, eos, tokenizer), tokenizer=tokenizer)
    else:
        options = {option: value}
    # With beams, the best two hypotheses per prompt: num_return_sequences rides along with every option.
    if num_beams > 1:
        options["num_return_sequences"] = 2
    theirs = transformers_generate(**options)
    ours = np.asarray(plmjax.generate(model, params, ids, mask, **settings, **options))

    assert ours.shape == (ids.shape[0] * (2 if num_beams > 1 else 1), start + MAX_NEW)
    filler = {model.config.pad_token_id} | ({eos} if num_beams > 1 else set())
    np.testing.assert_array_equal(normalized(ours, start, filler), normalized(theirs, start, filler))
    # The option must change the search (the best hypotheses, with beams), or the case proves nothing.
    best = theirs if num_beams == 1 else theirs.reshape(ids.shape[0], 2, -1)[:, 0]
    assert not np.array_equal(normalized(best, start, filler), normalized(plain, start, filler))
    if option == "min_new_tokens":
        assert np.any(ours[:, start + value] == eos) and not np.any(ours[:, start : start + value] == eos)


def test_sampled_return_sequences(lm_pair):
    """num_return_sequences with sampling: top_k=1 gives transformers' ids exactly; real sampling gives each
    prompt's samples in consecutive rows, and they differ."""
    reference, model, params = lm_pair("gpt2")
    ids, mask = prompts("gpt2")
    settings = dict(max_new_tokens=MAX_NEW, eos_token_id=EOS["gpt2"], do_sample=True, num_return_sequences=3)
    with torch.no_grad():
        theirs = reference.generate(torch.tensor(ids), attention_mask=torch.tensor(mask), top_k=1, **settings).numpy()
    ours = np.asarray(plmjax.generate(model, params, ids, mask, top_k=1, rng=jax.random.key(0), **settings))
    assert ours.shape == (12, ids.shape[1] + MAX_NEW)
    pad = {model.config.pad_token_id}
    np.testing.assert_array_equal(normalized(ours, ids.shape[1], pad), normalized(theirs, ids.shape[1], pad))

    sampled = np.asarray(plmjax.generate(model, params, ids, mask, top_k=None, rng=jax.random.key(0), **settings))
    np.testing.assert_array_equal(sampled[:, : ids.shape[1]], np.repeat(ids, 3, axis=0))
    for samples in sampled.reshape(4, 3, -1):
        assert len({tuple(s) for s in samples}) > 1


def test_processors_equal_transformers_on_random_sequences():
    """Repetition penalty, no-repeat n-grams and bad words against transformers' processors, at every length of
    random sequences over few ids (so that repeats and matches are common), with junk after the length."""
    rng = np.random.default_rng(0)
    rows, width, vocab = 6, 12, 11
    tokens = rng.integers(0, 6, size=(rows, width))
    scores = rng.normal(size=(rows, vocab)).astype(np.float32) * 3
    first = np.array([0, 3, 0, 5, 1, 0])
    words = [[4], [1, 2], [3, 3], [0, 1, 2], [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 5], [7]]

    penalize, ban_ngrams, ban_words = (
        jax.jit(repetition_penalty),
        jax.jit(no_repeat_ngram, static_argnums=3),
        jax.jit(bad_words),
    )
    padded = jnp.asarray(padded_bad_words(words, 7, vocab))  # [7] alone is EOS: not banned
    changed = 0
    for length in range(1, width + 1):
        junk = np.where(np.arange(width) < length, tokens, rng.integers(0, vocab, size=tokens.shape))
        prefix, torch_scores = torch.tensor(tokens[:, :length]), torch.tensor(scores)
        expected = RepetitionPenaltyLogitsProcessor(1.7, prompt_ignore_length=torch.tensor(first))(prefix, torch_scores)
        ours = penalize(scores, junk, length, first, jnp.float32(1.7))
        np.testing.assert_array_equal(np.asarray(ours), expected.numpy())
        for n in (1, 2, 3):
            expected = NoRepeatNGramLogitsProcessor(n)(prefix, torch_scores.clone()).numpy()
            ours = np.asarray(ban_ngrams(scores, junk, length, n))
            np.testing.assert_array_equal(ours, expected)
            changed += int(not np.array_equal(expected, scores))
        expected = NoBadWordsLogitsProcessor(words, eos_token_id=7)(prefix, torch_scores.clone()).numpy()
        np.testing.assert_array_equal(np.asarray(ban_words(scores, junk, length, padded)), expected)
    assert changed > 10


def test_stop_string_check_equals_transformers(byte_level_tokenizer):
    """stop_string_hits against StopStringCriteria on every prefix of random sequences, for stop strings that
    span token boundaries, run off a token's start or end, and are one character long."""
    rng = np.random.default_rng(0)
    tokens = rng.integers(3, 99, size=(16, 10))
    strings = ["ng", "exu", "a", "spsx", " e"]
    criteria = StopStringCriteria(byte_level_tokenizer, strings)
    table = stop_string_table(byte_level_tokenizer, strings)
    np.testing.assert_array_equal(np.asarray(table.table), criteria.embedding_vec.numpy())
    check = jax.jit(stop_string_hits)
    hits = 0
    for length in range(1, tokens.shape[1] + 1):
        expected = criteria(torch.tensor(tokens[:, :length]), None).numpy()
        np.testing.assert_array_equal(np.asarray(check(jnp.asarray(tokens), length, table)), expected)
        hits += expected.sum()
    assert 0 < hits < tokens.size
