"""k-shot prompts for causal LMs (GPT-3 style): an optional instruction, k demonstrations each followed by its
label word, then the query, and the label words as the options scored after it.

    prompt = IclPrompt("Review: {text_a}\nSentiment:", (" negative", " positive"))
    prompt.text(query, demonstrations)   # "Review: ...\nSentiment: positive\n\nReview: ...\nSentiment:"

The template is a Python format string over the example's fields; a field the example lacks is an error naming
it. Encoded prompts that do not fit the model's context with their longest option are an error naming the
example and the lengths (fewer or shorter demonstrations fix it): nothing is cut silently.
"""

import dataclasses

import numpy as np

from plmjax.in_context.calibration import CONTENT_FREE_INPUTS


class IclPromptError(ValueError):
    """A k-shot prompt that cannot be built: a missing field, a label word with no tokens, a prompt too long."""


@dataclasses.dataclass(frozen=True)
class IclPrompt:
    template: str  # the query's text up to where the label goes, e.g. "Review: {text_a}\nSentiment:"
    label_words: tuple[str, ...]  # per class, the text after the template, e.g. " positive" (leading space)
    instruction: str = ""
    separator: str = "\n\n"

    def render(self, example: dict) -> str:
        try:
            return self.template.format(**example)
        except KeyError as error:
            raise IclPromptError(f"the template reads field {error}, which the example lacks: {example}") from None

    def text(self, query: dict, demonstrations=()) -> str:
        parts = [self.instruction] if self.instruction else []
        parts += [self.render(d) + self.label_words[d["label"]] for d in demonstrations]
        parts.append(self.render(query))
        return self.separator.join(parts)

    def content_free(self, query: dict, demonstrations=(), fields=("text_a", "text_b")) -> list[str]:
        """The prompt with the query's text fields replaced by each content-free input."""
        return [
            self.text({**query, **{f: value for f in fields if f in query}}, demonstrations)
            for value in CONTENT_FREE_INPUTS
        ]


def encode_options(tokenizer, label_words) -> tuple[np.ndarray, np.ndarray]:
    """(ids, mask) [classes, longest] of the label words, right-padded."""
    ids = tokenizer(list(label_words), add_special_tokens=False)["input_ids"]
    for word, tokens in zip(label_words, ids, strict=True):
        if not tokens:
            raise IclPromptError(f"label word {word!r} has no tokens")
    longest = max(len(t) for t in ids)
    out, mask = np.zeros((len(ids), longest), np.int32), np.zeros((len(ids), longest), np.int32)
    for row, tokens in enumerate(ids):
        out[row, : len(tokens)], mask[row, : len(tokens)] = tokens, 1
    return out, mask


def encode_prompts(tokenizer, texts, context: int, option_length: int, names=None, multiple: int = 32):
    """(ids, mask) [len(texts), length], left-padded to `length`, the longest prompt rounded up to a multiple of
    `multiple` (few shapes, few compilations). A prompt that with the longest option exceeds the model's
    `context` positions is an IclPromptError naming it (names[i], or its index)."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    encoded = tokenizer(list(texts))["input_ids"]
    for row, tokens in enumerate(encoded):
        if len(tokens) + option_length > context:
            name = names[row] if names is not None else f"prompt {row}"
            raise IclPromptError(
                f"{name}: {len(tokens)} prompt tokens + {option_length} option tokens exceed the model's context "
                f"of {context} positions: use fewer or shorter demonstrations"
            )
    longest = max(len(tokens) for tokens in encoded)
    length = min(-(-longest // multiple) * multiple, context - option_length)
    ids = np.full((len(texts), length), pad or 0, np.int32)
    mask = np.zeros((len(texts), length), np.int32)
    for row, tokens in enumerate(encoded):
        ids[row, length - len(tokens) :], mask[row, length - len(tokens) :] = tokens, 1
    return ids, mask
