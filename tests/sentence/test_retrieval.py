"""Semantic search equals sentence-transformers' util.semantic_search (the same hits in the same order, the same
scores), whatever the corpus chunk; the similarity matrix equals util.cos_sim."""

import numpy as np
import pytest

from plmjax.sentence.retrieval import cosine_matrix, semantic_search


def _embeddings(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(7, 16)).astype(np.float32), rng.normal(size=(53, 16)).astype(np.float32)


@pytest.mark.parametrize("corpus_chunk", [53, 10, 4])
def test_search_equals_sentence_transformers(corpus_chunk):
    import torch
    from sentence_transformers import util

    queries, corpus = _embeddings()
    hits = util.semantic_search(torch.tensor(queries), torch.tensor(corpus), top_k=5, corpus_chunk_size=20)
    scores, indices = semantic_search(queries, corpus, top_k=5, corpus_chunk=corpus_chunk)
    np.testing.assert_array_equal(indices, [[hit["corpus_id"] for hit in row] for row in hits])
    np.testing.assert_allclose(scores, [[hit["score"] for hit in row] for row in hits], atol=1e-6)


def test_top_k_past_the_corpus_size_returns_every_row_and_bad_shapes_are_errors():
    queries, corpus = _embeddings()
    scores, indices = semantic_search(queries, corpus[:3], top_k=10)
    assert indices.shape == (7, 3) and sorted(indices[0]) == [0, 1, 2]
    assert np.all(np.diff(scores, axis=1) <= 0)
    with pytest.raises(ValueError, match="same dim"):
        semantic_search(queries, corpus[:, :8])


def test_the_similarity_matrix_equals_cos_sim():
    import torch
    from sentence_transformers import util

    queries, corpus = _embeddings(1)
    np.testing.assert_allclose(
        cosine_matrix(queries, corpus), util.cos_sim(torch.tensor(queries), torch.tensor(corpus)), atol=1e-6
    )
