"""Templates: an example (text fields and a label) as a cloze, token ids plus the position of its mask.

A template is a tuple of parts, plain Python rather than a string mini-language, so it can be read and grepped:

    Template(Field("text_a"), Text(" It was"), Mask(), Text("."))                      # LM-BFF's SST-2 template
    Template(Field("text_a", strip_final_punctuation=True), Text("?"), Mask(), Text(","),
             Field("text_b", lower_first=True, leading_space=True))                    # LM-BFF's RTE-style pair

Text is literal text, Field an example's field (with optional transforms), Mask the model's mask token, Soft(n)
n trainable soft tokens (ids vocab_size + k, for a model adapted with prompt tuning or P-tuning in "template"
placement), Sep the tokenizer's separator (the segment id counts on after it, as LM-BFF's `*sep+*`). The
tokenizer's start and end tokens go around the whole ([CLS] ... [SEP] for BERT, <s> ... </s> for RoBERTa).

Each part is tokenized on its own, as LM-BFF does. With a byte-level BPE tokenizer (RoBERTa, GPT-2) a leading
space is part of the token: write Text(" It was"), and Field(..., leading_space=True) for a field that follows
other text. Truncation shortens only the fields (the longest first, from its end), never the template's text or
its mask; an example whose template alone does not fit is an error.
"""

import dataclasses
import string

import numpy as np


class PromptError(ValueError):
    """A template, verbalizer or example that cannot make a prompt; the message names the culprit."""


@dataclasses.dataclass(frozen=True)
class Text:
    text: str


@dataclasses.dataclass(frozen=True)
class Field:
    """An example's field. lower_first: its first letter in lower case; strip_final_punctuation: without the
    punctuation it ends with; leading_space: a space in front (matters to byte-level BPE tokenizers only)."""

    name: str
    lower_first: bool = False
    strip_final_punctuation: bool = False
    leading_space: bool = False

    def text(self, example: dict) -> str:
        if self.name not in example:
            raise PromptError(f"the template reads field {self.name!r}; the example has {sorted(example)}")
        text = example[self.name]
        if not isinstance(text, str):
            raise PromptError(f"field {self.name!r} is {type(text).__name__}, not text")
        text = text.strip()
        if self.strip_final_punctuation:
            text = text.rstrip(string.punctuation + " ")
        if self.lower_first and text:
            text = text[0].lower() + text[1:]
        return (" " + text) if self.leading_space else text


@dataclasses.dataclass(frozen=True)
class Mask:
    pass


@dataclasses.dataclass(frozen=True)
class Soft:
    count: int


@dataclasses.dataclass(frozen=True)
class Sep:
    pass


@dataclasses.dataclass(frozen=True)
class EncodedPrompt:
    input_ids: np.ndarray  # [length] int32
    token_type_ids: np.ndarray  # [length] int32
    mask_position: int


def _special(tokenizer, names: tuple[str, ...]) -> int:
    for name in names:
        value = getattr(tokenizer, name, None)
        if value is not None:
            return int(value)
    raise PromptError(f"the tokenizer has none of {names}")


class Template:
    """An ordered tuple of parts with exactly one Mask (see the module docstring)."""

    def __init__(self, *parts):
        unknown = [p for p in parts if not isinstance(p, Text | Field | Mask | Soft | Sep)]
        if unknown:
            raise PromptError(f"template parts must be Text, Field, Mask, Soft or Sep, not {unknown}")
        masks = sum(isinstance(p, Mask) for p in parts)
        if masks != 1:
            raise PromptError(f"a template needs exactly one Mask(), this one has {masks}: {parts}")
        self.parts = tuple(parts)

    def __repr__(self) -> str:
        return f"Template{self.parts}"

    @property
    def fields(self) -> list[str]:
        return [p.name for p in self.parts if isinstance(p, Field)]

    def encode(
        self, example: dict, tokenizer, max_length: int, vocab_size: int | None = None, demonstrations=()
    ) -> EncodedPrompt:
        """The example's prompt; vocab_size (the model's) numbers soft tokens (needed when there are some).

        demonstrations: (example, label word id) pairs, LM-BFF's: each after a separator, rendered with this
        template, the label word in place of the mask (soft tokens only in the query's part). Truncation then
        shortens the fields of every part and keeps each part's template.
        """
        start = _special(tokenizer, ("cls_token_id", "bos_token_id"))
        end = _special(tokenizer, ("sep_token_id", "eos_token_id"))
        mask = [_special(tokenizer, ("mask_token_id",))]
        pieces = self._pieces(example, tokenizer, end, ("mask", mask), vocab_size)
        for demonstration, label_word_id in demonstrations:
            pieces.append(("text", [end], pieces[-1][2] if pieces else 0))
            pieces += self._pieces(demonstration, tokenizer, end, ("text", [int(label_word_id)]), None)
        _truncate(pieces, max_length - 2, self)
        ids, types, mask_position = [start], [0], -1
        for kind, tokens, segment in pieces:
            if kind == "mask":
                mask_position = len(ids)
            ids += tokens
            types += [segment] * len(tokens)
        ids.append(end)
        types.append(types[-1])
        return EncodedPrompt(np.asarray(ids, np.int32), np.asarray(types, np.int32), mask_position)

    def _pieces(self, example: dict, tokenizer, separator: int, mask_piece, vocab_size) -> list:
        """[(kind, token ids, segment id)] of this template over one example; Soft parts only with vocab_size
        given (a demonstration's part has none)."""
        pieces, next_soft, segment = [], 0, 0
        for part in self.parts:
            if isinstance(part, Text):
                pieces.append(("text", _tokens(tokenizer, part.text), segment))
            elif isinstance(part, Field):
                pieces.append(("field", _tokens(tokenizer, part.text(example)), segment))
            elif isinstance(part, Mask):
                pieces.append((mask_piece[0], list(mask_piece[1]), segment))
            elif isinstance(part, Sep):
                pieces.append(("text", [separator], segment))
                segment += 1
            elif mask_piece[0] == "mask":  # Soft, in the query's part only
                if vocab_size is None:
                    raise PromptError("a template with Soft tokens needs the model's vocab_size")
                ids = list(range(vocab_size + next_soft, vocab_size + next_soft + part.count))
                pieces.append(("text", ids, segment))
                next_soft += part.count
        return pieces


def _tokens(tokenizer, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []


def _truncate(pieces: list, budget: int, template: Template) -> None:
    """Shorten the fields, the longest first and from its end, until all pieces fit `budget` tokens."""
    fixed = sum(len(tokens) for kind, tokens, _ in pieces if kind != "field")
    if fixed > budget:
        raise PromptError(
            f"{template} needs {fixed + 2} tokens without its fields, more than max_length {budget + 2}: "
            "shorten the template or raise max_length"
        )
    fields = [tokens for kind, tokens, _ in pieces if kind == "field"]
    excess = fixed + sum(len(tokens) for tokens in fields) - budget
    while excess > 0:
        longest = max(fields, key=len)
        longest.pop()
        excess -= 1
