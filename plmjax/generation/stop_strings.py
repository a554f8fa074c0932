"""Stop strings, as transformers' StopStringCriteria checks them: with token ids only, inside the jitted loop.

A stop string ends a row when it overlaps the row's last token (it may start inside an earlier token and end
inside the last one). On the host, every vocabulary entry is turned into the text it decodes to, and a table
records, per token and stop string, where in the string (counted from its end) the token can sit, how much of
the string's end it can hold, and its length; each decoding step then walks back over the last tokens with
gathers from that table. The table is transformers' (same layout, same cleaning of the vocabulary), so the
same rows stop at the same token.
"""

import collections
import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True)
class StopStringTable:
    # [vocab + 2, num_strings * (max_positions + max_end_lengths) + 1] int32, -1 where nothing applies: per
    # token, its positions in each string, its possible end overlaps with each string, and its length. The
    # last row is a dummy that matches nothing (ids past the vocabulary and positions before the sequence).
    table: jax.Array
    target_lengths: jax.Array  # [num_strings] int32, in characters (bytes for byte-level vocabularies)
    num_strings: int
    max_positions: int
    max_end_lengths: int
    window: int  # the longest stop string: a match spans at most this many tokens


jax.tree_util.register_dataclass(
    StopStringTable,
    data_fields=["table", "target_lengths"],
    meta_fields=["num_strings", "max_positions", "max_end_lengths", "window"],
)

_CACHE: collections.OrderedDict = collections.OrderedDict()


def stop_string_table(tokenizer, stop_strings) -> StopStringTable:
    """The table for `stop_strings` (a string or a list of them) over `tokenizer`'s vocabulary (cached)."""
    strings = (stop_strings,) if isinstance(stop_strings, str) else tuple(stop_strings)
    if not strings:
        raise ValueError("stop_strings is empty")
    mode = matching_mode(tokenizer)
    if mode is not None:
        strings = tuple(s.encode("utf-8") for s in strings)
    vocab = tokenizer.get_vocab()
    key = (tuple(sorted(vocab.items())), strings, mode)
    if key not in _CACHE:
        _CACHE[key] = _build(*clean_vocabulary(tokenizer, mode), strings)
        if len(_CACHE) > 8:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(key)
    table, max_positions, max_end_lengths = _CACHE[key]
    return StopStringTable(
        table=jnp.asarray(table),
        target_lengths=jnp.asarray([len(s) for s in strings], jnp.int32),
        num_strings=len(strings),
        max_positions=max_positions,
        max_end_lengths=max_end_lengths,
        window=max(len(s) for s in strings),
    )


def matching_mode(tokenizer) -> str | None:
    """ "byte_level" (GPT-2-style vocabularies) or "byte_fallback" (<0xNN> tokens): match bytes; None: text."""
    decoder = getattr(getattr(tokenizer, "backend_tokenizer", None), "decoder", None)
    if decoder is None:
        return None
    if type(decoder).__name__ == "ByteLevel":
        return "byte_level"
    state = getattr(decoder, "__getstate__", lambda: None)()
    try:
        config = json.loads(state) if isinstance(state, (str, bytes)) else None
    except json.JSONDecodeError:
        config = None
    if _has_type(config, "ByteFallback"):
        return "byte_fallback"
    if _has_type(config, "ByteLevel"):
        return "byte_level"
    return None


def _has_type(config, kind: str) -> bool:
    if isinstance(config, dict):
        return config.get("type") == kind or any(_has_type(v, kind) for v in config.values())
    if isinstance(config, list):
        return any(_has_type(v, kind) for v in config)
    return False


def _byte_level_decoder() -> dict[str, int]:
    """GPT-2's byte <-> printable character map, inverted."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = list(printable), 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


def clean_vocabulary(tokenizer, mode, static_prefix: str = "abcdef"):
    """(texts, ids): what each vocabulary entry decodes to, without markers such as "Ġ" or "##". Decoded after
    a fixed prefix that is then cut off, so that prefix-space rules do not change it; byte-level entries are
    mapped to their bytes directly (they may hold half a UTF-8 character)."""
    byte_decoder = _byte_level_decoder() if mode == "byte_level" else None
    prefix_tokens = [
        tokenizer._convert_id_to_token(i) for i in tokenizer(static_prefix, add_special_tokens=False)["input_ids"]
    ]
    texts, ids = [], []
    for token, index in tokenizer.get_vocab().items():
        text = None
        if mode == "byte_level" and all(ch in byte_decoder for ch in token):
            text = bytes(byte_decoder[ch] for ch in token)
        elif (
            mode == "byte_fallback"
            and len(token) == 6
            and token.startswith("<0x")
            and token.endswith(">")
            and all(ch in "0123456789abcdefABCDEF" for ch in token[3:5])
        ):
            text = bytes([int(token[3:5], 16)])
        if text is None:
            text = tokenizer.convert_tokens_to_string(prefix_tokens + [token])
            text = text[text.index(static_prefix) + len(static_prefix) :]
            if mode is not None:
                text = text.encode("utf-8")
        texts.append(text)
        ids.append(index)
    return texts, ids


def _positions(texts, ids, stop: str | bytes):
    """Per token id: where it can sit inside `stop` (index into the reversed string of the token's last
    character; running off the start is allowed), and how many of `stop`'s last characters it can begin with."""
    reversed_stop = stop[::-1]
    inside, end = {}, {}
    for token, index in zip(texts, ids, strict=True):
        reversed_token = token[::-1]
        found = []
        i = reversed_stop.find(reversed_token[:1], 1)
        while 0 <= i < len(stop):
            if reversed_token.startswith(reversed_stop[i : i + len(token)]):
                found.append(i)
            i = reversed_stop.find(reversed_token[:1], i + 1)
        overlaps = []
        i = token.find(stop[-1:])
        while i >= 0:
            overlap = min(i + 1, len(stop))
            if token[i + 1 - overlap : i + 1] == stop[-overlap:]:
                overlaps.append(overlap)
            i = token.find(stop[-1:], i + 1)
        if found:
            inside[index] = found
        if overlaps:
            end[index] = overlaps
    return inside, end


def _build(texts, ids, strings):
    per_string = [_positions(texts, ids, s) for s in strings]
    max_positions = max((len(v) for inside, _ in per_string for v in inside.values()), default=1)
    max_end_lengths = max((len(v) for _, end in per_string for v in end.values()), default=0)
    if max_end_lengths == 0:
        raise ValueError("no token can end any of the stop strings: are they made of characters the vocabulary has?")
    count = len(strings)
    table = np.full((max(ids) + 2, count * (max_positions + max_end_lengths) + 1), -1, np.int32)
    for k, (inside, end) in enumerate(per_string):
        for index, found in inside.items():
            table[index, max_positions * k : max_positions * k + len(found)] = found
        start = max_positions * count + max_end_lengths * k
        for index, overlaps in end.items():
            table[index, start : start + len(overlaps)] = overlaps
    for token, index in zip(texts, ids, strict=True):
        table[index, -1] = len(token)
    return table, max_positions, max_end_lengths


def stop_string_hits(tokens: jax.Array, length, stops: StopStringTable) -> jax.Array:
    """[rows] bool: does a stop string end in the last token of tokens[:, :length]?"""
    rows = tokens.shape[0]
    dummy = stops.table.shape[0] - 1
    # The last `window` tokens, newest first; positions before the sequence read the dummy row (no match).
    positions = length - 1 - jnp.arange(stops.window)
    recent = jnp.take_along_axis(tokens, jnp.clip(positions, 0, tokens.shape[1] - 1)[None, :].repeat(rows, 0), axis=1)
    recent = jnp.where(positions[None, :] >= 0, jnp.minimum(recent, dummy), dummy)
    embedded = stops.table[recent]  # [rows, window, columns]
    s, p = stops.num_strings, stops.max_positions
    valid_positions = embedded[:, 1:, : p * s].reshape(rows, stops.window - 1, s, p)
    end_lengths = embedded[:, :1, p * s : -1].reshape(rows, 1, s, stops.max_end_lengths)
    lengths = jnp.broadcast_to(embedded[:, 1:, None, -1:], (rows, stops.window - 1, s, stops.max_end_lengths))
    # Characters of the string matched after each token, one count per possible end overlap of the last token.
    matched = jnp.cumsum(jnp.concatenate([end_lengths, lengths], axis=1), axis=1)
    initial = end_lengths > 0
    later = jnp.any(matched[:, :-1, :, :, None] == valid_positions[:, :, :, None, :], axis=-1)
    ok = jnp.cumsum(~jnp.concatenate([initial, later], axis=1), axis=1) == 0
    return jnp.any(jnp.max(matched * ok, axis=(1, 3)) >= stops.target_lengths[None, :], axis=-1)
