"""Sequence-to-sequence denoising (BART) and span corruption (T5): the decoder's cross-entropy on the targets.

The two differ only in their collators. Batch: input_ids, attention_mask, decoder_input_ids,
decoder_attention_mask, target_ids, target_weights, weights [batch].
"""

import dataclasses

from plmjax.objectives.causal_lm import CausalLM


@dataclasses.dataclass(frozen=True)
class Seq2SeqLM(CausalLM):
    """loss = sum of CE(decoder logits, target_ids) * target_weight / sum of target weights: the causal-LM loss,
    with the decoder fed its own inputs.

    model: a Seq2SeqModel (BART or T5) with head="lm"."""

    def model_inputs(self, batch) -> dict:
        return {
            "attention_mask": batch.get("attention_mask"),
            "decoder_input_ids": batch["decoder_input_ids"],
            "decoder_attention_mask": batch.get("decoder_attention_mask"),
        }
