"""What a masked LM gives a verbalizer at each row's mask position, computed once per batch.

word_logits  [batch, words]   the MLM head's logits for the verbalizer's word ids (a gather, not the
                              vocabulary projection): manual verbalizers
transformed  [batch, embed]   the MLM head's transform (dense, activation, layer norm) of the mask state,
                              what the decoder multiplies with the word embeddings: soft verbalizers (WARP)
hidden       [batch, hidden]  the last layer's hidden state at the mask: prototypical verbalizers (ProtoVerb)
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class MaskOutputs(NamedTuple):
    word_logits: jax.Array
    transformed: jax.Array
    hidden: jax.Array


def mask_outputs(model, params, batch: dict, word_ids, deterministic: bool = True, rngs=None) -> MaskOutputs:
    """Run `model` (an encoder with head="mlm") on a batch of prompts (input_ids, attention_mask, optional
    token_type_ids, mask_positions [batch]) and read it at each row's mask."""
    # Segment ids only where the model has segment embeddings (BERT's two; RoBERTa's checkpoints have one).
    types = batch.get("token_type_ids") if model.config.type_vocab_size > 1 else None
    # Soft prompts in front of the input (prompt tuning's "prefix" placement) come first in the outputs too.
    positions = jnp.asarray(batch["mask_positions"])[:, None] + model.config.peft.leading_tokens
    out, state = model.apply(
        {"params": params},
        batch["input_ids"],
        attention_mask=batch["attention_mask"],
        token_type_ids=types,
        masked_positions=positions,
        vocab_ids=jnp.asarray(word_ids),
        deterministic=deterministic,
        rngs=rngs,
        mutable=["intermediates"],
    )
    (transformed,) = state["intermediates"]["mlm_head"]["transformed"]
    hidden = jnp.take_along_axis(out.last_hidden_state, positions[:, :, None], axis=1)
    return MaskOutputs(out.logits[:, 0], transformed[:, 0], hidden[:, 0])


def label_word_rows(model, params, word_ids) -> tuple[jax.Array, jax.Array]:
    """(decoder rows [words, embed], decoder bias [words]) of `word_ids`: what the MLM head multiplies the
    transformed mask state with for those words (the word embeddings when tied, the decoder otherwise).
    Traceable (jnp only), so a verbalizer's init can run under jax.eval_shape and jit."""
    word_ids = jnp.asarray(np.asarray(word_ids))
    head = params["mlm_head"]
    if model.config.tie_word_embeddings:
        rows = jnp.take(params["embeddings"]["word_embeddings"]["embedding"], word_ids, axis=0)
    else:
        rows = jnp.take(head["decoder"]["kernel"], word_ids, axis=1).T
    return rows, jnp.take(head["bias"], word_ids)
