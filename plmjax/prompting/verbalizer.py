"""Verbalizers: label words per class, and class scores from the masked LM's logits at the mask.

Every verbalizer has the same small interface, so the prompt objective treats them alike:

    num_classes, word_ids          classes; the words whose MLM logits the model computes at the mask
    init(rng, model, params)       its own trainable parameters (None: it has none), from the model's
    scores(own, outputs)           [batch, classes] from a MaskOutputs (plmjax.prompting.mask_outputs)
    uses_cross_entropy             whether the objective trains it with cross-entropy over those scores
    term_weights, loss_terms(own, outputs, labels, weights), term_counts(labels, weights)
                                   any loss terms of its own ({name: (loss_sum, count)}; ProtoVerb's)

ManualVerbalizer maps each class to one or more words. Each word must be one token of the tokenizer's
vocabulary (LM-BFF's rule); with a byte-level BPE tokenizer (RoBERTa) the word is looked up with a leading
space, as it appears after other text ("Ġgreat"), as LM-BFF does. A word that is several tokens, or the
unknown token, is an error that names it and its tokens. A class's score is the mean of its words' logits
(one word: the logit itself, LM-BFF's case).
"""

import numpy as np

from plmjax.prompting.template import PromptError


def _is_byte_level(tokenizer) -> bool:
    """Whether the tokenizer keeps a word's leading space in its token (byte-level BPE: RoBERTa, GPT-2)."""
    return (
        tokenizer(" a", add_special_tokens=False)["input_ids"] != tokenizer("a", add_special_tokens=False)["input_ids"]
    )


def word_id(tokenizer, word: str, leading_space: bool | None = None) -> int:
    """The one token id of `word` (with a leading space for byte-level tokenizers unless told otherwise)."""
    space = _is_byte_level(tokenizer) if leading_space is None else leading_space
    ids = tokenizer(((" " + word) if space else word), add_special_tokens=False)["input_ids"]
    unknown = getattr(tokenizer, "unk_token_id", None)
    if len(ids) != 1 or ids[0] == unknown:
        tokens = tokenizer.convert_ids_to_tokens(ids)
        raise PromptError(
            f"label word {word!r} is not one token of the vocabulary: it tokenizes to {tokens}. Choose a word "
            "that is a single token (LM-BFF's rule), e.g. from the tokenizer's vocabulary"
        )
    return int(ids[0])


class ManualVerbalizer:
    """label_words: one list of words per class, in class order (or {class index: words})."""

    def __init__(self, label_words, tokenizer, leading_space: bool | None = None):
        if isinstance(label_words, dict):
            missing = sorted(set(range(len(label_words))) - set(label_words))
            if missing:
                raise PromptError(f"label_words has no entry for classes {missing}")
            label_words = [label_words[index] for index in range(len(label_words))]
        label_words = [[words] if isinstance(words, str) else list(words) for words in label_words]
        empty = [index for index, words in enumerate(label_words) if not words]
        if empty:
            raise PromptError(f"classes {empty} have no label word")
        self.label_words = label_words
        self.word_ids = np.asarray([word_id(tokenizer, w, leading_space) for ws in label_words for w in ws], np.int32)
        self.word_class = np.asarray([c for c, ws in enumerate(label_words) for _ in ws], np.int32)
        self.num_classes = len(label_words)
        # [classes, words]: each class's mean over its words.
        membership = np.zeros((self.num_classes, len(self.word_ids)), np.float32)
        membership[self.word_class, np.arange(len(self.word_ids))] = 1.0
        self.mean_weights = membership / membership.sum(axis=1, keepdims=True)

    uses_cross_entropy = True
    term_weights: dict = {}  # noqa: RUF012 (read only)

    def init(self, rng, model, params):
        return None

    def scores(self, own_params, outputs):
        return self.class_logits(outputs.word_logits)

    def loss_terms(self, own_params, outputs, labels, weights) -> dict:
        return {}

    def term_counts(self, labels, weights) -> dict:
        return {}

    def class_logits(self, word_logits):
        """[..., words] logits of the label words -> [..., classes]."""
        return word_logits @ self.mean_weights.T.astype(word_logits.dtype)
