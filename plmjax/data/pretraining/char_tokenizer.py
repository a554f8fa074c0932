"""A character-level tokenizer: one id per distinct character of a text, in sorted order (nanoGPT's
shakespeare_char vocabulary), with no special tokens. Saved as `chars.json` in a directory."""

from plmjax.data.pretraining.saved_vocabulary import SavedVocabulary

CHARS_FILE = "chars.json"


class CharTokenizer(SavedVocabulary):
    """Callable like an HF tokenizer on a list of texts (`tokenize_documents` works with it)."""

    pad_token_id = None
    mask_token_id = None
    eos_token_id = None
    bos_token_id = None
    cls_token_id = None
    sep_token_id = None
    all_special_ids: list[int] = []  # noqa: RUF012 (read-only, like an HF tokenizer's)
    FILE = CHARS_FILE

    def __init__(self, chars):
        self.chars = list(chars)
        self.ids = {char: index for index, char in enumerate(self.chars)}
        if len(self.ids) != len(self.chars):
            raise ValueError("characters must be distinct")

    @classmethod
    def from_texts(cls, texts) -> "CharTokenizer":
        return cls(sorted(set().union(*(set(text) for text in texts))))

    @classmethod
    def from_saved(cls, chars) -> "CharTokenizer":
        return cls(chars)

    def to_saved(self):
        return self.chars

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        try:
            return [self.ids[char] for char in text]
        except KeyError as error:
            raise ValueError(f"character {error.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def __call__(self, texts, add_special_tokens: bool = False):
        del add_special_tokens  # there are none
        return {"input_ids": [self.encode(text) for text in texts]}
