"""In-context classification of a labelled split: k-shot prompts scored with a causal LM, with and without
contextual calibration, over several orders of the demonstrations (the order sensitivity Zhao et al. and Lu et
al. report).

    result = evaluate_icl(model, params, tokenizer, prompt, train, test, k=4, seed=0, orders=4)
    result["accuracy"], result["calibrated_accuracy"]    # one per order; "summary": mean, std, min, max

Scores are batched (a fixed number of rows, prompts left-padded to a multiple of 32 tokens) and jitted, with the
shared-prefix cache by default (plmjax.in_context.scoring).
"""

import numpy as np

from plmjax.in_context import calibration, selection
from plmjax.in_context.prompts import encode_options, encode_prompts
from plmjax.in_context.scoring import option_scores


def score_prompts(model, params, tokenizer, texts, options, *, batch_size: int = 8, cache: bool = True,
                  normalize: str = "sum", names=None) -> np.ndarray:  # fmt: skip
    """[len(texts), classes] log-scores of the options (encode_options' (ids, mask)) after each text."""
    option_ids, option_mask = options
    context = model.config.max_position_embeddings
    out = []
    for start in range(0, len(texts), batch_size):
        chunk = list(texts[start : start + batch_size])
        rows = len(chunk)
        chunk += chunk[:1] * (batch_size - rows)  # a full batch: one shape per prompt length
        chunk_names = (
            None if names is None else list(names[start : start + batch_size]) + ["padding"] * (batch_size - rows)
        )
        ids, mask = encode_prompts(tokenizer, chunk, context, option_ids.shape[1], chunk_names)
        scores = option_scores(model, params, ids, mask, option_ids, option_mask, cache=cache, normalize=normalize)
        out.append(np.asarray(scores)[:rows])
    return np.concatenate(out).astype(np.float32)


def _accuracy(scores, labels) -> float:
    return float(np.mean(np.argmax(scores, -1) == labels))


def evaluate_icl(model, params, tokenizer, prompt, train, test, *, k: int, seed: int, selection_mode="random",
                 orders: int = 1, train_embeddings=None, test_embeddings=None, calibration_mode="diagonal_W",
                 batch_size: int = 8, cache: bool = True, normalize: str = "sum") -> dict:  # fmt: skip
    """Accuracy on `test` (dicts with the template's fields and "label") of k-shot prompts from `train`.

    selection_mode "random": one seeded set of k, scored in `orders` orders; "similar": each query's k nearest
    training examples by the given embeddings (one order). Calibration: per demonstration set, the mean label
    probabilities of the content-free inputs in that prompt (for "similar", every query has its own set)."""
    labels = np.asarray([e["label"] for e in test])
    options = encode_options(tokenizer, prompt.label_words)
    score = lambda texts, names=None: score_prompts(  # noqa: E731
        model, params, tokenizer, texts, options, batch_size=batch_size, cache=cache, normalize=normalize, names=names
    )
    names = [f"test example {i}" for i in range(len(test))]
    raw, calibrated = [], []
    if selection_mode == "random":
        chosen = selection.random_demonstrations(len(train), k, seed)
        for order in selection.orderings(k, orders, seed):
            demos = [train[i] for i in chosen[order]]
            scores = score([prompt.text(q, demos) for q in test], names)
            prior = calibration.content_free_prior(score(prompt.content_free(test[0], demos)))
            raw.append(_accuracy(scores, labels))
            calibrated.append(_accuracy(calibration.calibrate(scores, prior, calibration_mode), labels))
    elif selection_mode == "similar":
        if train_embeddings is None or test_embeddings is None:
            raise ValueError("similar selection needs train_embeddings and test_embeddings")
        nearest = selection.similar_demonstrations(train_embeddings, test_embeddings, k)
        demos = [[train[i] for i in row] for row in nearest]
        scores = score([prompt.text(q, d) for q, d in zip(test, demos, strict=True)], names)
        free = score([t for q, d in zip(test, demos, strict=True) for t in prompt.content_free(q, d)])
        free = free.reshape(len(test), -1, free.shape[-1])
        fixed = np.stack([calibration.calibrate(s[None], calibration.content_free_prior(f), calibration_mode)[0]
                          for s, f in zip(scores, free, strict=True)])  # fmt: skip
        raw.append(_accuracy(scores, labels))
        calibrated.append(_accuracy(fixed, labels))
    else:
        raise ValueError(f"selection_mode={selection_mode!r}; choose random or similar")

    def summary(values):
        return {"mean": float(np.mean(values)), "std": float(np.std(values)), "min": min(values), "max": max(values)}

    return {"accuracy": raw, "calibrated_accuracy": calibrated, "summary": summary(raw),
            "calibrated_summary": summary(calibrated)}  # fmt: skip
