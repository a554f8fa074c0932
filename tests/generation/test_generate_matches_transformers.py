"""Greedy and beam-search ids equal transformers' generate() on the same tiny models and batched prompts of
different lengths (left-padded for GPT-2), with EOS reached in some rows and not others."""

import numpy as np
import pytest
import torch

import plmjax
from tests.generation.conftest import EOS, prompts

# (num_beams, early_stopping, length_penalty): every search on GPT-2, a spread on the encoder-decoders (each
# setting is a compilation; together they cover every early-stopping rule on every family).
SEARCHES = {
    "gpt2": [(1, False, 1.0), (3, False, 1.0), (3, True, 0.5), (2, "never", 2.0), (4, False, -1.0)],
    "bart": [(1, False, 1.0), (3, True, 0.5), (2, "never", 2.0)],
    "t5-relu-untied": [(1, False, 1.0), (3, False, 1.0), (4, False, -1.0)],
}
CASES = [(variant, *search) for variant, searches in SEARCHES.items() for search in searches]
MAX_NEW = 10


def after_eos_blanked(ids, start, eos):
    """What follows a row's first generated EOS is filler (transformers fills beams with EOS where the pad id is
    0): blank it out for the comparison."""
    ids = np.array(ids)
    for row in ids:
        ends = np.flatnonzero(row[start:] == eos)
        if len(ends):
            row[start + ends[0] + 1 :] = -1
    return ids


@pytest.mark.parametrize(("variant", "num_beams", "early_stopping", "length_penalty"), CASES)
def test_ids_equal_transformers(lm_pair, variant, num_beams, early_stopping, length_penalty):
    reference, model, params = lm_pair(variant)
    ids, mask = prompts(variant)
    settings = dict(
        max_new_tokens=MAX_NEW, num_beams=num_beams, early_stopping=early_stopping, length_penalty=length_penalty
    )
    with torch.no_grad():
        theirs = reference.generate(
            torch.tensor(ids), attention_mask=torch.tensor(mask), do_sample=False, eos_token_id=EOS[variant], **settings
        ).numpy()
    ours = np.asarray(plmjax.generate(model, params, ids, mask, eos_token_id=EOS[variant], **settings))

    start = 1 if model.config.is_encoder_decoder else ids.shape[1]
    assert ours.shape == (ids.shape[0], start + MAX_NEW)
    # transformers stops as soon as every row is done and crops; plmjax keeps the fixed shape, padded.
    width = theirs.shape[1]
    ours_blanked, theirs_blanked = (
        after_eos_blanked(ours, start, EOS[variant]),
        after_eos_blanked(theirs, start, EOS[variant]),
    )
    np.testing.assert_array_equal(ours_blanked[:, :width], theirs_blanked)
    assert np.all(ours_blanked[:, width:] == -1)
    if num_beams == 1:
        ended = (ours[:, start:] == EOS[variant]).any(axis=1)
        assert ended.any(), "the case should exercise stopping at EOS"
        pad = model.config.pad_token_id
        for row in ours[ended]:
            end = start + np.flatnonzero(row[start:] == EOS[variant])[0]
            assert np.all(row[end + 1 :] == pad)
