"""In-context learning's arithmetic and prompts: contextual calibration equals the paper's code (Zhao et al. 2021,
tonyzhaozh/few-shot-learning, ported below) on a constructed example; prompts render demonstrations with their
label words and name what is wrong; similar selection is KATE's nearest-last order; evaluate_icl's accuracies
are those of the option scores of the prompts it builds, in every order."""

import numpy as np
import pytest

import plmjax
from plmjax.in_context import (
    IclPrompt,
    IclPromptError,
    calibrate,
    content_free_prior,
    encode_options,
    encode_prompts,
    evaluate_icl,
    option_scores,
    orderings,
    random_demonstrations,
    similar_demonstrations,
)
from tests.hf.tiny_generative_models import make_hf_model
from tests.prompting.conftest import byte_level_word_tokenizer


def reference_eval_accuracy(all_label_probs, test_labels, mode, p_cf):
    """The paper's eval_accuracy (tonyzhaozh/few-shot-learning, utils.py)."""
    num_classes = all_label_probs.shape[1]
    if mode == "diagonal_W":
        W, b = np.linalg.inv(np.identity(num_classes) * p_cf), np.zeros([num_classes, 1])
    else:
        W, b = np.identity(num_classes), -1 * np.expand_dims(p_cf, axis=-1)
    correct, scores = [], []
    for label_probs, true_label in zip(all_label_probs, test_labels, strict=True):
        label_probs = label_probs / np.sum(label_probs)
        calibrated = np.matmul(W, np.expand_dims(label_probs, axis=-1)) + b
        scores.append(calibrated[:, 0])
        correct.append(int(np.argmax(calibrated) == true_label))
    return np.mean(correct), np.array(scores)


@pytest.mark.parametrize("mode", ["diagonal_W", "identity_W"])
def test_contextual_calibration_equals_the_papers_code(mode):
    # The prompt favours class 0: content-free inputs give it most of the mass.
    free = np.log([[0.6, 0.1, 0.05], [0.5, 0.2, 0.1], [0.7, 0.05, 0.05]])
    p_cf = np.exp(free).mean(0) / np.exp(free).mean(0).sum()
    np.testing.assert_allclose(content_free_prior(free), p_cf, rtol=1e-12)
    probs = np.array([[0.5, 0.3, 0.2], [0.45, 0.1, 0.45], [0.6, 0.25, 0.15], [0.2, 0.2, 0.6]]) * 0.3  # unnormalised
    labels = np.array([1, 2, 2, 2])
    accuracy, expected = reference_eval_accuracy(probs, labels, mode, p_cf)
    got = calibrate(np.log(probs), p_cf, mode)
    if mode == "diagonal_W":
        expected = expected / expected.sum(-1, keepdims=True)  # plmjax renormalises; the argmax is the same
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    assert np.mean(got.argmax(-1) == labels) == accuracy == 0.75
    assert np.mean(probs.argmax(-1) == labels) == 0.25  # uncalibrated: the favoured class 0 wins three times


def test_prompts_render_demonstrations_and_name_what_is_wrong():
    prompt = IclPrompt("Review: {text_a}\nSentiment:", (" bad", " good"), instruction="Classify.")
    demos = [{"text_a": "it was fine", "label": 1}, {"text_a": "slow", "label": 0}]
    text = prompt.text({"text_a": "the best"}, demos)
    parts = ["Classify.", "Review: it was fine\nSentiment: good", "Review: slow\nSentiment: bad"]
    assert text == "\n\n".join([*parts, "Review: the best\nSentiment:"])
    free = prompt.content_free({"text_a": "the best"}, demos)
    assert [t.rsplit("\n\n", 1)[1] for t in free] == [
        "Review: N/A\nSentiment:",
        "Review: \nSentiment:",
        "Review: [MASK]\nSentiment:",
    ]
    with pytest.raises(IclPromptError, match="field 'text_a'"):
        prompt.text({"sentence": "x"})
    tokenizer = byte_level_word_tokenizer()
    with pytest.raises(IclPromptError, match="label word '' has no tokens"):
        encode_options(tokenizer, ["", " good"])
    long = " ".join(["great"] * 30)
    with pytest.raises(
        IclPromptError, match=r"test example 1: 30 prompt tokens \+ 2 option tokens exceed the model's context of 24"
    ):
        encode_prompts(
            tokenizer, ["great", long], context=24, option_length=2, names=["test example 0", "test example 1"]
        )
    ids, mask = encode_prompts(tokenizer, ["great good", "great"], context=64, option_length=1)
    assert ids.shape == (2, 32) and mask[0, -2:].tolist() == [1, 1] and mask[1, :-1].sum() == 0  # left-padded


def test_similar_selection_is_nearest_last_and_orders_are_distinct():
    train = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]])
    queries = np.array([[1.0, 0.1], [0.0, 2.0]])
    assert similar_demonstrations(train, queries, 2).tolist() == [[2, 0], [2, 1]]
    chosen = random_demonstrations(10, 4, seed=3)
    assert len(set(chosen.tolist())) == 4 and chosen.tolist() == random_demonstrations(10, 4, seed=3).tolist()
    assert random_demonstrations(10, 0, seed=3).tolist() == [] and orderings(0, 4, seed=0)[0].tolist() == []
    orders = orderings(3, 10, seed=0)
    assert len(orders) == 6 and orders[0].tolist() == [0, 1, 2] and len({tuple(o) for o in orders}) == 6


def test_evaluate_icl_accuracies_are_those_of_its_prompts_scores(tmp_path):
    reference = make_hf_model("gpt2", "lm")
    reference.save_pretrained(tmp_path)
    model, params = plmjax.from_pretrained(str(tmp_path), head="lm")
    tokenizer = byte_level_word_tokenizer()
    prompt = IclPrompt("{text_a} it was", (" bad", " great"))
    rng = np.random.default_rng(1)
    words = ["good", "fine", "slow", "hated", "liked", "the", "movie", "film"]
    examples = [{"text_a": " ".join(rng.choice(words, 4)), "label": i % 2} for i in range(14)]
    train, test = examples[:6], examples[6:]
    result = evaluate_icl(model, params, tokenizer, prompt, train, test, k=3, seed=5, orders=3, batch_size=3)

    options = encode_options(tokenizer, prompt.label_words)
    labels = np.array([e["label"] for e in test])
    chosen = random_demonstrations(len(train), 3, 5)
    for order, accuracy, calibrated in zip(
        orderings(3, 3, 5), result["accuracy"], result["calibrated_accuracy"], strict=True
    ):
        demos = [train[i] for i in chosen[order]]
        ids, mask = encode_prompts(tokenizer, [prompt.text(q, demos) for q in test], 1024, 1)
        scores = np.asarray(option_scores(model, params, ids, mask, *options, cache=False))
        assert accuracy == np.mean(scores.argmax(-1) == labels)
        ids, mask = encode_prompts(tokenizer, prompt.content_free(test[0], demos), 1024, 1)
        prior = content_free_prior(np.asarray(option_scores(model, params, ids, mask, *options, cache=False)))
        assert calibrated == np.mean(calibrate(scores, prior).argmax(-1) == labels)
    assert result["summary"]["min"] <= result["summary"]["mean"] <= result["summary"]["max"]
