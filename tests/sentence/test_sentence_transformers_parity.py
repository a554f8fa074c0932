"""plmjax's sentence embeddings equal sentence-transformers' encode: the real all-MiniLM-L6-v2 (mean pooling,
normalised, truncated at its 256 tokens) and a tiny random BERT under each pooling sentence-transformers has
(mean, [CLS]), to 1e-5."""

import numpy as np
import pytest

import plmjax
from plmjax.models.sentence_encoder import LENGTH_BUCKETS, bucket_length, encode_sentences
from tests.hf.tiny_models import make_hf_model
from tests.prompting.conftest import wordpiece_tokenizer

SENTENCES = [
    "A man is playing a guitar.",
    "The weather is lovely today, isn't it?",
    "ok",
    "Three dogs run across a snowy field while their owner watches from the porch of a wooden cabin.",
    " ".join(["a very long sentence"] * 90),  # past 256 tokens: both truncate
]


def test_minilm_embeddings_equal_sentence_transformers_encode():
    from sentence_transformers import SentenceTransformer

    from plmjax.hf.bundled import minilm_path

    path = minilm_path()
    reference = SentenceTransformer(path, device="cpu").encode(SENTENCES, batch_size=2, normalize_embeddings=True)
    model, params = plmjax.from_pretrained(path)
    ours = encode_sentences(model, params, plmjax.load_tokenizer(path), SENTENCES, batch_size=2)
    assert np.abs(ours - reference).max() <= 1e-5


@pytest.mark.parametrize(("pooling", "reference_mode"), [("mean", "mean"), ("cls_before_pooler", "cls")])
def test_a_tiny_berts_pooled_embeddings_equal_sentence_transformers(tmp_path, pooling, reference_mode):
    from sentence_transformers import SentenceTransformer, models

    make_hf_model("bert", None).save_pretrained(tmp_path)
    wordpiece_tokenizer().save_pretrained(tmp_path)
    texts = ["it was great", "the movie was not very good", "i liked the plot but hated the acting ."]
    transformer = models.Transformer(str(tmp_path), max_seq_length=64)
    pooling_module = models.Pooling(transformer.get_embedding_dimension(), pooling_mode=reference_mode)
    reference = SentenceTransformer(modules=[transformer, pooling_module, models.Normalize()], device="cpu")
    model, params = plmjax.from_pretrained(str(tmp_path))
    ours = encode_sentences(model, params, plmjax.load_tokenizer(str(tmp_path)), texts, max_length=64, pooling=pooling)
    np.testing.assert_allclose(ours, reference.encode(texts), atol=1e-5)


def test_a_sentence_longer_than_the_position_table_is_cut_where_it_ends(tmp_path):
    """Past the table a position lookup reads NaN: a 16-position model embeds a 40-word sentence as its first
    16 tokens, as sentence-transformers (max_seq_length 16) does."""
    from sentence_transformers import SentenceTransformer, models

    make_hf_model("bert", None, max_position_embeddings=16).save_pretrained(tmp_path)
    wordpiece_tokenizer().save_pretrained(tmp_path)
    texts = ["it was great " * 13, "bad"]
    model, params = plmjax.from_pretrained(str(tmp_path))
    ours = encode_sentences(model, params, plmjax.load_tokenizer(str(tmp_path)), texts)
    transformer = models.Transformer(str(tmp_path), max_seq_length=16)
    pooling_module = models.Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    reference = SentenceTransformer(modules=[transformer, pooling_module, models.Normalize()], device="cpu")
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours, reference.encode(texts), atol=1e-5)


def test_length_buckets_pad_a_batch_by_at_most_an_eighth():
    """Every length up to 16 is its own shape; past it a batch gains at most 1/8 padding (sentence-transformers
    pads each batch to its longest; plmjax sorts by tokens and rounds up to a bucket of 56)."""
    assert len(LENGTH_BUCKETS) == 56 and LENGTH_BUCKETS[-1] == 512
    for length in range(1, 513):
        padded = bucket_length(length)
        assert padded >= length and padded in LENGTH_BUCKETS
        assert padded == length if length <= 16 else padded - length < length / 8


def test_bundled_models_resolve_by_their_names():
    from plmjax.hf.bundled import minilm_path, resolve_model

    assert resolve_model("all-MiniLM-L6-v2") == minilm_path()
    assert resolve_model("/some/dir") == "/some/dir"
