"""Pretraining data: documents from raw text, tokenizer training, example construction and the collators.

documents = read_documents("wiki.txt", layout="wikitext")            # or tfds_documents("c4/en")
tokenizer = train_wordpiece_tokenizer("tok/", texts=..., vocab_size=8000)
tokenized = tokenize_documents(tokenizer, documents)                 # documents -> sentences -> ids
pairs = create_segment_pairs(tokenized, max_length=128, cls_token_id=..., sep_token_id=..., task="nsp", rng=rng)
collate = MlmCollator.from_tokenizer(tokenizer, 128, unit="word")   # MLM (+ NSP/SOP labels from the pairs)
batch = collate(pairs[:32], example_rngs(seed, range(32), epoch))    # dynamic masking; epoch=None: static
"""

from plmjax.data.pretraining.collators import CausalLmCollator, MlmCollator, pad_batch
from plmjax.data.pretraining.corpus import (
    DOCUMENT_LAYOUTS,
    read_documents,
    split_sentences,
    text_to_document,
    tfds_documents,
    tokenize_documents,
)
from plmjax.data.pretraining.denoising import BartDenoisingCollator
from plmjax.data.pretraining.examples import (
    create_segment_pairs,
    join_segment,
    pack_documents,
    pack_sentences,
    truncate_pair,
)
from plmjax.data.pretraining.knowledge_masking import (
    KnowledgeSpans,
    entity_gazetteer,
    phrase_lexicon,
    piece_texts,
)
from plmjax.data.pretraining.masking import (
    MlmMasker,
    continuation_table,
    example_rngs,
    per_example_generators,
    spanbert_span_length_probs,
)
from plmjax.data.pretraining.span_corruption import (
    T5SpanCorruptionCollator,
    random_spans_noise_mask,
    span_corruption_lengths,
)
from plmjax.data.pretraining.tokenizer_training import train_bpe_tokenizer, train_wordpiece_tokenizer

__all__ = [
    "DOCUMENT_LAYOUTS",
    "BartDenoisingCollator",
    "CausalLmCollator",
    "KnowledgeSpans",
    "MlmCollator",
    "MlmMasker",
    "T5SpanCorruptionCollator",
    "continuation_table",
    "create_segment_pairs",
    "entity_gazetteer",
    "example_rngs",
    "join_segment",
    "pack_documents",
    "pack_sentences",
    "pad_batch",
    "per_example_generators",
    "phrase_lexicon",
    "piece_texts",
    "random_spans_noise_mask",
    "read_documents",
    "span_corruption_lengths",
    "spanbert_span_length_probs",
    "split_sentences",
    "text_to_document",
    "tfds_documents",
    "tokenize_documents",
    "train_bpe_tokenizer",
    "train_wordpiece_tokenizer",
    "truncate_pair",
]
