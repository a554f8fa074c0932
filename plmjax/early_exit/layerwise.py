"""Every exit's output, two ways: all layers at once (training, evaluation, threshold sweeps), or one layer at a
time (the inference that stops, plmjax.early_exit.inference).

Both call the model's own modules (its embeddings, its stack's layers, its classifier), so LoRA and the other
methods' hooks run exactly as in the model's __call__; only the order of the calls is the caller's.
"""

import jax
import jax.numpy as jnp

from plmjax.early_exit.heads import CONFIDENCE, HEADS, confidence, exit_head, num_exits, split_params
from plmjax.models.encoder import EncoderModel
from plmjax.models.stack import TransformerStack
from plmjax.objectives.mlm import encoder_outputs


def all_exits(model, params, batch, rng=None, deterministic: bool = True):
    """(logits [exits, rows, classes], first-token states [exits, rows, hidden]) of every exit: the internal
    heads on layers 1 .. L-1, the model's own classifier on layer L (its ordinary output)."""
    backbone, extra = split_params(params)
    model_rng, heads_rng = (None, None) if deterministic else jax.random.split(rng)
    out = encoder_outputs(model, backbone, batch, model_rng, deterministic, output_hidden_states=True)
    states = out.hidden_states[1:]
    internal = jnp.stack(states[:-1])
    head = exit_head(model)
    if deterministic:
        internal_logits = jax.vmap(lambda p, h: head.apply({"params": p}, h))(extra[HEADS], internal)
    else:
        rngs = jax.random.split(heads_rng, internal.shape[0])
        internal_logits = jax.vmap(
            lambda p, h, r: head.apply({"params": p}, h, deterministic=False, rngs={"dropout": r})
        )(extra[HEADS], internal, rngs)
    logits = jnp.concatenate([internal_logits, out.logits[None].astype(internal_logits.dtype)])
    return logits, jnp.stack([h[:, 0] for h in states])


def all_confidences(params, first_tokens, logits):
    """[exits, rows]: the confidence predictor at every exit."""
    return confidence(split_params(params)[1][CONFIDENCE], first_tokens, logits)


class Layerwise:
    """A classification encoder run one layer application at a time: embed, then layer(k) and logits(k) for
    k = 0 .. exits - 1 with k a traced index (lax.switch over the distinct layers: one compiled program for
    every depth, and at run time only the selected branch executes)."""

    def __init__(self, model: EncoderModel):
        self.model = model
        self.head = exit_head(model)
        self.num_exits = num_exits(model)
        unbound = TransformerStack(model.config)
        # Application k runs distinct layer layer_of[k] (ALBERT shares them).
        self.layer_of = tuple(unbound.layer_index(k) for k in range(self.num_exits))
        self.num_distinct = max(self.layer_of) + 1

    def embed(self, params, batch):
        """(first layer's input [rows, length, hidden], attention bias, the methods' per-layer values)."""

        def inputs(m, input_ids, attention_mask, token_type_ids):
            x, bias = m.embed(input_ids, attention_mask, token_type_ids)
            bias, extras = m.encoder.attention_inputs(x, bias)
            return x, bias, extras

        backbone, _ = split_params(params)
        ids, mask, types = batch["input_ids"], batch.get("attention_mask"), batch.get("token_type_ids")
        return self.model.apply({"params": backbone}, ids, mask, types, method=inputs)

    def layer(self, params, k, x, bias, extras):
        """Layer application k (traced) of x [rows, length, hidden]."""
        backbone, _ = split_params(params)

        def branch(index):
            def run(m, x, bias, extras):
                return m.encoder.layers[index](x, bias, True, None, None, None, extras[index])[0]

            return lambda x: self.model.apply({"params": backbone}, x, bias, extras, method=run)

        index = jnp.asarray(self.layer_of, jnp.int32)[k]
        return jax.lax.switch(index, [branch(i) for i in range(self.num_distinct)], x)

    def logits(self, params, k, x):
        """(logits [rows, classes], confidence [rows]) of exit k (traced) on its layer's output x: an internal
        head, or at the last exit the model's own classifier."""
        backbone, extra = split_params(params)
        last = self.num_exits - 1

        def final(x):
            return self.model.apply({"params": backbone}, x, method=EncoderModel.classify)

        def internal(x):
            head_params = jax.tree.map(lambda p: p[jnp.minimum(k, last - 1)], extra[HEADS])
            return self.head.apply({"params": head_params}, x).astype(jnp.float32)

        logits = jax.lax.cond(k == last, lambda x: final(x).astype(jnp.float32), internal, x)
        return logits, confidence(extra[CONFIDENCE], x[:, 0], logits)
