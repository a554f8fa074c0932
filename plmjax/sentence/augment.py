"""ConSERT's discrete augmentations (Yan et al. 2021), as data transforms of a view's token ids: the second view
of an unsupervised SimCSE pair gets them on top of its dropout.

- "shuffle": the sentence's tokens ([CLS] and [SEP] stay put) in a random order. For an encoder with absolute
  positions this is ConSERT's position-id shuffle exactly: self-attention is permutation-equivariant apart
  from the positions, and the [CLS] state read at position 0 is the same.
- "cutoff": a fraction of the sentence's tokens left out of attention (attention_mask 0): ConSERT's token
  cutoff, done on the data side (it zeroes those tokens' embeddings, which still attend and are attended to;
  here they drop out of every layer, as if deleted, their positions kept).

Each example's randomness comes from (seed, epoch, step, row): the same on every process and after a resume.
"""

import numpy as np

AUGMENTATIONS = ("", "shuffle", "cutoff")


def check_augmentation(name: str) -> None:
    if name not in AUGMENTATIONS:
        raise ValueError(f"objective.simcse.augmentation={name!r}; choose one of {AUGMENTATIONS}")


def augment_view(input_ids, attention_mask, name: str, rate: float, rngs):
    """(input_ids, attention_mask) [rows, length] with `name` applied to each row's inner tokens (between the
    first and the last real token), row i drawing from rngs[i] (np.random.Generator); rows of fewer than two
    inner tokens are left as they are."""
    input_ids, attention_mask = input_ids.copy(), attention_mask.copy()
    for row, rng in enumerate(rngs):
        inner = np.arange(1, int(attention_mask[row].sum()) - 1)
        if len(inner) < 2:
            continue
        if name == "shuffle":
            input_ids[row, inner] = input_ids[row, rng.permutation(inner)]
        elif name == "cutoff":
            count = max(1, int(round(rate * len(inner))))
            attention_mask[row, rng.choice(inner, count, replace=False)] = 0
    return input_ids, attention_mask
