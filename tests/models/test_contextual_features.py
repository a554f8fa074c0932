"""Contextual vectors downstream: the features ELMo's biLM and CoVe's encoder give a task, and the scalar-mix
classifier that reads them."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from plmjax.data.pretraining.word_tokenizer import WordTokenizer
from plmjax.models.contextual_features import MixClassifier, bilm_layers, cove_vectors, train_classifier
from plmjax.models.cove import CoveSeq2Seq
from plmjax.models.elmo import ElmoBiLM, elmo_char_ids

SENTENCES = [["the", "cat", "sat"], ["a", "dog"], ["the", "dog", "ran", "far", "away"]]


def test_bilm_layers_are_each_sentences_own_layers_cut_and_padded():
    model = ElmoBiLM(vocab_size=9, projection_dim=4, cell_size=6, char_dim=3, filters=((1, 4), (2, 4)), max_chars=8)
    params = nn.unbox(model.init(jax.random.key(0), model.dummy_inputs())["params"])
    layers, mask = bilm_layers(model, params, SENTENCES, max_words=4, batch_size=2)
    assert layers.shape == (3, 4, 3, 8) and mask.tolist() == [[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]]
    alone = model.apply({"params": params}, jnp.asarray(elmo_char_ids(SENTENCES[2][:4], 8))[None])
    np.testing.assert_allclose(layers[2], np.stack(alone["layers"], axis=2)[0], atol=1e-6)


def test_cove_vectors_are_the_word_vectors_then_the_encoder_outputs():
    tokenizer = WordTokenizer.from_texts([" ".join(s) for s in SENTENCES[:2]], softmax_size=8)
    model = CoveSeq2Seq(len(tokenizer), 8, embed_dim=3, hidden_size=2, num_layers=2)
    params = nn.unbox(model.init(jax.random.key(0), *model.dummy_inputs())["params"])
    out = cove_vectors(model, params, tokenizer, SENTENCES, max_words=4)
    assert out["words"].shape == (3, 4, 1, 3) and out["words+cove"].shape == (3, 4, 1, 7)
    ids = jnp.asarray([[tokenizer.ids.get(w, tokenizer.unk_token_id) for w in SENTENCES[2][:4]]])  # ran, far: unk
    assert int(ids[0, 2]) == tokenizer.unk_token_id
    encoded = model.apply({"params": params}, ids, jnp.ones_like(ids), method=CoveSeq2Seq.encode)
    np.testing.assert_allclose(out["words+cove"][2, :, 0, :3], out["words"][2, :, 0], atol=0)
    np.testing.assert_allclose(out["words+cove"][2, :, 0, 3:], encoded[0], atol=1e-6)


def test_classifier_pools_only_real_words_and_learns_a_task():
    model = MixClassifier(num_labels=2, num_layers=2)
    x = jax.random.normal(jax.random.key(0), (3, 5, 2, 4))
    mask = jnp.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]])
    params = model.init(jax.random.key(1), x, mask)["params"]
    logits = model.apply({"params": params}, x, mask)
    changed = jnp.where(mask[:, :, None, None] == 0, 100.0, x)  # only padded positions change
    np.testing.assert_allclose(model.apply({"params": params}, changed, mask), logits, atol=1e-6)

    rng = np.random.default_rng(0)
    features = rng.normal(size=(600, 6, 2, 4)).astype(np.float32)
    labels = (features[:, :, 1, 0].mean(1) > 0).astype(np.int32)  # readable from layer 1 only
    masks = np.ones((600, 6), np.int32)
    parts = {"train": slice(0, 400), "dev": slice(400, 500), "test": slice(500, 600)}
    splits = {name: (features[rows], masks[rows], labels[rows]) for name, rows in parts.items()}
    result = train_classifier(splits, 2, None, steps=600, eval_every=100)
    assert result["test"] > 0.85 and len(result["mix"]["weights"]) == 2
    assert train_classifier(splits, 2, [0], steps=600, eval_every=100)["test"] < 0.7  # layer 0 alone cannot
