"""A pretraining run's data: the corpus (local text files or a tfds dataset), its held-out split, the
tokenizer (a directory, or trained on the corpus into the workdir) and the examples the objective needs.

Examples are built once on the host; the collator (plmjax.data.pretraining.batches) turns each batch of them into fixed
shapes, with the masking noise drawn per example.
"""

import dataclasses
import math
import os

import jax
import numpy as np

from plmjax.data import DataError
from plmjax.data import pretraining as pt
from plmjax.data.pretraining.char_tokenizer import CharTokenizer
from plmjax.data.pretraining.text_pairs import encode_text_pairs, read_text_pairs
from plmjax.data.pretraining.word_tokenizer import WordTokenizer

TEXT_LAYOUT = "text"  # a file is one document, one "sentence", kept verbatim (newlines too): character LMs
TOKENIZER_KINDS = ("wordpiece", "bpe", "gpt2_bpe", "char", "word")


@dataclasses.dataclass
class PretrainingData:
    tokenizer: object
    train_documents: list  # tokenised: documents -> sentences -> ids
    eval_documents: list
    train_examples: list
    eval_examples: list

    @property
    def num_train(self) -> int:
        return len(self.train_examples)

    @property
    def num_eval(self) -> int:
        return len(self.eval_examples)


def _paths(text: str) -> list[str]:
    return [path.strip() for path in text.split(",") if path.strip()]


def read_texts(paths: list[str], layout: str) -> list[list[str]]:
    """Documents (lists of sentences) of local text files."""
    documents = []
    for path in paths:
        if layout == TEXT_LAYOUT:
            with open(path, encoding="utf-8") as f:
                documents.append([f.read()])
        else:
            documents.extend(pt.read_documents(path, layout))
    return documents


def read_corpus(data_config) -> tuple[list, list | None]:
    """(train documents, held-out documents or None: split by fraction later), as text."""
    c = data_config
    if bool(c.corpus_files) == bool(c.corpus_tfds):
        raise DataError("a pretraining objective needs exactly one of data.corpus_files or data.corpus_tfds")
    if c.corpus_files:
        documents = read_texts(_paths(c.corpus_files), c.corpus_layout)
    else:
        # Each process reads only its shard of the dataset, so the processes hold different numbers of examples:
        # a fixed number of evaluation batches keeps them in step.
        if jax.process_count() > 1 and not c.eval_batches:
            raise ValueError("data.corpus_tfds on several processes needs data.eval_batches > 0")
        documents = pt.tfds_documents(
            c.corpus_tfds,
            "train",
            data_dir=c.data_dir,
            process_index=jax.process_index(),
            process_count=jax.process_count(),
        )
        documents = [d for _, d in zip(range(c.max_documents or 2**62), documents, strict=False)]
    held_out = read_texts(_paths(c.validation_files), c.corpus_layout) if c.validation_files else None
    return documents, held_out


def get_tokenizer(data_config, documents, workdir: str):
    """data.tokenizer (a directory), or one trained on the corpus into <workdir>/tokenizer (reused on resume)."""
    c = data_config
    if c.tokenizer:
        for kind in (CharTokenizer, WordTokenizer):
            if kind.is_saved_in(c.tokenizer):
                return kind.load(c.tokenizer)
        from plmjax.hf import load_tokenizer

        return load_tokenizer(c.tokenizer)
    if c.tokenizer_kind not in TOKENIZER_KINDS:
        raise ValueError(f"data.tokenizer_kind={c.tokenizer_kind!r}; choose one of {TOKENIZER_KINDS}")
    directory = os.path.join(workdir, "tokenizer")
    if c.tokenizer_kind in ("char", "word"):
        kind = CharTokenizer if c.tokenizer_kind == "char" else WordTokenizer
        if kind.is_saved_in(directory):
            return kind.load(directory)
        texts = (sentence for document in documents for sentence in document)
        # word: a vocabulary of every word type, its softmax the tokenizer_vocab_size most frequent.
        options = {} if kind is CharTokenizer else {"softmax_size": c.tokenizer_vocab_size}
        tokenizer = kind.from_texts(texts, **options)
        if jax.process_index() == 0:
            tokenizer.save(directory)
        return tokenizer
    if os.path.isfile(os.path.join(directory, "tokenizer.json")):
        from plmjax.hf import load_tokenizer

        return load_tokenizer(directory)
    texts = [sentence for document in documents for sentence in document]
    options = dict(vocab_size=c.tokenizer_vocab_size, extra_ids=c.tokenizer_extra_ids)
    if c.tokenizer_kind == "wordpiece":
        return pt.train_wordpiece_tokenizer(directory, texts=texts, lowercase=c.tokenizer_lowercase, **options)
    style = "gpt2" if c.tokenizer_kind == "gpt2_bpe" else "roberta"
    return pt.train_bpe_tokenizer(directory, texts=texts, style=style, **options)


def split_held_out(documents: list, fraction: float) -> tuple[list, list]:
    """The last `fraction` of the documents held out; a single document is split by tokens instead (the first
    90% / last 10% of a text, as nanoGPT's prepare.py)."""
    if not 0 < fraction < 1:
        raise ValueError(f"data.validation_fraction={fraction} must be in (0, 1) without data.validation_files")
    if len(documents) == 1:
        ids = [token for sentence in documents[0] for token in sentence]
        cut = int(len(ids) * (1 - fraction))
        return [[ids[:cut]]], [[ids[cut:]]]
    held = max(1, math.ceil(len(documents) * fraction))
    return documents[:-held], documents[-held:]


def load(config, workdir: str, tokenizer=None) -> PretrainingData:
    """Corpus -> tokenizer -> tokenised documents -> the objective's examples, for train and validation."""
    c = config.data
    if config.objective.name in PAIR_OBJECTIVES:
        return load_text_pairs(config, workdir, tokenizer)
    documents, held_out = read_corpus(c)
    if tokenizer is None:
        tokenizer = get_tokenizer(c, documents + (held_out or []), workdir)
    tokenized = pt.tokenize_documents(tokenizer, documents)
    if held_out is None:
        train, evaluation = split_held_out(tokenized, c.validation_fraction)
    else:
        train, evaluation = tokenized, pt.tokenize_documents(tokenizer, held_out)
    if c.sampling == "random_windows":
        return PretrainingData(tokenizer, train, evaluation, [], [])
    rng = np.random.default_rng([config.seed, 7])
    train_examples = build_examples(config, tokenizer, train, rng)
    eval_examples = build_examples(config, tokenizer, evaluation, rng)
    if len(train_examples) < c.batch_size:
        raise DataError(
            f"the corpus gives {len(train_examples)} training examples, fewer than a batch of {c.batch_size}"
        )
    if not eval_examples:
        raise DataError("the held-out split gives no examples: raise data.validation_fraction or add text")
    return PretrainingData(tokenizer, train, evaluation, train_examples, eval_examples)


# Objectives that learn (source, target) pairs.
PAIR_OBJECTIVES = ("text_to_text", "cove")


def load_text_pairs(config, workdir: str, tokenizer=None) -> PretrainingData:
    """text_to_text and cove: the (source, target) pairs of data.corpus_files (JSON lines, plmjax.data.
    pretraining.text_pairs), held out from data.validation_files or the last data.validation_fraction of them;
    the tokenizer is data.tokenizer or the model's directory (cove: one trained on every pair's words, as
    get_tokenizer trains, unless data.tokenizer names one)."""
    c = config.data
    if not c.corpus_files:
        raise DataError("objective text_to_text reads data.corpus_files: JSON lines with source and target")
    pairs = [pair for path in _paths(c.corpus_files) for pair in read_text_pairs(path)]
    if c.validation_files:
        held_out = [pair for path in _paths(c.validation_files) for pair in read_text_pairs(path)]
    else:
        if not 0 < c.validation_fraction < 1:
            raise ValueError(f"data.validation_fraction={c.validation_fraction} must be in (0, 1)")
        cut = len(pairs) - max(1, math.ceil(len(pairs) * c.validation_fraction))
        pairs, held_out = pairs[:cut], pairs[cut:]
    if tokenizer is None and config.objective.name == "cove":
        tokenizer = get_tokenizer(c, [[text for pair in pairs + held_out for text in pair]], workdir)
    elif tokenizer is None:
        from plmjax.hf import load_tokenizer

        tokenizer = load_tokenizer(c.tokenizer or config.model.name_or_path)
    lengths = c.max_length, config.objective.text_to_text.target_length
    train, evaluation = (encode_text_pairs(tokenizer, p, *lengths) for p in (pairs, held_out))
    if len(train) < c.batch_size:
        raise DataError(f"{len(train)} training pairs, fewer than a batch of {c.batch_size}")
    return PretrainingData(tokenizer, [], [], train, evaluation)


def flat_documents(documents) -> list[list[int]]:
    return [[token for sentence in document for token in sentence] for document in documents]


def stream(documents, separator_id: int | None) -> np.ndarray:
    """All documents' ids in one array, separator_id after each when given."""
    pieces = []
    for document in flat_documents(documents):
        pieces.append(document)
        if separator_id is not None:
            pieces.append([separator_id])
    return np.asarray([token for piece in pieces for token in piece], dtype=np.int32)


def t5_tokens_length(config) -> int:
    t5 = config.objective.t5
    return pt.span_corruption_lengths(config.data.max_length, t5.noise_density, t5.mean_noise_span_length)[0]


def build_examples(config, tokenizer, documents, rng) -> list:
    """The objective's examples (see plmjax.data.pretraining's builders): segment pairs (MLM with NSP/SOP), sentence
    segments with [CLS]/[SEP] (MLM, ELECTRA, distillation), packed rows (causal LM, T5), sentence lists (BART)."""
    name, length = config.objective.name, config.data.max_length
    if name in ("mlm", "electra", "distillation"):
        if config.objective.sentence_task:
            return pt.create_segment_pairs(
                documents,
                max_length=length,
                cls_token_id=tokenizer.cls_token_id,
                sep_token_id=tokenizer.sep_token_id,
                task=config.objective.sentence_task,
                rng=rng,
            )
        segments = pt.pack_sentences(documents, length - 2)
        return [pt.join_segment(s, bos_id=tokenizer.cls_token_id, eos_id=tokenizer.sep_token_id) for s in segments]
    if name in ("clm", "plm"):
        return pt.pack_documents(flat_documents(documents), length, separator_id=tokenizer.eos_token_id)
    if name == "bart":
        return pt.pack_sentences(documents, length - 2)
    if name == "t5":
        return pt.pack_documents(flat_documents(documents), t5_tokens_length(config))
    raise ValueError(f"objective {name!r} has no pretraining examples")
