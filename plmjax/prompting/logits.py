"""Prompt-based classification: a batch of encoded prompts through a masked LM, read at the mask position and
on the label words' rows only, and the cross-entropy over classes (LM-BFF, PET)."""

import jax
import jax.numpy as jnp
import numpy as np

from plmjax.prompting.mask_outputs import mask_outputs
from plmjax.prompting.template import EncodedPrompt


def collate(prompts: list[EncodedPrompt], pad_token_id: int, labels=None, length: int | None = None) -> dict:
    """A batch of prompts right-padded to `length` (default: the longest): input_ids, attention_mask,
    token_type_ids [batch, length], mask_positions [batch], and labels [batch] when given."""
    length = length or max(len(p.input_ids) for p in prompts)
    batch = {
        "input_ids": np.full((len(prompts), length), pad_token_id, np.int32),
        "attention_mask": np.zeros((len(prompts), length), np.int32),
        "token_type_ids": np.zeros((len(prompts), length), np.int32),
        "mask_positions": np.asarray([p.mask_position for p in prompts], np.int32),
    }
    for row, prompt in enumerate(prompts):
        n = len(prompt.input_ids)
        batch["input_ids"][row, :n] = prompt.input_ids
        batch["attention_mask"][row, :n] = 1
        batch["token_type_ids"][row, :n] = prompt.token_type_ids
    if labels is not None:
        batch["labels"] = np.asarray(labels, np.int32)
    return batch


def prompt_logits(
    model, params, batch: dict, verbalizer, deterministic: bool = True, rngs=None, verbalizer_params=None
):
    """[batch, classes]: the verbalizer's class scores at each row's mask position (plmjax.prompting.mask_outputs).

    model: an encoder with head="mlm". Only the mask position goes through the head's transform, and only the
    label words' rows of the (tied) decoder are read: a gather, not a vocabulary projection.
    """
    outputs = mask_outputs(model, params, batch, verbalizer.word_ids, deterministic, rngs)
    return verbalizer.scores(verbalizer_params, outputs)


def prompt_loss(class_logits, labels, weights=None):
    """Mean cross-entropy over classes (weighted: padding rows weigh 0)."""
    log_probs = jax.nn.log_softmax(class_logits.astype(jnp.float32), axis=-1)
    losses = -jnp.take_along_axis(log_probs, jnp.asarray(labels)[:, None], axis=-1)[:, 0]
    weights = jnp.ones_like(losses) if weights is None else jnp.asarray(weights, losses.dtype)
    return jnp.sum(losses * weights) / jnp.maximum(jnp.sum(weights), 1.0)
