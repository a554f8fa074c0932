"""A tokenizer whose vocabulary is saved as one JSON file in a directory (the character and word tokenizers)."""

import json
import os


class SavedVocabulary:
    """Subclasses set FILE and give `to_saved()` (JSON-able) and `from_saved(value)` (a classmethod)."""

    FILE: str

    @classmethod
    def load(cls, directory: str):
        with open(os.path.join(directory, cls.FILE), encoding="utf-8") as f:
            return cls.from_saved(json.load(f))

    @classmethod
    def is_saved_in(cls, directory: str) -> bool:
        return os.path.isfile(os.path.join(directory, cls.FILE))

    def save(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, self.FILE), "w", encoding="utf-8") as f:
            json.dump(self.to_saved(), f)
