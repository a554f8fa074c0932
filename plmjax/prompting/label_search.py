"""Automatic label-word search (LM-BFF, Gao et al. 2021, sec. 5.1; LM-BFF's src/label_search.py), on the masked
LM's full-vocabulary log-probabilities at the mask over the training prompts ([examples, vocab], mask_log_probs):

1. candidate_words: for each class c, the k allowed words v with the largest sum over c's training examples of
   log p(mask = v | prompt). LM-BFF ranks by the mean of the raw MLM logits: the same order, since
   log p = logit - log Z(prompt) and Z does not depend on v. Ties: the lower id first.
2. best_assignments: every assignment of one candidate per class with distinct words, scored by zero-shot
   accuracy on the training set (prediction: the argmax over the assigned words' log-probs, the first class on a
   tie, as np.argmax); the n best, ties in enumeration order (itertools.product over the candidate lists).
3. rerank: those assignments by a dev score the caller computes (LM-BFF fine-tunes on each and takes dev
   accuracy), best first, ties keeping the training-accuracy order.

nearest_candidates is LM-BFF's --use_seed_labels (its TREC setting): keep each class's candidates nearest to a
seed word by cosine distance of decoder rows. whole_word_ids is LM-BFF's vocabulary filter ("Ġ" tokens).
"""

import jax
import jax.numpy as jnp
import numpy as np

from plmjax.prompting.logits import collate
from plmjax.prompting.template import PromptError
from plmjax.prompting.verbalizer import _is_byte_level

# best_assignments scores assignments in chunks whose gathered [examples, chunk, classes] log-probs hold about
# this many numbers: bounded memory at any candidate count.
CHUNK_NUMBERS = 2**24


def whole_word_ids(tokenizer) -> np.ndarray:
    """Sorted ids of the tokens that are a word after other text: a byte-level BPE token with its leading space
    ("Ġgreat", LM-BFF's filter); a WordPiece token that is not special, a continuation ("##s") or reserved
    ("[unused0]"); a SentencePiece token with its word boundary ("▁great")."""
    vocab = tokenizer.get_vocab()
    if _is_byte_level(tokenizer):
        keep = [i for token, i in vocab.items() if token.startswith("Ġ")]
    elif any(token.startswith("##") for token in vocab):
        special = set(tokenizer.all_special_tokens)
        keep = [
            i
            for token, i in vocab.items()
            if not (token in special or token.startswith("##") or (token.startswith("[") and token.endswith("]")))
        ]
    elif any(token.startswith("▁") for token in vocab):
        keep = [i for token, i in vocab.items() if token.startswith("▁") and token != "▁"]
    else:
        raise PromptError("cannot tell this tokenizer's whole words apart: pass allowed_ids yourself")
    return np.asarray(sorted(keep), np.int32)


def _check(log_probs, labels, num_classes: int):
    log_probs, labels = np.asarray(log_probs), np.asarray(labels)
    if log_probs.ndim != 2 or labels.shape != log_probs.shape[:1]:
        raise PromptError(
            f"log_probs must be [examples, vocab] and labels [examples]: {log_probs.shape}, {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise PromptError(f"labels must lie in [0, {num_classes}), got {sorted(set(labels.tolist()))}")
    missing = sorted(set(range(num_classes)) - set(labels.tolist()))
    if missing:
        raise PromptError(f"classes {missing} have no training example to search label words on")
    return log_probs, labels


def candidate_words(log_probs, labels, num_classes: int, k: int, allowed_ids=None) -> list[np.ndarray]:
    """Per class, its k candidate word ids, best first (step 1). allowed_ids: the words to consider (e.g.
    whole_word_ids(tokenizer)); default the whole vocabulary."""
    log_probs, labels = _check(log_probs, labels, num_classes)
    vocab = log_probs.shape[1]
    allowed = np.arange(vocab) if allowed_ids is None else np.unique(np.asarray(allowed_ids, np.int64))
    if allowed.size == 0 or allowed.min() < 0 or allowed.max() >= vocab:
        raise PromptError(f"allowed_ids must be a non-empty set of ids in [0, {vocab})")
    if not 1 <= k <= allowed.size:
        raise PromptError(f"k must lie in [1, {allowed.size}] (the allowed vocabulary), got {k}")
    candidates = []
    for c in range(num_classes):
        totals = log_probs[labels == c][:, allowed].sum(axis=0, dtype=np.float64)
        candidates.append(allowed[np.argsort(-totals, kind="stable")[:k]].astype(np.int32))
    return candidates


def nearest_candidates(candidates, word_vectors, seed_ids, k: int) -> list[np.ndarray]:
    """Per class, the k of its candidates nearest its seed word (cosine distance of word_vectors [vocab, dim],
    LM-BFF: the decoder rows, plmjax.prompting.mask_outputs.label_word_rows), nearest first."""
    if len(seed_ids) != len(candidates):
        raise PromptError(f"{len(seed_ids)} seed words for {len(candidates)} classes")
    vectors = np.asarray(word_vectors, np.float64)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)
    kept = []
    for c, (words, seed) in enumerate(zip(candidates, seed_ids, strict=True)):
        words = np.asarray(words)
        if not 1 <= k <= len(words):
            raise PromptError(f"k must lie in [1, {len(words)}] (class {c}'s candidates), got {k}")
        distances = 1.0 - unit[words] @ unit[int(seed)]
        kept.append(words[np.lexsort((words, distances))[:k]].astype(np.int32))
    return kept


def best_assignments(log_probs, labels, candidates, n: int, max_assignments: int = 10**7):
    """(assignments [m, classes] word ids, train accuracies [m]): the m = min(n, distinct assignments) best
    (step 2). max_assignments bounds the brute force (the product of the candidate counts)."""
    log_probs, labels = _check(log_probs, labels, len(candidates))
    candidates = [np.asarray(words, np.int64) for words in candidates]
    for c, words in enumerate(candidates):
        if words.size == 0:
            raise PromptError(f"class {c} has no candidate words")
        if len(np.unique(words)) != words.size or words.min() < 0 or words.max() >= log_probs.shape[1]:
            raise PromptError(f"class {c}'s candidates must be distinct ids in [0, {log_probs.shape[1]})")
    if n < 1:
        raise PromptError(f"n must be positive, got {n}")
    shape = tuple(len(words) for words in candidates)
    total = int(np.prod(shape, dtype=np.float64))
    if total > max_assignments:
        raise PromptError(
            f"{' x '.join(map(str, shape))} = {total} assignments is more than max_assignments {max_assignments}: "
            "lower k, keep fewer candidates (nearest_candidates) or raise max_assignments"
        )
    chunk = max(1, CHUNK_NUMBERS // (len(labels) * len(shape)))
    best_index, best_correct = np.zeros(0, np.int64), np.zeros(0, np.int64)
    for start in range(0, total, chunk):
        index = np.arange(start, min(start + chunk, total))
        words = np.stack([candidates[c][r] for c, r in enumerate(np.unravel_index(index, shape))], axis=1)
        ordered = np.sort(words, axis=1)
        distinct = np.all(ordered[:, 1:] != ordered[:, :-1], axis=1)
        index, words = index[distinct], words[distinct]
        correct = np.sum(np.argmax(log_probs[:, words], axis=-1) == labels[:, None], axis=0)
        index, correct = np.concatenate([best_index, index]), np.concatenate([best_correct, correct])
        keep = np.lexsort((index, -correct))[:n]
        best_index, best_correct = index[keep], correct[keep]
    if best_index.size == 0:
        raise PromptError("no assignment of distinct words: the classes' candidates leave none (raise k)")
    ranks = np.unravel_index(best_index, shape)
    assignments = np.stack([candidates[c][r] for c, r in enumerate(ranks)], axis=1).astype(np.int32)
    return assignments, best_correct / len(labels)


def rerank(assignments, dev_score):
    """(assignments, dev scores), best dev score first (step 3); dev_score(assignment [classes]) -> float."""
    assignments = np.asarray(assignments)
    scores = [float(dev_score(assignment)) for assignment in assignments]
    bad = [assignments[i].tolist() for i, score in enumerate(scores) if np.isnan(score)]
    if bad:
        raise PromptError(f"dev_score returned NaN for assignments {bad}")
    # sorted(reverse=True) is stable: equal dev scores keep the training-accuracy order (LM-BFF's sort_mapping).
    order = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)
    return assignments[order], np.asarray(scores)[order]


def mask_log_probs(model, params, prompts, pad_token_id: int, batch_size: int = 32) -> np.ndarray:
    """[prompts, vocab] float32: log_softmax over the whole vocabulary of a masked LM (head="mlm") at each
    prompt's mask, in batches."""
    if getattr(model, "head", None) not in ("mlm", "pretraining"):
        raise PromptError(f"mask_log_probs needs a masked LM (head='mlm'), not head={getattr(model, 'head', None)!r}")
    if not prompts:
        raise PromptError("no prompts")
    # Segment ids only where the model has segment embeddings, as mask_outputs passes them.
    use_types = model.config.type_vocab_size > 1

    @jax.jit
    def run(params, batch):
        out = model.apply(
            {"params": params},
            batch["input_ids"],
            attention_mask=batch["attention_mask"],
            token_type_ids=batch["token_type_ids"] if use_types else None,
            masked_positions=batch["mask_positions"][:, None],
        )
        return jax.nn.log_softmax(out.logits[:, 0].astype(jnp.float32), axis=-1)

    # One padded length and one batch size: one compilation (the last batch repeats a prompt, then drops it).
    length = max(len(p.input_ids) for p in prompts)
    batch_size = min(batch_size, len(prompts))
    result = []
    for start in range(0, len(prompts), batch_size):
        chunk = list(prompts[start : start + batch_size])
        rows = len(chunk)
        batch = collate(chunk + chunk[:1] * (batch_size - rows), pad_token_id, length=length)
        result.append(np.asarray(run(params, batch))[:rows])
    return np.concatenate(result)
