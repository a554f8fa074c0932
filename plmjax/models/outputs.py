"""Model outputs: pytrees, so they pass through jit, grad and vmap."""

import flax.struct
import jax


@flax.struct.dataclass
class ModelOutput:
    """What a model returns. Fields a model does not compute are None.

    logits: the head's main output (MLM vocabulary logits, class logits, per-token logits, RTD logits).
    sentence_logits: NSP/SOP logits when the head also predicts them (head="pretraining").
    start_logits, end_logits: span extraction.
    hidden_states: input to the first layer, then every layer's output (when asked for); the decoder's in
        an encoder-decoder.
    attentions: every layer's attention probabilities [batch, heads, query, key] (when asked for); the
        decoder's self-attention in an encoder-decoder.
    encoder_last_hidden_state, encoder_hidden_states, encoder_attentions: the encoder's, in an encoder-decoder.
    memory: the next segment's memory (plmjax.models.segment_memory.SegmentMemory) of a model with
        memory_length > 0.
    """

    last_hidden_state: jax.Array
    pooler_output: jax.Array | None = None
    logits: jax.Array | None = None
    sentence_logits: jax.Array | None = None
    start_logits: jax.Array | None = None
    end_logits: jax.Array | None = None
    hidden_states: tuple[jax.Array, ...] | None = None
    attentions: tuple[jax.Array, ...] | None = None
    encoder_last_hidden_state: jax.Array | None = None
    encoder_hidden_states: tuple[jax.Array, ...] | None = None
    encoder_attentions: tuple[jax.Array, ...] | None = None
    memory: object | None = None
