"""Soft prompts at the input: prompt tuning (Lester et al., 2021) and P-tuning (Liu et al., 2021).

SoftPrompt gives the prompt_length soft token vectors [length, embed_size]: parameters (prompt tuning) or the
output of a prompt encoder over learned inputs (P-tuning: an MLP, or a bidirectional LSTM followed by an MLP,
as in HF peft's PromptEncoder), which `fold` replaces by its output after training.

Where they go (PeftConfig.prompt_placement):
- "prefix": the model puts them in front of the input, as HF peft does: the attention mask gets ones for them,
  token types zeros, and absolute positions count them first. Outputs keep the soft positions first.
- "template": input_ids carry placeholder ids vocab_size + k where soft token k goes, so soft tokens sit
  anywhere around hard anchor tokens and the input (P-tuning's templates); `template_ids` builds such inputs.
"""

import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from plmjax.models.config import TransformerConfig


def uniform_init(scale: float = 0.5):
    """U(-scale, scale): Lester et al.'s random initialisation."""

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -scale, scale)

    return init


def _dense(features: int, axes, name: str, fan_in: int):
    # torch.nn.Linear's initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as HF peft's encoder starts from.
    init = uniform_init(1.0 / math.sqrt(fan_in))
    return nn.Dense(
        features,
        param_dtype=jnp.float32,
        kernel_init=nn.with_logical_partitioning(init, axes),
        bias_init=nn.with_logical_partitioning(init, axes[-1:]),
        name=name,
    )


class LSTMDirection(nn.Module):
    """One direction of one LSTM layer, torch.nn.LSTM's gates (input, forget, cell, output) and init."""

    hidden_size: int
    reverse: bool = False

    @nn.compact
    def __call__(self, x):
        h = self.hidden_size
        init = uniform_init(1.0 / math.sqrt(h))

        def param(name, shape, axes):
            return self.param(name, nn.with_logical_partitioning(init, axes), shape, jnp.float32)

        input_kernel = param("input_kernel", (x.shape[-1], 4 * h), ("prompt_hidden", "prompt_gates"))
        hidden_kernel = param("hidden_kernel", (h, 4 * h), ("prompt_hidden", "prompt_gates"))
        # Two biases as torch keeps them (only their sum matters, but the parameter count is torch's).
        input_bias = param("input_bias", (4 * h,), ("prompt_gates",))
        hidden_bias = param("hidden_bias", (4 * h,), ("prompt_gates",))
        inputs = x @ input_kernel + input_bias + hidden_bias

        def step(carry, gate_inputs):
            hidden, cell = carry
            i, f, g, o = jnp.split(gate_inputs + hidden @ hidden_kernel, 4)
            cell = jax.nn.sigmoid(f) * cell + jax.nn.sigmoid(i) * jnp.tanh(g)
            hidden = jax.nn.sigmoid(o) * jnp.tanh(cell)
            return (hidden, cell), hidden

        zeros = jnp.zeros((h,), jnp.float32)
        _, outputs = jax.lax.scan(step, (zeros, zeros), inputs, reverse=self.reverse)
        return outputs


class SoftPrompt(nn.Module):
    """The soft tokens [prompt_length, embed_size], float32."""

    config: TransformerConfig

    @nn.compact
    def __call__(self):
        c, p = self.config, self.config.peft
        width = c.embed_size
        x = self.param(
            "embedding",
            nn.with_logical_partitioning(uniform_init(), ("prompt", "embed_in")),
            (p.prompt_length, width),
            jnp.float32,
        )
        hidden = p.prompt_encoder_hidden_size or width
        if p.prompt_encoder == "mlp":
            x = jax.nn.relu(_dense(hidden, ("embed_in", "prompt_hidden"), "mlp_0", width)(x))
            x = jax.nn.relu(_dense(hidden, ("prompt_hidden", "prompt_hidden"), "mlp_1", hidden)(x))
            x = _dense(width, ("prompt_hidden", "embed_in"), "mlp_2", hidden)(x)
        elif p.prompt_encoder == "lstm":
            for layer in range(p.prompt_encoder_layers):
                forward = LSTMDirection(hidden, name=f"lstm_{layer}_forward")(x)
                backward = LSTMDirection(hidden, reverse=True, name=f"lstm_{layer}_backward")(x)
                x = jnp.concatenate([forward, backward], axis=-1)
            x = jax.nn.relu(_dense(2 * hidden, ("prompt_hidden", "prompt_hidden"), "head_0", 2 * hidden)(x))
            x = _dense(width, ("prompt_hidden", "embed_in"), "head_1", 2 * hidden)(x)
        return x


def prompt_attention_mask(config: TransformerConfig, attention_mask):
    """The attention mask over [soft prefix, input]: ones for the soft tokens (None stays None)."""
    length = config.peft.prompt_prefix
    if not length or attention_mask is None:
        return attention_mask
    attention_mask = jnp.asarray(attention_mask)
    ones = jnp.ones((attention_mask.shape[0], length), attention_mask.dtype)
    return jnp.concatenate([ones, attention_mask], axis=1)


def word_vectors(config: TransformerConfig, lookup, input_ids, prompt=None):
    """Word embeddings of input_ids with the soft tokens placed: [batch, length (+ prompt_length), embed].

    lookup: ids -> vectors (the word embedding table, scaled as the family scales it).
    """
    if prompt is None:
        return lookup(input_ids)
    if config.peft.prompt_placement == "template":
        soft = input_ids >= config.vocab_size
        x = lookup(jnp.where(soft, 0, input_ids))
        slots = jnp.clip(input_ids - config.vocab_size, 0, prompt.shape[0] - 1)
        return jnp.where(soft[..., None], prompt[slots].astype(x.dtype), x)
    x = lookup(input_ids)
    soft = jnp.broadcast_to(prompt.astype(x.dtype)[None], (x.shape[0], *prompt.shape))
    return jnp.concatenate([soft, x], axis=1)


def template_ids(template: Sequence, fields: dict[str, Sequence[int]], vocab_size: int) -> list[int]:
    """Token ids of a P-tuning template, soft tokens as placeholder ids for "template" placement.

    template items: an int n (n soft tokens, numbered on from the previous ones), a list of token ids (hard
    anchor tokens such as "?" or [MASK]), or a str naming an entry of fields (the tokenized input). Example:
    [3, "premise", [qmark_id], 3, [mask_id], "hypothesis"] puts soft tokens 0-2 before the premise and 3-5
    after the question mark.
    """
    ids, next_soft = [], 0
    for item in template:
        if isinstance(item, str):
            ids.extend(int(i) for i in fields[item])
        elif isinstance(item, int):
            ids.extend(range(vocab_size + next_soft, vocab_size + next_soft + item))
            next_soft += item
        else:
            ids.extend(int(i) for i in item)
    return ids
