"""PromptBERT's sentence embeddings (Jiang et al. 2022): the sentence inside a template, read at the template's
[MASK], with template denoising.

    template = SentenceTemplate.parse('This sentence : "[X]" means [MASK] .', tokenizer)

The sentence's tokens replace [X] ([CLS] prefix sentence suffix [SEP], each piece tokenised on its own, as
kongds/Prompt-BERT does); the embedding is the last layer's state at [MASK]. Template denoising subtracts the
state at [MASK] of the template alone ([CLS] prefix suffix [SEP]) whose suffix positions are shifted by the
sentence's length, so that every template token sits where it sat beside the sentence: what the template
contributes by itself is removed (the reference's get_delta and `pooler_output -= delta[blen]`).
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

SLOT, MASK = "[X]", "[MASK]"
# Per-view batch keys of a templated batch: the mask's position, and the template alone with its positions.
TEMPLATE_KEYS = ("mask_positions", "template_ids", "template_positions", "template_mask", "template_mask_positions")


class TemplateError(ValueError):
    """A sentence template that cannot be used: no [X], no [MASK], several of either, or no mask token."""


@dataclasses.dataclass(frozen=True)
class SentenceTemplate:
    text: str
    lead: tuple[int, ...]  # [CLS]
    prefix: tuple[int, ...]
    suffix: tuple[int, ...]
    mask_in_suffix: int
    trail: tuple[int, ...]  # [SEP]

    @classmethod
    def parse(cls, text: str, tokenizer) -> "SentenceTemplate":
        if text.count(SLOT) != 1 or text.count(MASK) != 1:
            raise TemplateError(f"template {text!r} must hold {SLOT} (the sentence) and {MASK} once each")
        if text.index(MASK) < text.index(SLOT):
            raise TemplateError(f"template {text!r}: {MASK} must follow {SLOT} (PromptBERT's layout)")
        if tokenizer.mask_token_id is None or tokenizer.cls_token_id is None or tokenizer.sep_token_id is None:
            raise TemplateError("the tokenizer has no mask, [CLS] or [SEP] token: PromptBERT needs all three")
        before, after = text.split(SLOT)
        prefix = tokenizer(before, add_special_tokens=False)["input_ids"] if before.strip() else []
        suffix = tokenizer(after.replace(MASK, tokenizer.mask_token), add_special_tokens=False)["input_ids"]
        if suffix.count(tokenizer.mask_token_id) != 1:
            raise TemplateError(f"template {text!r}: {MASK} did not tokenise to one mask token")
        return cls(text, (tokenizer.cls_token_id,), tuple(prefix), tuple(suffix),
                   suffix.index(tokenizer.mask_token_id), (tokenizer.sep_token_id,))  # fmt: skip

    @property
    def length(self) -> int:
        """Tokens of the template alone."""
        return len(self.lead) + len(self.prefix) + len(self.suffix) + len(self.trail)

    def wrap(self, sentence_ids, max_length: int) -> tuple[list[int], int]:
        """(the sentence inside the template, truncated to fit max_length, the mask's position)."""
        room = max_length - self.length
        if room < 1:
            raise TemplateError(f"template {self.text!r} takes {self.length} tokens: max_length {max_length} "
                                "leaves no room for the sentence")  # fmt: skip
        sentence = list(sentence_ids)[:room]
        ids = [*self.lead, *self.prefix, *sentence, *self.suffix, *self.trail]
        return ids, len(self.lead) + len(self.prefix) + len(sentence) + self.mask_in_suffix

    def alone(self, sentence_length: int) -> tuple[list[int], list[int], int]:
        """(the template's ids without the sentence, their positions beside a sentence of that many tokens,
        the mask's index)."""
        ids = [*self.lead, *self.prefix, *self.suffix, *self.trail]
        first_after = len(self.lead) + len(self.prefix)
        positions = [i if i < first_after else i + sentence_length for i in range(len(ids))]
        return ids, positions, first_after + self.mask_in_suffix


def template_features(template: SentenceTemplate, sentence_ids, max_length: int, denoise: bool) -> dict:
    """One view's features: "ids" (the wrapped sentence) and the TEMPLATE_KEYS values (without denoising
    only mask_positions)."""
    ids, mask_position = template.wrap(sentence_ids, max_length)
    features = {"ids": ids, "mask_positions": mask_position}
    if denoise:
        sentence_length = len(ids) - template.length
        alone, positions, alone_mask = template.alone(sentence_length)
        features.update(template_ids=alone, template_positions=positions, template_mask_positions=alone_mask)
    return features


def gather_rows(hidden, positions):
    """hidden [n, length, dim] at one position per row ([n]) -> [n, dim]."""
    return jnp.take_along_axis(hidden, positions[:, None, None].astype(jnp.int32), axis=1)[:, 0]


def mask_embedding(model, params, inputs: dict, rngs=None, deterministic: bool = True):
    """[n, dim] states at each row's mask, minus the template's own state there when inputs hold the template
    alone ("template_ids" [n, T], "template_positions" (0-based), "template_mask", "template_mask_positions")."""
    out = model.apply({"params": params}, inputs["input_ids"], attention_mask=inputs["attention_mask"],
                      deterministic=deterministic, rngs=rngs)  # fmt: skip
    state = gather_rows(out.last_hidden_state, inputs["mask_positions"])
    if "template_ids" not in inputs:
        return state
    c = model.config
    # Explicit position ids are used as given: a family that counts positions from the padding index
    # (RoBERTa) starts them there.
    base = c.pad_token_id + 1 if c.positions_from_padding else 0
    noise_rngs = None if rngs is None else {k: jax.random.fold_in(v, 1) for k, v in rngs.items()}
    alone = model.apply({"params": params}, inputs["template_ids"], attention_mask=inputs["template_mask"],
                        position_ids=inputs["template_positions"] + base, deterministic=deterministic,
                        rngs=noise_rngs)  # fmt: skip
    return state - gather_rows(alone.last_hidden_state, inputs["template_mask_positions"])


def pad_views(rows: list[list[dict]], pad_id: int) -> dict:
    """The template arrays of examples x views of template_features dicts: [N, views] positions and
    [N, views, T] template ids, positions and attention masks (T: the longest template)."""
    out = {"mask_positions": np.asarray([[view["mask_positions"] for view in row] for row in rows], np.int32)}
    if "template_ids" not in rows[0][0]:
        return out
    longest = max(len(view["template_ids"]) for row in rows for view in row)
    shape = (len(rows), len(rows[0]), longest)
    ids, positions, mask = np.full(shape, pad_id, np.int32), np.zeros(shape, np.int32), np.zeros(shape, np.int32)
    for i, row in enumerate(rows):
        for v, view in enumerate(row):
            n = len(view["template_ids"])
            ids[i, v, :n], positions[i, v, :n], mask[i, v, :n] = view["template_ids"], view["template_positions"], 1
    out.update(template_ids=ids, template_positions=positions, template_mask=mask)
    out["template_mask_positions"] = np.asarray([[v["template_mask_positions"] for v in row] for row in rows], np.int32)
    return out


# Compiled once per model (a static, hashable module) and input shape, not once per call.
_jitted_mask_embedding = jax.jit(mask_embedding, static_argnums=0)


def encode_with_template(model, params, tokenizer, sentences, template: str, denoise: bool = True,
                         batch_size: int = 64, max_length: int = 128) -> np.ndarray:  # fmt: skip
    """[len(sentences), dim] L2-normalised PromptBERT embeddings."""
    parsed = SentenceTemplate.parse(template, tokenizer)
    ids = tokenizer(list(sentences), add_special_tokens=False)["input_ids"]
    rows = [[template_features(parsed, sentence, max_length, denoise)] for sentence in ids]
    outputs = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        chunk = chunk + [chunk[-1]] * (batch_size - len(chunk))  # one compiled shape
        length = max(len(row[0]["ids"]) for row in chunk)
        length = -(-length // 16) * 16
        inputs = {k: v[:, 0] for k, v in pad_views(chunk, tokenizer.pad_token_id or 0).items()}
        inputs["input_ids"] = np.full((batch_size, length), tokenizer.pad_token_id or 0, np.int32)
        inputs["attention_mask"] = np.zeros((batch_size, length), np.int32)
        for r, row in enumerate(chunk):
            inputs["input_ids"][r, : len(row[0]["ids"])] = row[0]["ids"]
            inputs["attention_mask"][r, : len(row[0]["ids"])] = 1
        outputs.append(_jitted_mask_embedding(model, params, inputs))
    vectors = np.concatenate([np.asarray(o) for o in jax.device_get(outputs)])[: len(rows)]
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)
