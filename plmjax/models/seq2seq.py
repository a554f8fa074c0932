"""The encoder-decoder family (BART, T5): an encoder stack and a causal decoder stack with cross-attention,
sharing one word embedding table, with a conditional-generation ("lm") or sequence classification head.

BART: post-norm LayerNorm layers, learned positions offset by 2, layernorm_embedding, a final_logits_bias.
T5: pre-norm RMSNorm layers without biases, a bucketed relative position bias per stack, no absolute
positions, unscaled attention, optionally a gated feed-forward and an untied LM head.
"""

import flax.linen as nn
import jax.numpy as jnp

from plmjax.models.attention import attention_bias, causal_bias
from plmjax.models.config import TransformerConfig
from plmjax.models.heads import Classifier, check_head, untied_lm_head
from plmjax.models.layers import Embeddings, embed
from plmjax.models.outputs import ModelOutput
from plmjax.models.stack import TransformerStack

HEADS_BY_FAMILY = {"bart": (None, "lm", "classification"), "t5": (None, "lm")}


def shift_right(input_ids, decoder_start_token_id: int, pad_token_id: int):
    """Decoder inputs for teacher forcing: prepend the start token, drop the last token, and replace the
    -100 ignore labels by padding."""
    shifted = jnp.concatenate([jnp.full_like(input_ids[:, :1], decoder_start_token_id), input_ids[:, :-1]], axis=1)
    return jnp.where(shifted == -100, pad_token_id, shifted)


def last_eos_index(input_ids, eos_token_id: int):
    """Position of each row's last EOS token (BART classifies the decoder state there)."""
    positions = jnp.arange(input_ids.shape[1])
    return jnp.argmax(jnp.where(input_ids == eos_token_id, positions, -1), axis=-1)


class Seq2SeqModel(nn.Module):
    """An encoder-decoder Transformer with an optional head.

    head: None (decoder hidden states), "lm" (next-token logits) or "classification" (BART: logits of the
    decoder state at the last EOS of the input). decoder_input_ids default to the inputs shifted right.

    Methods `encode` and `decode` split the forward pass for generation; `decode` with cache_offset decodes
    incrementally against a key/value cache (apply with mutable=["cache"]), see plmjax.generation.
    """

    config: TransformerConfig
    head: str | None = None
    num_labels: int = 2

    def setup(self):
        c, head = self.config, self.head
        check_head(c, head, HEADS_BY_FAMILY, "an encoder-decoder")
        self.shared = embed(c, c.vocab_size, c.hidden_size, ("vocab", "embed_in"), "shared")
        self.encoder_embeddings = Embeddings(c, shared_word_embeddings=self.shared)
        self.encoder = TransformerStack(c)
        self.decoder_embeddings = Embeddings(c, shared_word_embeddings=self.shared)
        self.decoder = TransformerStack(c, decoder=True)
        # Modules the methods add to the model (a soft prompt: in front of the encoder input only, as HF peft
        # puts it), as attributes under their names.
        for name, module in c.peft.model_modules(c).items():
            setattr(self, name, module)
        if head == "lm" and not c.tie_word_embeddings:
            self.lm_head = untied_lm_head(c)
        if head == "lm" and c.final_logits_bias:
            # Zeros in every released BART checkpoint, but part of the model.
            self.lm_bias = self.param(
                "lm_bias", nn.with_logical_partitioning(nn.initializers.zeros_init(), ("vocab",)), (c.vocab_size,)
            )
        if head == "classification":
            self.classifier = Classifier(c, self.num_labels)

    def _encode(self, input_ids, attention_mask, deterministic):
        c = self.config
        x = self.encoder_embeddings(input_ids, deterministic=deterministic, extras=c.peft.model_extras(self))
        return self.encoder(x, attention_bias(c.peft.input_mask(attention_mask), c.compute_dtype), deterministic)

    def encode(self, input_ids, attention_mask=None, deterministic: bool = True):
        """Encoder output [batch, length, hidden]."""
        return self._encode(input_ids, attention_mask, deterministic)[0]

    def _decode(
        self, decoder_input_ids, encoder_hidden, attention_mask, decoder_attention_mask, deterministic, cache_offset
    ):
        c = self.config
        batch, length = decoder_input_ids.shape
        if cache_offset is None:
            query_positions, num_keys = jnp.arange(length), length
        else:
            if decoder_attention_mask is None:
                raise ValueError("decoding with a cache needs a decoder_attention_mask over every cache slot")
            query_positions, num_keys = cache_offset + jnp.arange(length), decoder_attention_mask.shape[1]
        bias = causal_bias(decoder_attention_mask, query_positions, num_keys, batch, c.compute_dtype)
        x = self.decoder_embeddings(
            decoder_input_ids, position_ids=query_positions[None, :], deterministic=deterministic
        )
        # attention_mask is the input's; the encoder output starts with the soft prompt when there is one.
        cross_bias = attention_bias(c.peft.input_mask(attention_mask), c.compute_dtype)
        return self.decoder(x, bias, deterministic, encoder_hidden, cross_bias, cache_offset)

    def lm_logits(self, hidden):
        c = self.config
        if c.scale_decoder_outputs:
            hidden = hidden * jnp.asarray(c.hidden_size**-0.5, hidden.dtype)
        logits = self.shared.attend(hidden) if c.tie_word_embeddings else self.lm_head(hidden)
        if c.final_logits_bias:
            logits = logits + self.lm_bias.astype(logits.dtype)
        return logits

    def decode(
        self,
        decoder_input_ids,
        encoder_hidden,
        attention_mask=None,
        decoder_attention_mask=None,
        deterministic: bool = True,
        cache_offset=None,
    ) -> ModelOutput:
        """Decoder states (and LM logits with head="lm") given the encoder output and its mask."""
        hidden, _, _ = self._decode(
            decoder_input_ids, encoder_hidden, attention_mask, decoder_attention_mask, deterministic, cache_offset
        )
        logits = self.lm_logits(hidden) if self.head == "lm" else None
        return ModelOutput(last_hidden_state=hidden, logits=logits)

    def __call__(
        self,
        input_ids,
        attention_mask=None,
        decoder_input_ids=None,
        decoder_attention_mask=None,
        deterministic: bool = True,
        output_hidden_states: bool = False,
        output_attentions: bool = False,
    ) -> ModelOutput:
        c, head = self.config, self.head
        encoder_hidden, encoder_states, encoder_attentions = self._encode(input_ids, attention_mask, deterministic)
        if decoder_input_ids is None:
            decoder_input_ids = shift_right(input_ids, c.decoder_start_token_id or 0, c.pad_token_id or 0)
        hidden, decoder_states, decoder_attentions = self._decode(
            decoder_input_ids, encoder_hidden, attention_mask, decoder_attention_mask, deterministic, None
        )
        logits = None
        if head == "lm":
            logits = self.lm_logits(hidden)
        if head == "classification":
            sentence = hidden[jnp.arange(hidden.shape[0]), last_eos_index(input_ids, c.eos_token_id)]
            logits = self.classifier(sentence[:, None, :], None, deterministic)
        return ModelOutput(
            last_hidden_state=hidden,
            encoder_last_hidden_state=encoder_hidden,
            logits=logits,
            hidden_states=decoder_states if output_hidden_states else None,
            attentions=decoder_attentions if output_attentions else None,
            encoder_hidden_states=encoder_states if output_hidden_states else None,
            encoder_attentions=encoder_attentions if output_attentions else None,
        )

    def dummy_inputs(self, batch: int = 1, length: int = 8):
        """Inputs for model.init (the decoder runs on the inputs shifted right)."""
        return jnp.ones((batch, length), jnp.int32)
