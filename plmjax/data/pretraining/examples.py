"""Pretraining examples from tokenised documents (a document: a list of sentences, each a list of token ids).

- `create_segment_pairs`: BERT's `create_pretraining_data` pairs `[CLS] A [SEP] B [SEP]` with NSP or ALBERT's SOP
  labels, for `MlmCollator`.
- `pack_documents`: documents concatenated (an end-of-document id after each) and cut into fixed-length rows, for
  causal LM (and, without a separator, T5's span corruption).
- `pack_sentences`: whole sentences packed into segments of at most `max_tokens` (RoBERTa's FULL-SENTENCES /
  DOC-SENTENCES), for MLM (`join_segment` adds the special tokens) and BART denoising.
"""

import numpy as np

SENTENCE_TASKS = ("nsp", "sop")


def _concat(sentences) -> list[int]:
    return [token for sentence in sentences for token in sentence]


def truncate_pair(tokens_a: list[int], tokens_b: list[int], max_tokens: int, rng: np.random.Generator):
    """BERT's truncation, in place: while too long, drop a token from the longer segment, from its front or its
    back with equal probability (so the model does not learn where truncation happens)."""
    while len(tokens_a) + len(tokens_b) > max_tokens:
        longer = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


def _random_segment(documents, document_index: int, target_length: int, rng) -> list[int]:
    # Uniform over the OTHER documents (BERT retries 10 times and may fall back to the same document).
    other = int(rng.integers(len(documents) - 1))
    other += other >= document_index
    document = documents[other]
    start = int(rng.integers(len(document)))
    tokens: list[int] = []
    for sentence in document[start:]:
        tokens.extend(sentence)
        if len(tokens) >= target_length:
            break
    return tokens


def create_segment_pairs(
    documents,
    *,
    max_length: int,
    cls_token_id: int,
    sep_token_id: int,
    task: str = "nsp",
    rng: np.random.Generator,
    short_seq_prob: float = 0.1,
) -> list[dict]:
    """Segment pairs from every document, in document order, following BERT's `create_instances_from_document`.

    Each pair fills up to `max_length - 3` tokens (with probability `short_seq_prob` a document gets a random
    shorter target, so the model also sees short inputs): sentences are gathered until the target length, A is
    their first 1..n-1 (random split point) and B the rest. NSP (`task="nsp"`): with probability 0.5 B is replaced by a
    segment from a random other document (`sentence_label` 1; the sentences not used go back to the document);
    else B is the actual continuation (0). SOP (`task="sop"`): A and B are swapped with probability 0.5 (label 1).
    Where the gathered text is a single sentence, an actual-next or SOP pair splits it at a random token (BERT
    would always make that an NSP random pair, which unbalances the labels). The longer segment is truncated
    (`truncate_pair`).
    Returns dicts with `input_ids`, `token_type_ids` (0 for [CLS] A [SEP], 1 for B [SEP]) and `sentence_label`.
    """
    if task not in SENTENCE_TASKS:
        raise ValueError(f"unknown sentence task {task!r}; expected one of {SENTENCE_TASKS}")
    documents = [[list(sentence) for sentence in document if len(sentence)] for document in documents]
    documents = [document for document in documents if document]
    if task == "nsp" and len(documents) < 2:
        raise ValueError("next-sentence prediction needs at least 2 non-empty documents (random B segments)")
    max_tokens = max_length - 3
    pairs = []
    for document_index, document in enumerate(documents):
        target_length = max_tokens
        if rng.random() < short_seq_prob:
            target_length = int(rng.integers(2, max_tokens + 1))
        chunk: list[list[int]] = []
        chunk_length = 0
        i = 0
        while i < len(document):
            chunk.append(document[i])
            chunk_length += len(document[i])
            if i == len(document) - 1 or chunk_length >= target_length:
                pair, unused = _make_pair(chunk, documents, document_index, target_length, task, rng)
                i -= unused
                if pair is not None:
                    tokens_a, tokens_b, label = pair
                    truncate_pair(tokens_a, tokens_b, max_tokens, rng)
                    pairs.append(_encode_pair(tokens_a, tokens_b, label, cls_token_id, sep_token_id))
                chunk, chunk_length = [], 0
            i += 1
    return pairs


def _make_pair(chunk, documents, document_index, target_length, task, rng):
    """`((tokens_a, tokens_b, label) or None, number of chunk sentences given back to the document)`."""
    if task == "nsp" and rng.random() < 0.5:
        split = int(rng.integers(1, len(chunk))) if len(chunk) >= 2 else 1
        tokens_a = _concat(chunk[:split])
        tokens_b = _random_segment(documents, document_index, max(1, target_length - len(tokens_a)), rng)
        return (tokens_a, tokens_b, 1), len(chunk) - split
    if len(chunk) >= 2:
        split = int(rng.integers(1, len(chunk)))
        tokens_a, tokens_b = _concat(chunk[:split]), _concat(chunk[split:])
    elif len(chunk[0]) >= 2:
        split = int(rng.integers(1, len(chunk[0])))
        tokens_a, tokens_b = list(chunk[0][:split]), list(chunk[0][split:])
    else:
        return None, 0  # a one-token text cannot be split into two segments
    if task == "sop" and rng.random() < 0.5:
        return (tokens_b, tokens_a, 1), 0
    return (tokens_a, tokens_b, 0), 0


def _encode_pair(tokens_a, tokens_b, label, cls_token_id, sep_token_id) -> dict:
    input_ids = [cls_token_id, *tokens_a, sep_token_id, *tokens_b, sep_token_id]
    token_type_ids = [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1)
    return {"input_ids": input_ids, "token_type_ids": token_type_ids, "sentence_label": label}


def pack_documents(documents, row_length: int, *, separator_id: int | None = None, drop_remainder: bool = True):
    """Documents (each a flat list of ids) concatenated, `separator_id` after each when given (GPT-2's
    <|endoftext|>), and cut into rows of `row_length`; a row may hold the end of one document and the start of
    the next. The last, shorter row is dropped unless `drop_remainder=False`."""
    stream: list[int] = []
    for document in documents:
        stream.extend(document)
        if separator_id is not None:
            stream.append(separator_id)
    stop = len(stream) - len(stream) % row_length if drop_remainder else len(stream)
    return [stream[start : start + row_length] for start in range(0, stop, row_length)]


def pack_sentences(documents, max_tokens: int, *, cross_documents: bool = False, separator_id: int | None = None):
    """Whole sentences packed greedily into segments of at most `max_tokens` ids; each segment is a list of
    sentences. A sentence longer than `max_tokens` is cut into pieces. Segments stay inside a document
    (DOC-SENTENCES) unless `cross_documents` (FULL-SENTENCES), where `separator_id`, when given, is appended to
    the last sentence of each document to mark the boundary."""
    segments: list[list[list[int]]] = []
    current: list[list[int]] = []
    length = 0
    for document in documents:
        sentences = [list(sentence) for sentence in document if len(sentence)]
        if cross_documents and separator_id is not None and sentences:
            sentences[-1].append(separator_id)
        for sentence in sentences:
            pieces = [sentence[start : start + max_tokens] for start in range(0, len(sentence), max_tokens)]
            for piece in pieces:
                if length + len(piece) > max_tokens and current:
                    segments.append(current)
                    current, length = [], 0
                current.append(piece)
                length += len(piece)
        if not cross_documents and current:
            segments.append(current)
            current, length = [], 0
    if current:
        segments.append(current)
    return segments


def join_segment(segment, *, bos_id: int | None = None, eos_id: int | None = None) -> list[int]:
    """A segment's sentences as one list of ids, between `bos_id` ([CLS], <s>) and `eos_id` ([SEP], </s>)."""
    ids = _concat(segment)
    return ([bos_id] if bos_id is not None else []) + ids + ([eos_id] if eos_id is not None else [])
