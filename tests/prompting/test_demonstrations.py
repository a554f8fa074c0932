"""LM-BFF demonstrations: their place in the prompt (after a separator, the label word where the query has its
mask), truncation that keeps every part's template, and sampling: one example per class, never the query,
seeded by (seed, step, query) and new at each step, from the most similar half for "similar"."""

import numpy as np
import pytest

from plmjax.prompting import DemonstrationPool, Field, ManualVerbalizer, Mask, PromptError, Template, Text, ensemble
from tests.prompting.conftest import wordpiece_tokenizer

TEMPLATE = Template(Field("text_a"), Text("it was"), Mask(), Text("."))


def test_demonstrations_follow_the_query_with_their_label_words():
    tokenizer = wordpiece_tokenizer()
    words = ManualVerbalizer([["terrible"], ["great"]], tokenizer).word_ids
    demonstrations = [({"text_a": "the food was slow"}, words[0]), ({"text_a": "a fine day"}, words[1])]
    prompt = TEMPLATE.encode({"text_a": "the movie"}, tokenizer, 64, demonstrations=demonstrations)
    assert tokenizer.convert_ids_to_tokens(prompt.input_ids.tolist()) == [
        "[CLS]", "the", "movie", "it", "was", "[MASK]", ".",
        "[SEP]", "the", "food", "was", "slow", "it", "was", "terrible", ".",
        "[SEP]", "a", "fine", "day", "it", "was", "great", ".", "[SEP]",
    ]  # fmt: skip
    assert prompt.mask_position == 5 and list(prompt.input_ids).count(tokenizer.mask_token_id) == 1


def test_truncation_keeps_every_parts_template():
    tokenizer = wordpiece_tokenizer()
    words = ManualVerbalizer([["terrible"], ["great"]], tokenizer).word_ids
    long = {"text_a": " ".join(["good"] * 40)}
    prompt = TEMPLATE.encode(long, tokenizer, 20, demonstrations=[(long, words[0]), (long, words[1])])
    tokens = tokenizer.convert_ids_to_tokens(prompt.input_ids.tolist())
    assert len(tokens) == 20
    parts = " ".join(tokens).split("[SEP]")
    assert [p.split()[-3:] for p in parts[:3]] == [
        ["was", "[MASK]", "."],
        ["was", "terrible", "."],
        ["was", "great", "."],
    ]
    # The fields share what is left (4 tokens), cut from their ends, the longest first (ties in order).
    assert [p.split().count("good") for p in parts[:3]] == [1, 1, 2]


def test_random_demonstrations_are_one_per_class_seeded_and_new_each_step():
    labels = [0, 1, 0, 1, 0, 1, 0, 1]
    pool = DemonstrationPool([{}] * 8, labels, 2, seed=3)
    sets = [tuple(pool.sample(query=2, step=step)) for step in range(40)]
    for chosen in sets:
        assert [labels[i] for i in chosen] == [0, 1] and 2 not in chosen
    assert len(set(sets)) > 5  # they change from step to step
    assert sets == [tuple(DemonstrationPool([{}] * 8, labels, 2, seed=3).sample(2, step)) for step in range(40)]
    assert sets != [tuple(DemonstrationPool([{}] * 8, labels, 2, seed=4).sample(2, step)) for step in range(40)]


def test_similar_demonstrations_come_from_the_most_similar_half():
    labels = [0, 0, 0, 0, 1, 1, 1, 1]
    # The query is along x; class 0's pool examples 0 and 1, class 1's 4 and 5 point its way.
    embeddings = np.array([[1, 0.1], [1, 0.2], [0, 1], [-1, 0], [1, 0.3], [0.9, 0.1], [-1, 1], [0, -1]], np.float32)
    pool = DemonstrationPool([{}] * 8, labels, 2, selection="similar", embeddings=embeddings, seed=0)
    picks = {tuple(pool.sample(None, step, query_embedding=[1.0, 0.0])) for step in range(60)}
    assert {p[0] for p in picks} == {0, 1} and {p[1] for p in picks} == {4, 5}


def test_bad_pools_are_clear_errors():
    with pytest.raises(PromptError, match="choose random or similar"):
        DemonstrationPool([{}], [0], 1, selection="nearest")
    with pytest.raises(PromptError, match="need the pool's sentence embeddings"):
        DemonstrationPool([{}], [0], 1, selection="similar")
    with pytest.raises(PromptError, match=r"no training example of classes \[1\]"):
        DemonstrationPool([{}, {}], [0, 0], 2)
    with pytest.raises(PromptError, match="class 1 has no training example to demonstrate but the query itself"):
        DemonstrationPool([{}, {}], [0, 1], 2).sample(query=1, step=0)


def test_ensemble_averages_class_logits_over_sets():
    np.testing.assert_allclose(ensemble([[[1.0, 2.0]], [[3.0, 0.0]]]), [[2.0, 1.0]])
