"""A real-text classification dataset every Python install carries: standard-library docstrings, labelled by topic.

Each example is one paragraph of the docstring of a module, or of a public function, class or method defined
in it; its label is the topic of the module it came from (six topics of four to six modules each). A docstring's
paragraphs all go to the same split; the split is a fixed function of the docstrings (a checksum order, about
20% of each topic to validation), so it never changes between runs or machines. The texts are those of the
running Python version (3.11: about 1,150 train and 290 validation examples).
No network, no files: the quickstart trains on it.
"""

import functools
import importlib
import inspect
import re
import zlib

# Topic -> modules. posixpath rather than os.path, so that the texts are the same on every operating system.
TOPIC_MODULES = (
    ("math", ("math", "cmath", "statistics", "fractions", "random")),
    ("text", ("re", "string", "textwrap", "difflib", "unicodedata")),
    ("files", ("posixpath", "shutil", "glob", "fnmatch", "pathlib", "tempfile")),
    ("dates", ("datetime", "time", "calendar", "zoneinfo")),
    ("data_formats", ("json", "csv", "pickle", "base64", "gzip", "zipfile")),
    ("networking", ("socket", "http.client", "urllib.parse", "urllib.request")),
)
LABEL_NAMES = tuple(topic for topic, _ in TOPIC_MODULES)
VALIDATION_PERCENT = 20
_MIN_WORDS = 4


def _docstring(obj) -> str | None:
    # obj.__doc__, not inspect.getdoc: getdoc fills a missing method doc from a base class, which would copy
    # one text into several topics.
    doc = getattr(obj, "__doc__", None)
    return inspect.cleandoc(doc) if isinstance(doc, str) and doc.strip() else None


def _defined_in(obj, module_name: str) -> bool:
    # A C accelerator counts as its module (`_socket` for socket); re-exports from elsewhere (genericpath in
    # posixpath) do not.
    owner = getattr(obj, "__module__", None) or ""
    last = module_name.rsplit(".", 1)[-1]
    return owner in (module_name, "_" + last)


def _documented_members(module_name: str):
    """(qualified name, docstring) for the module, its public routines and classes, and their public members."""
    module = importlib.import_module(module_name)
    found = [(module_name, _docstring(module))]
    for name in sorted(vars(module)):
        obj = vars(module)[name]
        if name.startswith("_") or not (inspect.isroutine(obj) or inspect.isclass(obj)):
            continue
        if not _defined_in(obj, module_name):
            continue
        found.append((f"{module_name}.{name}", _docstring(obj)))
        if inspect.isclass(obj):
            for member_name in sorted(vars(obj)):
                member = vars(obj)[member_name]
                if member_name.startswith("_"):
                    continue
                if inspect.isroutine(member) or isinstance(member, (property, classmethod, staticmethod)):
                    found.append((f"{module_name}.{name}.{member_name}", _docstring(member)))
    return [(qualified, doc) for qualified, doc in found if doc]


def _paragraphs(doc: str) -> list[str]:
    paragraphs = (" ".join(block.split()) for block in re.split(r"\n\s*\n", doc))
    return [p for p in paragraphs if len(p.split()) >= _MIN_WORDS]


def _checksum(qualified_name: str) -> int:
    return zlib.crc32(qualified_name.encode("utf-8"))


def _assign_splits(documents: list[tuple[str, list[str]]]) -> dict[str, str]:
    """qualified name -> split, for one topic's (name, paragraphs) documents.

    Documents are visited in checksum order (a fixed shuffle) and go to validation until it holds
    VALIDATION_PERCENT of the topic's paragraphs: every topic gets its share, and a document's paragraphs,
    which share words, never straddle the two splits.
    """
    total = sum(len(paragraphs) for _, paragraphs in documents)
    target = total * VALIDATION_PERCENT / 100
    in_validation = 0
    splits = {}
    for name, paragraphs in sorted(documents, key=lambda document: (_checksum(document[0]), document[0])):
        if in_validation + len(paragraphs) / 2 <= target:
            splits[name] = "validation"
            in_validation += len(paragraphs)
        else:
            splits[name] = "train"
    return splits


@functools.cache
def _all_examples() -> tuple[tuple[str, dict], ...]:
    candidates = []
    for label, (_, module_names) in enumerate(TOPIC_MODULES):
        documents = []
        for module_name in module_names:
            for qualified, doc in _documented_members(module_name):
                paragraphs = _paragraphs(doc)
                if paragraphs:
                    documents.append((qualified, paragraphs))
        splits = _assign_splits(documents)
        for qualified, paragraphs in documents:
            for paragraph in paragraphs:
                candidates.append((splits[qualified], {"text": paragraph, "label": label, "source": qualified}))
    # A paragraph found under two topics (a shared boilerplate sentence) has no right answer: drop it. A repeat
    # within one topic (an alias) is kept once, so that no text is in both splits.
    labels_of: dict[str, set[int]] = {}
    for _, example in candidates:
        labels_of.setdefault(example["text"], set()).add(example["label"])
    seen: set[str] = set()
    kept = []
    for split, example in candidates:
        text = example["text"]
        if len(labels_of[text]) > 1 or text in seen:
            continue
        seen.add(text)
        kept.append((split, example))
    return tuple(kept)


def build_examples(split: str) -> list[dict]:
    """The examples of `split` ("train" or "validation"): dicts with "text", "label" (int) and "source"."""
    if split not in ("train", "validation"):
        raise ValueError(f"stdlib_docs has the splits 'train' and 'validation', not {split!r}")
    return [dict(example) for example_split, example in _all_examples() if example_split == split]
