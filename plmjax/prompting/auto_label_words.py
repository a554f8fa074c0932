"""LM-BFF's automatic label words for a run (objective.prompt.label_words = "auto"), searched before training
on the run's own splits with the masked LM it starts from (plmjax.prompting.label_search):

1. candidates: per class, the k whole words of the vocabulary with the highest summed log-probability at the
   mask over that class's training prompts (LM-BFF: k = 100; here k is also capped so the assignments to
   score stay under a million: 100 for 2 or 3 classes, 15 for 5, 10 for 6);
2. the n assignments (one distinct word per class) with the best zero-shot accuracy on the training split;
3. re-ranked by zero-shot accuracy on the dev split. LM-BFF fine-tunes a model on each of the n assignments
   and re-ranks by the fine-tuned dev accuracy: n full runs per seed, which this CPU cannot afford for the
   real-data tables; the zero-shot dev accuracy is the cheap stand-in, and the choice is written to the
   workdir (label_words.json) with every assignment's scores.
"""

import json
import os

import numpy as np

from plmjax.prompting import label_search
from plmjax.prompting.template import PromptError

MAX_ASSIGNMENTS = 10**6


def candidates_per_class(num_classes: int, k: int = 100) -> int:
    """LM-BFF's k, lowered until k ** classes assignments fit MAX_ASSIGNMENTS."""
    while k > 1 and k**num_classes > MAX_ASSIGNMENTS:
        k -= 1
    return k


def _word(tokenizer, token_id: int) -> str:
    """The word a ManualVerbalizer looks up to get this token back (byte-level BPE's leading space dropped)."""
    return tokenizer.convert_tokens_to_string([tokenizer.convert_ids_to_tokens(int(token_id))]).strip()


def search(model, params, tokenizer, template, train, dev, num_classes: int, max_length: int, k=0, n=20) -> dict:
    """{"label_words": [[word] per class], "assignments": [{words, train_accuracy, dev_accuracy}], best first}.
    train, dev: prompt examples (text_a/text_b and label)."""

    def log_probs(examples):
        prompts = [template.encode(e, tokenizer, max_length) for e in examples]
        return label_search.mask_log_probs(model, params, prompts, tokenizer.pad_token_id)

    train_labels = np.asarray([e["label"] for e in train])
    dev_labels = np.asarray([e["label"] for e in dev])
    train_lp, dev_lp = log_probs(train), log_probs(dev)
    k = k or candidates_per_class(num_classes)
    allowed = label_search.whole_word_ids(tokenizer)
    candidates = label_search.candidate_words(train_lp, train_labels, num_classes, k, allowed_ids=allowed)
    assignments, train_accuracy = label_search.best_assignments(train_lp, train_labels, candidates, n)
    by_train = {tuple(a.tolist()): float(acc) for a, acc in zip(assignments, train_accuracy, strict=True)}
    ranked, dev_accuracy = label_search.rerank(
        assignments, lambda words: np.mean(np.argmax(dev_lp[:, words], axis=-1) == dev_labels)
    )
    rows = [
        {
            "words": [_word(tokenizer, i) for i in words],
            "train_accuracy": by_train[tuple(words.tolist())],
            "dev_accuracy": float(score),
        }
        for words, score in zip(ranked, dev_accuracy, strict=True)
    ]
    return {"label_words": [[word] for word in rows[0]["words"]], "candidates_per_class": k, "assignments": rows}


def for_run(config, task, tokenizer, template, train, dev, workdir: str) -> list[list[str]]:
    """Search with the run's starting masked LM (config.model.name_or_path); write label_words.json."""
    import plmjax

    if dev is None:
        raise PromptError('label_words="auto" re-ranks on the dev split: the task needs a validation split')
    model, params = plmjax.from_pretrained(config.model.name_or_path, head="mlm")
    o = config.objective.prompt
    found = search(model, params, tokenizer, template, train, dev, task.num_labels, config.data.max_length,
                   k=o.search_candidates, n=o.search_assignments)  # fmt: skip
    with open(os.path.join(workdir, "label_words.json"), "w") as f:
        json.dump(found, f, indent=1)
    return found["label_words"]
