"""LM-BFF's automatic label-word search: planted words are found, even where a generic word tops every class's
candidates; candidates and assignment accuracies equal LM-BFF's select_likely_words and eval_pairing_acc ported
to numpy; words are distinct across classes; a dev re-rank overturns the train ranking; the model path's
log-probs equal transformers' full-vocabulary log_softmax at the mask on tiny BERT and RoBERTa; clear errors."""

import itertools
import types

import numpy as np
import pytest
import torch

from plmjax.prompting import Field, Mask, PromptError, Template, Text, collate, label_search
from plmjax.prompting.label_search import (
    best_assignments,
    candidate_words,
    mask_log_probs,
    nearest_candidates,
    rerank,
    whole_word_ids,
)
from tests.prompting.conftest import byte_level_word_tokenizer, wordpiece_tokenizer


def _log_softmax(logits):
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def _planted(seed=0, generic=True):
    """12 examples, 4 per class over a 60-word vocabulary: word 7, 19, 33 planted (+5) on class 0, 1, 2's
    examples; word 3 (+8 on every example) is every class's likeliest word but tells no class apart."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), 4)
    logits = rng.normal(scale=0.5, size=(12, 60))
    for c, word in enumerate((7, 19, 33)):
        logits[labels == c, word] += 5.0
    if generic:
        logits[:, 3] += 8.0
    return _log_softmax(logits), labels, logits


def test_planted_words_are_found_over_a_generic_word():
    log_probs, labels, _ = _planted()
    candidates = candidate_words(log_probs, labels, 3, k=4)
    assert [c[:2].tolist() for c in candidates] == [[3, 7], [3, 19], [3, 33]]
    assignments, accuracies = best_assignments(log_probs, labels, candidates, n=1000)
    assert assignments[0].tolist() == [7, 19, 33] and accuracies[0] == 1.0
    assert np.all(np.diff(accuracies) <= 0)
    # The generic word predicts one class for every example: a third right, whatever the other words.
    assert max(acc for a, acc in zip(assignments.tolist(), accuracies, strict=True) if 3 in a) == pytest.approx(1 / 3)
    # Distinct words: LM-BFF's itertools.product would also score (3, 3, 3) and the like.
    distinct = {a for a in itertools.product(*[c.tolist() for c in candidates]) if len(set(a)) == 3}
    assert set(map(tuple, assignments.tolist())) == distinct and len(assignments) == len(distinct)
    top, top_accuracies = best_assignments(log_probs, labels, candidates, n=5)
    np.testing.assert_array_equal(top, assignments[:5])
    np.testing.assert_array_equal(top_accuracies, accuracies[:5])


def test_chunks_give_the_same_assignments(monkeypatch):
    log_probs, labels, _ = _planted(seed=3)
    candidates = candidate_words(log_probs, labels, 3, k=5)
    whole = best_assignments(log_probs, labels, candidates, n=30)
    monkeypatch.setattr(label_search, "CHUNK_NUMBERS", 12 * 3 * 7)  # chunks of 7 assignments
    chunked = best_assignments(log_probs, labels, candidates, n=30)
    for ours, theirs in zip(chunked, whole, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def lmbff_select_likely_words(train_logits, train_labels, k_likely, vocab):
    """LM-BFF's select_likely_words (src/label_search.py), classification only."""
    indices = []
    num_labels = np.max(train_labels) + 1
    for idx in range(num_labels):
        label_logits = train_logits[train_labels == idx]
        scores = label_logits.mean(axis=0)
        kept = []
        for i in np.argsort(-scores):
            text = vocab[i]
            if not text.startswith("Ġ"):
                continue
            kept.append(i)
        indices.append(kept[:k_likely])
    return indices


def lmbff_eval_pairing_acc(pairing, logits, labels):
    label_logits = np.take(logits, pairing, axis=-1)
    preds = np.argmax(label_logits, axis=-1)
    correct = np.sum(preds == labels)
    return correct / len(labels)


def test_candidates_and_accuracies_equal_lm_bff():
    """LM-BFF ranks raw logits by their mean; the sum of log-probs gives the same order. Its search also
    scores assignments that reuse a word; ours are its distinct ones, with the same accuracies."""
    _, labels, logits = _planted(seed=1, generic=False)
    vocab = [("Ġ" if i % 3 else "") + f"w{i}" for i in range(60)]  # a third of the tokens are not whole words
    allowed = [i for i, token in enumerate(vocab) if token.startswith("Ġ")]
    ours = candidate_words(_log_softmax(logits), labels, 3, k=6, allowed_ids=allowed)
    theirs = lmbff_select_likely_words(logits, labels, 6, vocab)
    assert [c.tolist() for c in ours] == [list(map(int, c)) for c in theirs]

    assignments, accuracies = best_assignments(_log_softmax(logits), labels, ours, n=20)
    pairings = [p for p in itertools.product(*theirs) if len(set(p)) == 3]
    scores = np.array([lmbff_eval_pairing_acc(p, logits, labels) for p in pairings])
    np.testing.assert_array_equal(accuracies, np.sort(scores)[::-1][:20])
    for assignment, accuracy in zip(assignments, accuracies, strict=True):
        assert lmbff_eval_pairing_acc(assignment, logits, labels) == accuracy
    # Ties in enumeration (itertools.product) order.
    index = {p: i for i, p in enumerate(itertools.product(*[c.tolist() for c in ours]))}
    order = [index[tuple(a)] for a in assignments.tolist()]
    assert all(order[i] < order[i + 1] for i in range(19) if accuracies[i] == accuracies[i + 1])


def test_dev_rerank_overturns_the_train_ranking():
    """Train: (7, 19) is perfect, (8, 20) misses one example; dev: only (8, 20) tells the classes apart."""
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(2), 4)
    train = rng.normal(scale=0.1, size=(8, 30))
    train[:4, 7] += 5
    train[4:, 19] += 5
    train[1:4, 8] += 3
    train[4:, 20] += 3
    train[0, 20] += 3  # (8, 20) calls this class-0 example class 1
    dev = rng.normal(scale=0.1, size=(8, 30))
    dev[:4, 8] += 5
    dev[4:, 20] += 5
    candidates = candidate_words(_log_softmax(train), labels, 2, k=3)
    assignments, accuracies = best_assignments(_log_softmax(train), labels, candidates, n=10)
    assert assignments[0].tolist() == [7, 19] and [8, 20] in assignments.tolist()[1:]

    dev_accuracy = lambda a: float(np.mean(np.argmax(dev[:, a], axis=-1) == labels))
    reranked, dev_scores = rerank(assignments, dev_accuracy)
    assert reranked[0].tolist() == [8, 20] and dev_scores[0] == 1.0 and dev_accuracy([7, 19]) < 1.0
    assert sorted(map(tuple, reranked.tolist())) == sorted(map(tuple, assignments.tolist()))


def test_rerank_ties_keep_the_train_order():
    assignments = np.array([[1, 2], [3, 4], [5, 6], [7, 8]])
    dev = {(1, 2): 0.5, (3, 4): 0.9, (5, 6): 0.5, (7, 8): 0.7}
    reranked, scores = rerank(assignments, lambda a: dev[tuple(a.tolist())])
    assert reranked.tolist() == [[3, 4], [7, 8], [1, 2], [5, 6]] and scores.tolist() == [0.9, 0.7, 0.5, 0.5]


def test_nearest_candidates():
    """Class 0's seed points along x, class 1's along y; ties by the lower id."""
    angles = {2: 80, 3: 10, 4: 40, 5: 10, 6: 0, 7: 90}
    vectors = np.zeros((8, 2))
    vectors[0], vectors[1] = (1, 0), (0, 1)
    for word, angle in angles.items():
        vectors[word] = (np.cos(np.radians(angle)), np.sin(np.radians(angle)))
    kept = nearest_candidates([[2, 4, 5, 3], [6, 7, 4]], vectors, seed_ids=[0, 1], k=2)
    assert [k.tolist() for k in kept] == [[3, 5], [7, 4]]
    with pytest.raises(PromptError, match=r"k must lie in \[1, 3\]"):
        nearest_candidates([[2, 4, 5, 3], [6, 7, 4]], vectors, seed_ids=[0, 1], k=4)
    with pytest.raises(PromptError, match="1 seed words for 2 classes"):
        nearest_candidates([[2], [3]], vectors, seed_ids=[0], k=1)


def test_whole_word_ids():
    bert = wordpiece_tokenizer()
    ids = set(whole_word_ids(bert).tolist())
    vocab = bert.get_vocab()
    assert vocab["great"] in ids and vocab["w60"] in ids
    assert not ids & {vocab[t] for t in ("##s", "##ed", "[CLS]", "[MASK]", "[PAD]", "[UNK]", "[SEP]")}
    roberta = byte_level_word_tokenizer()
    tokens = roberta.convert_ids_to_tokens(whole_word_ids(roberta).tolist())
    assert "Ġgreat" in tokens and all(t.startswith("Ġ") for t in tokens)  # LM-BFF's filter


def test_errors():
    log_probs, labels, _ = _planted()
    with pytest.raises(PromptError, match=r"classes \[3\] have no training example"):
        candidate_words(log_probs, labels, 4, k=2)
    with pytest.raises(PromptError, match=r"labels must lie in \[0, 2\)"):
        candidate_words(log_probs, labels, 2, k=2)
    with pytest.raises(PromptError, match=r"k must lie in \[1, 3\] \(the allowed vocabulary\), got 4"):
        candidate_words(log_probs, labels, 3, k=4, allowed_ids=[1, 2, 3])
    with pytest.raises(PromptError, match="non-empty set of ids"):
        candidate_words(log_probs, labels, 3, k=1, allowed_ids=[60])
    with pytest.raises(PromptError, match=r"\[examples, vocab\]"):
        candidate_words(log_probs, labels[:5], 3, k=1)
    with pytest.raises(PromptError, match="class 1 has no candidate words"):
        best_assignments(log_probs, labels, [[1], [], [2]], n=1)
    with pytest.raises(PromptError, match="class 0's candidates must be distinct"):
        best_assignments(log_probs, labels, [[1, 1], [2], [3]], n=1)
    with pytest.raises(PromptError, match="no assignment of distinct words"):
        best_assignments(log_probs, labels, [[5], [5], [6]], n=1)
    with pytest.raises(PromptError, match="4 x 4 x 4 = 64 assignments is more than max_assignments 10"):
        best_assignments(log_probs, labels, candidate_words(log_probs, labels, 3, k=4), n=1, max_assignments=10)
    with pytest.raises(PromptError, match="NaN"):
        rerank([[1, 2]], lambda a: float("nan"))
    with pytest.raises(PromptError, match="head='mlm'"):
        mask_log_probs(types.SimpleNamespace(head="classification"), None, [], 0)


@pytest.mark.parametrize("family", ["bert", "roberta"])
def test_mask_log_probs_equal_transformers(masked_lm, family):
    reference, model, params, tokenizer = masked_lm(family)
    template = Template(Field("text_a"), Text(" it was"), Mask(), Text("."))
    texts = ["the movie was great .", "the food was bad and the service was slow", "a fine day", "not the best",
             "i liked this park"]  # fmt: skip
    prompts = [template.encode({"text_a": t}, tokenizer, max_length=32) for t in texts]
    ours = mask_log_probs(model, params, prompts, tokenizer.pad_token_id, batch_size=2)  # the last batch pads

    batch = collate(prompts, tokenizer.pad_token_id)
    with torch.no_grad():
        logits = reference(
            input_ids=torch.tensor(batch["input_ids"], dtype=torch.long),
            attention_mask=torch.tensor(batch["attention_mask"], dtype=torch.long),
            token_type_ids=torch.tensor(batch["token_type_ids"], dtype=torch.long),
        ).logits
    at_mask = logits[torch.arange(len(prompts)), torch.tensor(batch["mask_positions"], dtype=torch.long)]
    expected = torch.log_softmax(at_mask, dim=-1).numpy()
    assert ours.shape == (5, reference.config.vocab_size) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, expected, atol=1e-5, rtol=0)

    # The whole search runs on them.
    labels = np.array([1, 0, 1, 0, 1])
    candidates = candidate_words(ours, labels, 2, k=3, allowed_ids=whole_word_ids(tokenizer))
    assignments, _ = best_assignments(ours, labels, candidates, n=2)
    assert set(np.concatenate(candidates).tolist()) <= set(whole_word_ids(tokenizer).tolist())
    assert assignments.shape[1] == 2
