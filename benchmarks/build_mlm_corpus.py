"""Build the masked-LM corpus of configs/minilm_mlm_head.py from the real text in the shared data folder.

    python benchmarks/build_mlm_corpus.py [--data-root ../shared/data] [--out-dir /tmp/plmjax_mlm_corpus]

Writes <out-dir>/train.txt and <out-dir>/held_out.txt, one document per line (the config reads them with
data.corpus_layout="lines"): WikiText-2's valid.txt (a paragraph a line, `<unk>` written as BERT's `[UNK]`,
which is never masked, and the ` @-@ ` style number/hyphen tokens joined), tinyshakespeare (each speaker's
speech on one line) and the SentEval corpora MR, CR, SUBJ and MPQA (a sentence a line). Every sentence that
occurs in an LM-BFF test file (lmbff_kshot/<task>/test.* of every task there) is left out. Sentences are
compared by a key that ignores case, whitespace, punctuation and non-ASCII characters, because the same
sentence is written differently in the two places: `it 's` / `it's`, ``` `` ``` / `"`, and SentEval's
`cat -v` escapes of Latin-1 bytes (`clichM-is`) against LM-BFF's `clichés`. A random `--held-out-fraction` of
each source's documents goes to held_out.txt.
"""

import argparse
import csv
import glob
import os
import re
import sys

import numpy as np

from plmjax.data.pretraining.default_corpora import DATA_ROOT as DEFAULT_DATA_ROOT  # $PLMJAX_DATA or ../shared/data
from plmjax.data.senteval import SENTEVAL, sentence_key, senteval_sentences

WIKITEXT_HEADING = re.compile(r"^=( =)* .* =( =)*$")  # " = Title = ", " = = Section = = " (stripped)
MIN_PIECE_WORDS = 4
WIKITEXT_JOINS = ((" @-@ ", "-"), (" @,@ ", ","), (" @.@ ", "."))


def split_sentences(text: str) -> list[str]:
    from plmjax.data.pretraining import split_sentences as split

    return split(text)


def read_test_texts(data_root: str) -> tuple[dict[str, int], set[str]]:
    """({test file: number of texts}, keys of every text and of each of its sentences) of LM-BFF's test files: `label,
    sentence` CSVs, CoLA's header-less TSV (sentence last), and GLUE TSVs with sentence1 / sentence2 columns."""
    files = sorted(glob.glob(os.path.join(data_root, "lmbff_kshot", "*", "test.*")))
    if not files:
        raise SystemExit(f"no LM-BFF test files under {os.path.join(data_root, 'lmbff_kshot')}")
    counts, keys = {}, set()
    for path in files:
        texts = []
        with open(path, newline="", encoding="utf-8") as f:
            if path.endswith(".csv"):
                texts = [row[1] for row in csv.reader(f) if len(row) >= 2]
            else:
                rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
                if "sentence1" in rows[0]:
                    columns = [i for i, name in enumerate(rows[0]) if name in ("sentence1", "sentence2")]
                    texts = [row[i] for row in rows[1:] for i in columns]
                else:
                    texts = [row[-1] for row in rows]
        counts[os.path.relpath(path, data_root)] = len(texts)
        for text in texts:
            # Sentences of several-sentence texts too (RTE's premises), but not the fragments the splitter makes
            # of abbreviations ("U.S.", "Mr."), which would cut such fragments out of every corpus paragraph.
            pieces = [piece for piece in split_sentences(text) if len(piece.split()) >= MIN_PIECE_WORDS]
            keys.update(key for key in map(sentence_key, [text, *pieces]) if key)
    return counts, keys


def wikitext_documents(path: str) -> list[list[str]]:
    """WikiText-2's paragraphs (titles and headings dropped), each a list of sentences."""
    documents = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            text = line.strip()
            if not text or WIKITEXT_HEADING.match(text):
                continue
            text = text.replace("<unk>", "[UNK]")
            for joined, plain in WIKITEXT_JOINS:
                text = text.replace(joined, plain)
            documents.append(split_sentences(text))
    return documents


def shakespeare_documents(path: str) -> list[list[str]]:
    """tinyshakespeare's speeches ("Speaker:" and its lines, blank-line separated), each a list of sentences."""
    with open(path, encoding="utf-8") as f:
        blocks = f.read().split("\n\n")
    return [split_sentences(" ".join(block.split())) for block in blocks if block.strip()]


def senteval_documents(folder: str, names: tuple[str, ...]) -> list[list[str]]:
    """A SentEval corpus' sentences (a line each, in its polarity files), each one document."""
    return [[sentence] for sentence in senteval_sentences(folder, names)]


def without_test_sentences(documents, test_keys):
    """(documents with test sentences removed, sentences kept, sentences removed)."""
    kept_documents, kept, removed = [], 0, 0
    for document in documents:
        sentences = [s for s in document if sentence_key(s) not in test_keys]
        removed += len(document) - len(sentences)
        kept += len(sentences)
        if sentences:
            kept_documents.append(sentences)
    return kept_documents, kept, removed


def shared_sources(data_root: str) -> tuple[str, dict]:
    """(the absolute data root, {source name: () -> its documents}) of the shared data's real text; exits with
    a clear message when the root is missing."""
    root = os.path.abspath(data_root)
    if not os.path.isdir(root):
        sys.exit(f"error: the data root {root} does not exist (pass --data-root=DIR, the shared data folder)")
    sources = {
        "wikitext2/valid.txt": lambda: wikitext_documents(os.path.join(root, "wikitext2", "valid.txt")),
        "tinyshakespeare/input.txt": lambda: shakespeare_documents(os.path.join(root, "tinyshakespeare", "input.txt")),
    }
    for name, files in SENTEVAL.items():
        sources[f"senteval/{name}"] = lambda n=name, f=files: senteval_documents(os.path.join(root, "senteval", n), f)
    return root, sources


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=DEFAULT_DATA_ROOT, help="the shared data folder (SOURCES.md)")
    parser.add_argument("--out-dir", default="/tmp/plmjax_mlm_corpus", help="where train.txt and held_out.txt go")
    parser.add_argument("--held-out-fraction", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root, sources = shared_sources(args.data_root)
    for source in ["wikitext2/valid.txt", "tinyshakespeare/input.txt"] + [f"senteval/{n}" for n in SENTEVAL]:
        path = os.path.join(root, source)
        if not os.path.exists(path):
            sys.exit(f"error: {path} is missing (the data root {root} should hold the files of SOURCES.md)")

    test_counts, test_keys = read_test_texts(root)
    print(f"LM-BFF test texts: {sum(test_counts.values()):,} in {len(test_counts)} files, {len(test_keys):,} keys")
    for path, count in test_counts.items():
        print(f"  {path}: {count:,}")

    rng = np.random.default_rng(args.seed)
    train, held_out = [], []
    print("per source: sentences read, removed as LM-BFF test sentences, documents (lines) kept, of them held out,")
    print("characters kept")
    print(f"{'source':28s} {'sentences':>10s} {'removed':>8s} {'documents':>10s} {'held out':>9s} {'characters':>11s}")
    totals = np.zeros(5, dtype=np.int64)
    for source, read in sources.items():
        documents, kept, removed = without_test_sentences(read(), test_keys)
        lines = [" ".join(document) for document in documents]
        held = rng.random(len(lines)) < args.held_out_fraction
        train.extend(line for line, h in zip(lines, held, strict=True) if not h)
        held_out.extend(line for line, h in zip(lines, held, strict=True) if h)
        row = np.array([kept + removed, removed, len(lines), held.sum(), sum(map(len, lines))])
        totals += row
        print(f"{source:28s} {row[0]:>10,} {row[1]:>8,} {row[2]:>10,} {row[3]:>9,} {row[4]:>11,}")
    print(f"{'total':28s} {totals[0]:>10,} {totals[1]:>8,} {totals[2]:>10,} {totals[3]:>9,} {totals[4]:>11,}")

    os.makedirs(args.out_dir, exist_ok=True)
    for name, lines in (("train.txt", train), ("held_out.txt", held_out)):
        path = os.path.join(args.out_dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        print(f"wrote {path}: {len(lines):,} documents, {os.path.getsize(path):,} bytes")


if __name__ == "__main__":
    main()
