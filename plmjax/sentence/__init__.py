"""Sentence embeddings: STS evaluation (SimCSE's protocol), BERT-whitening, anisotropy diagnostics
(docs/sentence.md)."""
