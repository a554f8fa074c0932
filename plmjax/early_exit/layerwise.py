"""Every exit's output, two ways: all layers at once (training, evaluation, threshold sweeps), or one layer at a
time (the inference that stops, plmjax.early_exit.inference).

Both call the model's own modules (its embeddings, its stack's layers, its classifier), so LoRA and the other
methods' hooks run exactly as in the model's __call__; only the order of the calls is the caller's. What the
internal exits read of a layer (the classifier's token, or the mean of the real tokens) is `reads`
(heads.exit_reads); the final exit is the model's own classifier.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from plmjax.early_exit.heads import (
    CONFIDENCE,
    HEADS,
    check_reads,
    confidence,
    exit_head,
    exit_reads,
    is_decoder,
    num_exits,
    split_params,
    stack,
)
from plmjax.models.decoder import summary_positions
from plmjax.objectives.classification import classifier_outputs


def real_tokens(model, input_ids, attention_mask):
    """[rows, length]: 1 for the tokens the layers see that are real (a soft prompt's leading tokens count)."""
    mask = jnp.ones(input_ids.shape, jnp.int32) if attention_mask is None else attention_mask
    return model.config.peft.input_mask(mask)


def all_exits(model, params, batch, rng=None, deterministic: bool = True, reads: str = "classifier"):
    """(logits [exits, rows, classes], first-token states [exits, rows, hidden]) of every exit: the internal
    heads on layers 1 .. L-1, the model's own classifier on layer L (its ordinary output). The "first token"
    is what the exits read (heads.exit_reads), the confidence predictor's input."""
    check_reads(reads)
    backbone, extra = split_params(params)
    model_rng, heads_rng = (None, None) if deterministic else jax.random.split(rng)
    out = classifier_outputs(model, backbone, batch, model_rng, deterministic, output_hidden_states=True)
    positions = summary_positions(model.config, batch["input_ids"]) if is_decoder(model) else None
    mask = real_tokens(model, batch["input_ids"], batch.get("attention_mask")) if reads == "mean" else None
    reads = [exit_reads(model, h, positions, mask, reads) for h in out.hidden_states[1:]]
    internal = jnp.stack(reads[:-1])
    head = exit_head(model)
    if deterministic:
        internal_logits = jax.vmap(lambda p, h: head.apply({"params": p}, h))(extra[HEADS], internal)
    else:
        rngs = jax.random.split(heads_rng, internal.shape[0])
        internal_logits = jax.vmap(
            lambda p, h, r: head.apply({"params": p}, h, deterministic=False, rngs={"dropout": r})
        )(extra[HEADS], internal, rngs)
    logits = jnp.concatenate([internal_logits, out.logits[None].astype(internal_logits.dtype)])
    return logits, jnp.stack([h[:, 0] for h in reads])


def all_confidences(params, first_tokens, logits):
    """[exits, rows]: the confidence predictor at every exit."""
    return confidence(split_params(params)[1][CONFIDENCE], first_tokens, logits)


class RowInputs(NamedTuple):
    """What every layer and exit reads besides the hidden states, one entry per row (the working batch of
    batched inference keeps its rows together): the self-attention bias, a decoder's summary positions, and
    the real tokens (for exits that read their mean)."""

    bias: jax.Array | None
    summary: jax.Array | None = None
    mask: jax.Array | None = None


class Layerwise:
    """A classifier run one layer application at a time: embed, then layer(k) and logits(k) for k = 0 ..
    exits - 1. With k a traced index (inside a while loop) the layer is a lax.switch over the distinct layers
    and the exit a lax.cond (one compiled program for every depth; at run time only the selected branch
    executes); with k a Python int (a loop on the host) they are called directly, one program per depth, which
    XLA compiles without the control flow."""

    def __init__(self, model, reads: str = "classifier"):
        check_reads(reads)
        self.model, self.reads = model, reads
        self.decoder = is_decoder(model)
        self.head = exit_head(model)
        self.num_exits = num_exits(model)
        unbound = stack(model)
        # Application k runs distinct layer layer_of[k] (ALBERT shares them).
        self.layer_of = tuple(unbound.layer_index(k) for k in range(self.num_exits))
        self.num_distinct = max(self.layer_of) + 1

    def _stack(self, m):
        return m.decoder if self.decoder else m.encoder

    def embed(self, params, batch):
        """(first layer's input [rows, length, hidden], RowInputs, the methods' per-layer values)."""
        config = self.model.config

        def inputs(m, input_ids, attention_mask, token_type_ids):
            if self.decoder:
                x, bias = m.embed(input_ids, attention_mask)
                summary = summary_positions(config, input_ids)
            else:
                (x, bias), summary = m.embed(input_ids, attention_mask, token_type_ids), None
            bias, extras = self._stack(m).attention_inputs(x, bias)
            mask = real_tokens(self.model, input_ids, attention_mask) if self.reads == "mean" else None
            return x, RowInputs(bias, summary, mask), extras

        backbone, _ = split_params(params)
        ids, mask, types = batch["input_ids"], batch.get("attention_mask"), batch.get("token_type_ids")
        return self.model.apply({"params": backbone}, ids, mask, types, method=inputs)

    def layer(self, params, k, x, rows: RowInputs, extras):
        """Layer application k (traced, or an int) of x [rows, length, hidden]."""
        backbone, _ = split_params(params)

        def branch(index):
            def run(m, x, bias, extras):
                return self._stack(m).layers[index](x, bias, True, None, None, None, extras[index])[0]

            return lambda x: self.model.apply({"params": backbone}, x, rows.bias, extras, method=run)

        if isinstance(k, int):
            return branch(self.layer_of[k])(x)
        index = jnp.asarray(self.layer_of, jnp.int32)[k]
        return jax.lax.switch(index, [branch(i) for i in range(self.num_distinct)], x)

    def logits(self, params, k, x, rows: RowInputs):
        """(logits [rows, classes], confidence [rows]) of exit k (traced, or an int) on its layer's output x: an
        internal head, or at the last exit the model's own classifier."""
        backbone, extra = split_params(params)
        last = self.num_exits - 1
        classifier_reads = exit_reads(self.model, x, rows.summary)
        reads = exit_reads(self.model, x, rows.summary, rows.mask, self.reads)

        def final(both):
            # An encoder's classify pools the sequence; a decoder's scores the summary state.
            inputs = both[0][:, 0] if self.decoder else both[0]
            return self.model.apply({"params": backbone}, inputs, method=type(self.model).classify)

        def internal(both):
            head_params = jax.tree.map(lambda p: p[jnp.minimum(k, last - 1)], extra[HEADS])
            return self.head.apply({"params": head_params}, both[1]).astype(jnp.float32)

        both = (classifier_reads, reads)
        if isinstance(k, int):
            logits = final(both).astype(jnp.float32) if k == last else internal(both)
        else:
            logits = jax.lax.cond(k == last, lambda b: final(b).astype(jnp.float32), internal, both)
        return logits, confidence(extra[CONFIDENCE], reads[:, 0], logits)
