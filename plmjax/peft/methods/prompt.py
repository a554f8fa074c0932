"""Soft prompts at the input: prompt tuning (Lester et al., 2021) and P-tuning (Liu et al., 2021).

SoftPrompt gives the `length` soft token vectors [length, embed_size]: parameters (prompt tuning) or the
output of a prompt encoder over learned inputs (P-tuning: an MLP, or a bidirectional LSTM followed by an MLP,
as in HF peft's PromptEncoder), which `fold` replaces by its output after training. Their initialisations
(random, vocabulary, class labels, text, a saved prompt) are in plmjax.peft.prompt_init.

Where they go (`placement`):
- "prefix": the model puts them in front of the input, as HF peft does: the attention mask gets ones for them,
  token types zeros, and absolute positions count them first. Outputs keep the soft positions first.
- "template": input_ids carry placeholder ids vocab_size + k where soft token k goes, so soft tokens sit
  anywhere around hard anchor tokens and the input (P-tuning's templates); `template_ids` builds such inputs.
"""

import dataclasses
import math
from collections.abc import Sequence
from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from plmjax.models.config import TransformerConfig
from plmjax.models.hooks import MethodHooks
from plmjax.models.init import uniform_init
from plmjax.models.lstm import LSTMDirection
from plmjax.peft.method import HfPeftForm, MethodSpec
from plmjax.peft.prompt_init import INIT_OPTIONS, initialise

# P-tuning's LSTM (its prompt encoder) shards as the prompt encoder's other hidden parameters.
PROMPT_LSTM_AXES = ("prompt_hidden", "prompt_hidden", "prompt_gates")

PLACEMENTS = ("prefix", "template")
ENCODERS = ("mlp", "lstm")


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


class SoftPrompt(nn.Module):
    """The soft tokens [length, embed_size], float32."""

    config: TransformerConfig
    method: "PromptTuning"

    @nn.compact
    def __call__(self):
        c, p = self.config, self.method
        width = c.embed_size
        x = self.param(
            "embedding",
            nn.with_logical_partitioning(uniform_init(), ("prompt", "embed_in")),
            (p.length, width),
            jnp.float32,
        )
        encoder = getattr(p, "encoder", "")
        hidden = getattr(p, "hidden_size", 0) or width
        if encoder == "mlp":
            x = jax.nn.relu(_dense(hidden, ("embed_in", "prompt_hidden"), "mlp_0", width)(x))
            x = jax.nn.relu(_dense(hidden, ("prompt_hidden", "prompt_hidden"), "mlp_1", hidden)(x))
            x = _dense(width, ("prompt_hidden", "embed_in"), "mlp_2", hidden)(x)
        elif encoder == "lstm":
            for layer in range(p.layers):
                # One unbatched sequence (the prompt's positions): a batch of one for the LSTM.
                forward, _ = LSTMDirection(hidden, axes=PROMPT_LSTM_AXES, name=f"lstm_{layer}_forward")(x[None])
                backward, _ = LSTMDirection(hidden, True, axes=PROMPT_LSTM_AXES, name=f"lstm_{layer}_backward")(x[None])
                x = jnp.concatenate([forward[0], backward[0]], axis=-1)
            x = jax.nn.relu(_dense(2 * hidden, ("prompt_hidden", "prompt_hidden"), "head_0", 2 * hidden)(x))
            x = _dense(width, ("prompt_hidden", "embed_in"), "head_1", 2 * hidden)(x)
        return x


@dataclasses.dataclass(frozen=True)
class PromptTuning(MethodHooks):
    """`length` soft tokens as parameters, in front of the input or where a template puts them."""

    name: ClassVar[str] = "prompt"

    length: int = 20
    placement: str = "prefix"

    def __post_init__(self):
        if self.length < 1:
            raise ValueError(f"{self.name} needs length >= 1, got {self.length}")
        if self.placement not in PLACEMENTS:
            raise ValueError(f"{self.name} placement={self.placement!r}; choose one of {PLACEMENTS}")

    @property
    def leading_tokens(self) -> int:
        return self.length if self.placement == "prefix" else 0

    def model_modules(self, config):
        return {"soft_prompt": SoftPrompt(config, self)}

    def model_extras(self, model):
        return model.soft_prompt()

    def word_vectors(self, config, lookup, input_ids, x, extra):
        """The input's vectors with the soft tokens extra [length, embed] placed: in front, or where input_ids
        hold placeholder ids vocab_size + k (template placement). Without extra (an encoder-decoder's decoder
        input) the input is left as it is."""
        if extra is None:
            return x
        if self.placement == "template":
            soft = input_ids >= config.vocab_size
            x = lookup(jnp.where(soft, 0, input_ids)) if x is None else x
            slots = jnp.clip(input_ids - config.vocab_size, 0, extra.shape[0] - 1)
            return jnp.where(soft[..., None], extra[slots].astype(x.dtype), x)
        x = lookup(input_ids) if x is None else x
        soft = jnp.broadcast_to(extra.astype(x.dtype)[None], (x.shape[0], *extra.shape))
        return jnp.concatenate([soft, x], axis=1)


@dataclasses.dataclass(frozen=True)
class PTuning(PromptTuning):
    """Soft tokens produced by a prompt encoder: "mlp", or "lstm" (bi-LSTM + MLP); fold makes it PromptTuning."""

    name: ClassVar[str] = "p_tuning"

    encoder: str = "mlp"
    hidden_size: int = 0  # 0: the embedding width
    layers: int = 2

    def __post_init__(self):
        super().__post_init__()
        if self.encoder not in ENCODERS:
            raise ValueError(f"p_tuning encoder={self.encoder!r}; choose one of {ENCODERS}")

    def fold(self, model, params):
        """(PromptTuning, params with the encoder replaced by its output as a plain soft prompt)."""
        prompt = model.bind({"params": params}).soft_prompt()
        params = {name: value for name, value in params.items() if name != "soft_prompt"}
        params["soft_prompt"] = {"embedding": prompt}
        return PromptTuning(self.length, self.placement), params


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


def _prompt_settings(config, options) -> PromptTuning:
    return PromptTuning(length=int(options["length"]), placement=options["placement"])


def _p_tuning_settings(config, options) -> PTuning:
    return PTuning(
        length=int(options["length"]),
        placement=options["placement"],
        encoder=options["encoder"],
        hidden_size=int(options["hidden_size"]),
        layers=int(options["layers"]),
    )


# --- HF-PEFT: peft's PromptTuningConfig / PromptEncoderConfig, one "prompt_embeddings" tensor ---


def hf_export(model, params) -> tuple[dict, dict, bool]:
    from plmjax.peft.merge import fold

    c = model.config
    method = c.peft.get("prompt") or c.peft.get("p_tuning")
    if method.placement != "prefix":
        raise ValueError("HF-PEFT puts soft prompts in front of the input only; template placement does not export")
    _, folded = fold(model, params)  # a prompt encoder travels as its output, as peft saves it
    prompt = np.asarray(folded["soft_prompt"]["embedding"], np.float32)
    submodules = 2 if c.is_encoder_decoder else 1
    config = dict(
        num_attention_heads=c.num_heads,
        num_layers=c.num_layers,
        num_virtual_tokens=method.length,
        token_dim=c.embed_size,
        num_transformer_submodules=submodules,
    )
    if isinstance(method, PTuning):
        config |= dict(
            peft_type="P_TUNING",
            encoder_reparameterization_type=method.encoder.upper(),
            encoder_hidden_size=method.hidden_size or c.embed_size,
            encoder_num_layers=method.layers,
            encoder_dropout=0.0,
        )
    else:
        config |= dict(
            peft_type="PROMPT_TUNING",
            prompt_tuning_init="RANDOM",
            prompt_tuning_init_text=None,
            tokenizer_name_or_path=None,
        )
    # Encoder-decoders hold a second set of virtual tokens peft never feeds to the model: repeat the first.
    return config, {"prompt_embeddings": np.concatenate([prompt] * submodules)}, True


def hf_import(model, config: dict, tensors: dict):
    """Prompt tuning and P-tuning adapters both import as a plain soft prompt (peft saves the encoder's output)."""
    length = int(config["num_virtual_tokens"])
    prompt = tensors["prompt_embeddings"][:length]
    if prompt.shape[1] != model.config.embed_size:
        raise ValueError(
            f"the soft prompt is {prompt.shape[1]} wide; the model's embeddings are {model.config.embed_size}"
        )
    values = {("soft_prompt", "embedding"): prompt}
    return PromptTuning(length=length), values, ["soft_prompt/.*"], {"prompt_embeddings"}


_SHARED = dict(
    trainable=lambda options: ["soft_prompt/.*"],
    initialise=initialise,
    param_names=("soft_prompt",),
    no_decay=(r"soft_prompt/embedding",),
    logical_axes=("prompt", "prompt_hidden", "prompt_gates"),
)
METHODS = (
    MethodSpec(
        name="prompt",
        summary="`length` soft tokens at the input (in front, or where a template puts them)",
        defaults=dict(length=20, placement="prefix", **INIT_OPTIONS),
        settings=_prompt_settings,
        settings_class=PromptTuning,
        hf_peft=HfPeftForm(
            claims=lambda config: config.get("peft_type") == "PROMPT_TUNING", export=hf_export, import_=hf_import
        ),
        recipe=(3e-2, dict(length=20)),
        **_SHARED,
    ),
    MethodSpec(
        name="p_tuning",
        summary="soft tokens produced by a prompt encoder (mlp, or lstm: bi-LSTM + MLP), in front or in a template",
        defaults=dict(length=20, placement="prefix", encoder="mlp", hidden_size=0, layers=2, **INIT_OPTIONS),
        settings=_p_tuning_settings,
        settings_class=PTuning,
        hf_peft=HfPeftForm(
            claims=lambda config: config.get("peft_type") == "P_TUNING", export=hf_export, import_=hf_import
        ),
        recipe=(1e-2, dict(length=20, encoder="mlp")),
        **_SHARED,
    ),
)
