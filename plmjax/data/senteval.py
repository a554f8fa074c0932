"""SentEval's sentence corpora (MR, CR, SUBJ, MPQA: a sentence a line, one file per class) and the key that
matches one sentence written two ways (SentEval's text against LM-BFF's test files).

SentEval's files are ASCII: the bytes >= 0x80 of the original Latin-1 / cp1252 text are written as `cat -v`
does, "M-" + the byte minus 0x80 ("M-i" = 0xE9 = é), with "^X" for control characters ("M-^V" = 0x96 = en
dash). LM-BFF's files have the characters themselves, and other spacing (`it 's` / `it's`, ``` `` ``` / `"`).
"""

import os
import re

# Corpus folder under senteval/ -> its files.
SENTEVAL = {
    "MR": ("rt-polarity.neg", "rt-polarity.pos"),
    "CR": ("custrev.neg", "custrev.pos"),
    "SUBJ": ("subj.objective", "subj.subjective"),
    "MPQA": ("mpqa.neg", "mpqa.pos"),
}
CAT_V_ESCAPE = re.compile(r"M-(\^.|.)")


def sentence_key(text: str) -> str:
    """What two spellings of one sentence share: its ASCII letters and digits, lower-cased."""
    text = CAT_V_ESCAPE.sub("", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^0-9a-z]", "", text)


def decode_cat_v(text: str) -> str:
    """SentEval's `cat -v` escapes back to the characters they stand for (cp1252)."""

    def byte(match):
        rest = match.group(1)
        value = (0x7F if rest == "^?" else ord(rest[1]) ^ 0x40) if rest.startswith("^") else ord(rest)
        return bytes([value + 0x80]).decode("cp1252", errors="replace")

    return CAT_V_ESCAPE.sub(byte, text)


def senteval_sentences(folder: str, names: tuple[str, ...]) -> list[str]:
    """A SentEval corpus' sentences, in file order, whitespace collapsed and escapes decoded."""
    sentences = []
    for name in names:
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            sentences.extend(decode_cat_v(" ".join(line.split())) for line in f if line.strip())
    return sentences
