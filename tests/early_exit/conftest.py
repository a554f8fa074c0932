"""Tiny random transformers classifiers imported into plmjax with random exit heads, shared by the early-exit
tests (each family's model is built and imported once per session)."""

import functools

import jax
import numpy as np
import pytest

import plmjax
from plmjax.early_exit import add_exit_params
from tests.hf import tiny_generative_models
from tests.hf.tiny_models import make_hf_model, padded_batch


@functools.cache
def _imported(family: str, directory: str):
    # Four layers (ALBERT's tiny config: four layers of two inner layers each, eight exits).
    if family == "gpt2":
        hf_model = tiny_generative_models.make_hf_model("gpt2", "classification", n_layer=4)
    else:
        changes = {} if family == "albert" else {"num_hidden_layers": 4}
        hf_model = make_hf_model(family, "classification", **changes)
    hf_model.save_pretrained(directory)
    model, params = plmjax.from_pretrained(directory, head="classification", num_labels=3)
    params = add_exit_params(model, params, jax.random.key(1))
    # Fresh heads start small (normal(0.02)); scale every exit parameter up so that a mis-applied weight
    # (a transposed kernel, a wrong layer's head) changes the logits well past the tolerance.
    rng = np.random.default_rng(2)
    params["early_exit"] = jax.tree.map(
        lambda p: np.asarray(p) + 0.3 * rng.standard_normal(p.shape).astype(np.float32), params["early_exit"]
    )
    return hf_model, model, params


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory):
    """family -> (the transformers model, the plmjax model, its params with exit heads)."""
    root = tmp_path_factory.mktemp("early_exit_models")
    return lambda family: _imported(family, str(root / family))


def random_batch(family: str, rows: int = 12, length: int = 9, seed: int = 0) -> dict:
    """rows examples of the family's tiny vocabulary, some right-padded, as numpy arrays (GPT-2's pad id is 0,
    as tests/hf/tiny_generative_models sets it)."""
    rng = np.random.default_rng(seed)
    pad = 1 if family in ("roberta", "mpnet") else 0
    ids = rng.integers(3, 99, size=(rows, length))
    mask = np.ones((rows, length), np.int32)
    for row in range(1, rows, 3):
        mask[row, length - 1 - row % 4 :] = 0
    ids = np.where(mask > 0, ids, pad)
    return {"input_ids": ids.astype(np.int32), "attention_mask": mask}


__all__ = ["padded_batch", "random_batch"]
