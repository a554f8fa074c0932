"""HF-PEFT tensor names and layouts for each method, through the family's HF name map (plmjax.hf.families).

Each `*_out` turns plmjax parameters into (adapter_config fields, {HF module name.suffix: torch-layout array});
each `*_in` turns them back into (PeftConfig fields, {plmjax parameter path: array}, trainable regexes,
consumed tensor names). Names here are without peft's "base_model.model." / "base_model." prefix.
"""

import math
import re

import numpy as np
from flax import traverse_util

from plmjax.peft.method_spec import TASK_HEADS
from plmjax.peft.methods import abstract_params

TASK_TYPES = {
    ("encoder", "classification"): "SEQ_CLS",
    ("encoder", "token_classification"): "TOKEN_CLS",
    ("encoder", "span"): "QUESTION_ANS",
    ("encoder", None): "FEATURE_EXTRACTION",
    ("decoder", "lm"): "CAUSAL_LM",
    ("decoder", "classification"): "SEQ_CLS",
    ("decoder", None): "FEATURE_EXTRACTION",
    ("seq2seq", "lm"): "SEQ_2_SEQ_LM",
    ("seq2seq", "classification"): "SEQ_CLS",
    ("seq2seq", None): "FEATURE_EXTRACTION",
}


def _spec(model):
    from plmjax.hf.families import SPECS

    return SPECS[model.config.family]


def _kind(model) -> str:
    c = model.config
    return "seq2seq" if c.is_encoder_decoder else ("decoder" if c.family == "gpt2" else "encoder")


def task_type(model) -> str | None:
    return TASK_TYPES.get((_kind(model), model.head))


def hf_module(model, module_path: tuple[str, ...]):
    """(map entry, full HF module name) of a plmjax Dense module path."""
    from plmjax.hf.name_map import add_prefix

    spec = _spec(model)
    entry = spec.module_map(model.config, model.head)["/".join(module_path)]
    return entry, add_prefix(entry.hf_name, entry.component, spec, model.head)


def hf_modules_reversed(model, module_paths) -> dict[str, list]:
    """{full HF module name: [(plmjax module path, entry), ...] sorted by fused part}."""
    reverse = {}
    for path in module_paths:
        entry, full = hf_module(model, path)
        reverse.setdefault(full, []).append((path, entry))
    return {k: sorted(v, key=lambda member: member[1].part or (0, 1)) for k, v in reverse.items()}


def _dense_modules(model) -> list[tuple[str, ...]]:
    """Module paths of every Dense kernel of the model (base parameters)."""
    return [p[:-1] for p in abstract_params(model) if p[-1] == "kernel"]


def _exact_regex(paths) -> str:
    return "(" + "|".join(re.escape(p) for p in sorted(paths)) + ")"


# --- task head (peft's modules_to_save) ---


def head_tensors(model, head_flat: dict) -> tuple[list[str], dict]:
    """(modules_to_save, {full HF name: array}) of task-head parameters {path tuple: array}."""
    from plmjax.hf.weights import state_dict_from_params

    if not head_flat:
        return [], {}
    tensors = state_dict_from_params(_spec(model), model, traverse_util.unflatten_dict(head_flat))
    return sorted({name.split(".")[0] for name in tensors}), {k: np.asarray(v) for k, v in tensors.items()}


def head_in(model, tensors: dict) -> tuple[dict, set]:
    """({task-head path: array}, consumed names) for the head tensors an adapter carries (all or none)."""
    from plmjax.hf.name_map import add_prefix, entry_for, from_hf_layout

    spec = _spec(model)
    modules = spec.module_map(model.config, model.head)
    values, wanted = {}, []
    for path in abstract_params(model):
        if not re.fullmatch(TASK_HEADS, "/".join(path)):
            continue
        entry, name = entry_for(path, modules)
        full = add_prefix(name, entry.component, spec, model.head)
        wanted.append(full)
        if full in tensors:
            values[path] = from_hf_layout(path, tensors[full], entry.layout)
    if values and len(values) != len(wanted):
        raise ValueError(f"the adapter holds part of the task head: {sorted(set(wanted) - set(tensors))} missing")
    return values, set(wanted) & set(tensors)


# --- LoRA ---


def lora_out(model, params) -> tuple[dict, dict]:
    p = model.config.peft
    flat = traverse_util.flatten_dict(params)
    modules = sorted({path[:-1] for path in flat if path[-1] == "lora_a"})
    tensors, rank_pattern, alpha_pattern, conv1d = {}, {}, {}, False
    for full, members in hf_modules_reversed(model, modules).items():
        conv1d |= members[0][1].layout == "conv1d"
        a = [np.asarray(flat[(*path, "lora_a")], np.float32) for path, _ in members]
        b = [np.asarray(flat[(*path, "lora_b")], np.float32) for path, _ in members]
        part = members[0][1].part
        if part is None:
            lora_a, lora_b = a[0], b[0]
        else:
            # A fused HF module (GPT-2's c_attn): the pairs side by side in rank, each B on its output slice.
            count, width, rank = part[1], b[0].shape[1], p.lora_rank
            lora_a = np.concatenate(a, axis=1)
            lora_b = np.zeros((len(members) * rank, count * width), np.float32)
            for j, ((_, entry), b_j) in enumerate(zip(members, b, strict=True)):
                lora_b[j * rank : (j + 1) * rank, entry.part[0] * width : (entry.part[0] + 1) * width] = b_j
            k = len(members)
            if k > 1:
                # Same scale at rank k * rank: alpha grows with the rank (or with its square root for rsLoRA).
                rank_pattern[full] = k * rank
                alpha_pattern[full] = p.lora_alpha * (math.sqrt(k) if p.lora_rslora else k)
        tensors[f"{full}.lora_A.weight"] = lora_a.T
        tensors[f"{full}.lora_B.weight"] = lora_b.T
    config = dict(
        r=p.lora_rank,
        lora_alpha=p.lora_alpha,
        lora_dropout=p.lora_dropout,
        use_rslora=p.lora_rslora,
        target_modules=sorted({k.rsplit(".lora_", 1)[0] for k in tensors}),
        rank_pattern=rank_pattern,
        alpha_pattern=alpha_pattern,
        fan_in_fan_out=conv1d,
        bias="none",
        use_dora=False,
        init_lora_weights=True,
    )
    return config, tensors


def _pattern_value(pattern: dict, name: str, default):
    """peft's rank_pattern / alpha_pattern lookup: a key matches a module name's dotted suffix."""
    for key, value in (pattern or {}).items():
        if re.match(rf"(.*\.)?({key})$", name):
            return value
    return default


def lora_in(model, config: dict, tensors: dict):
    for key, bad in (("use_dora", True), ("lora_bias", True)):
        if config.get(key) == bad:
            raise ValueError(f"LoRA with {key}={bad} is not implemented in plmjax")
    if config.get("bias", "none") != "none":
        raise ValueError(f"LoRA with trained biases (bias={config['bias']!r}) does not import into plmjax")
    rslora = bool(config.get("use_rslora", False))
    pairs = {}
    for name in tensors:
        if name.endswith(".lora_A.weight"):
            full = name[: -len(".lora_A.weight")]
            rank = _pattern_value(config.get("rank_pattern"), full, config["r"])
            alpha = _pattern_value(config.get("alpha_pattern"), full, config["lora_alpha"])
            scale = alpha / (math.sqrt(rank) if rslora else rank)
            pairs[full] = (tensors[name].T, tensors[f"{full}.lora_B.weight"].T, scale)
    reverse = hf_modules_reversed(model, _dense_modules(model))
    unknown = sorted(set(pairs) - set(reverse))
    if unknown:
        raise ValueError(f"LoRA modules the model does not have: {unknown[:10]}")
    ranks = {a.shape[1] for a, _, _ in pairs.values()}
    scales = {s for _, _, s in pairs.values()}
    uniform = len(ranks) == 1 and len(scales) == 1
    rank = max(ranks)
    values, kernels = {}, []
    for full, (a, b, scale) in pairs.items():
        if not uniform:
            # Per-module ranks or scales: zero-pad to the largest rank and fold each scale into B (exact).
            a = np.pad(a, ((0, 0), (0, rank - a.shape[1])))
            b = np.pad(b * scale, ((0, rank - b.shape[0]), (0, 0)))
        members = reverse[full]
        for path, entry in members:
            piece = b if entry.part is None else np.split(b, entry.part[1], axis=1)[entry.part[0]]
            values[(*path, "lora_a")], values[(*path, "lora_b")] = a, piece
            kernels.append("/".join(path) + "/kernel")
    scale = scales.pop() if uniform else 1.0
    changes = dict(
        lora_targets=_exact_regex(kernels),
        lora_rank=rank,
        # The alpha giving each module's scale at this rank (1 after folding per-module scales into B).
        lora_alpha=float(scale * (math.sqrt(rank) if rslora and uniform else rank)),
        lora_dropout=float(config.get("lora_dropout", 0.0)),
        lora_rslora=rslora and uniform,
    )
    consumed = {f"{full}.lora_{x}.weight" for full in pairs for x in "AB"}
    return changes, values, [r".*/lora_(a|b)"], consumed


# --- IA3 ---


def ia3_out(model, params) -> tuple[dict, dict]:
    p = model.config.peft
    flat = traverse_util.flatten_dict(params)
    modules = sorted({path[:-1] for path in flat if path[-1] == "ia3_scale"})
    tensors, feedforward, conv1d = {}, [], False
    for full, members in hf_modules_reversed(model, modules).items():
        conv1d |= members[0][1].layout == "conv1d"
        modes = {p.ia3_scales("/".join(path) + "/kernel") for path, _ in members}
        vectors = [np.asarray(flat[(*path, "ia3_scale")], np.float32) for path, _ in members]
        if modes == {"input"}:
            if len(members) > 1 or members[0][1].part is not None:
                raise ValueError(f"input-scaling IA3 on the fused HF module {full} does not export")
            tensors[f"{full}.ia3_l"] = vectors[0][None, :]
            feedforward.append(full)
            continue
        part = members[0][1].part
        if part is None:
            vector = vectors[0]
        else:
            # A fused HF module: one vector over all parts, ones where plmjax has none.
            width = vectors[0].shape[0]
            vector = np.ones(part[1] * width, np.float32)
            for (_, entry), v in zip(members, vectors, strict=True):
                vector[entry.part[0] * width : (entry.part[0] + 1) * width] = v
        tensors[f"{full}.ia3_l"] = vector[:, None]
    targets = sorted(k.rsplit(".ia3_l", 1)[0] for k in tensors)
    config = dict(
        target_modules=targets, feedforward_modules=sorted(feedforward), fan_in_fan_out=conv1d, init_ia3_weights=True
    )
    return config, tensors


def ia3_in(model, config: dict, tensors: dict):
    reverse = hf_modules_reversed(model, _dense_modules(model))
    values, outputs, inputs, consumed = {}, [], [], set()
    for name, vector in tensors.items():
        if not name.endswith(".ia3_l"):
            continue
        full = name[: -len(".ia3_l")]
        if full not in reverse:
            raise ValueError(f"IA3 module the model does not have: {full}")
        consumed.add(name)
        scales_input = vector.shape[0] == 1
        for path, entry in reverse[full]:
            kernel = "/".join(path) + "/kernel"
            if scales_input:
                values[(*path, "ia3_scale")] = vector[0]
                inputs.append(kernel)
            else:
                column = vector[:, 0]
                values[(*path, "ia3_scale")] = (
                    column if entry.part is None else np.split(column, entry.part[1])[entry.part[0]]
                )
            outputs.append(kernel)
    changes = dict(ia3_targets=_exact_regex(outputs), ia3_input_targets=_exact_regex(inputs) if inputs else "")
    return changes, values, [r".*/ia3_scale"], consumed


# --- prompt tuning, P-tuning, prefix tuning (peft saves all three as "prompt_embeddings") ---


def _transformer_submodules(model) -> int:
    return 2 if model.config.is_encoder_decoder else 1


def prompt_out(model, params, peft_type: str) -> tuple[dict, np.ndarray]:
    from plmjax.peft.merge import fold

    c, p = model.config, model.config.peft
    model, params = fold(model, params)  # prompt encoders and prefix MLPs travel as their output
    common = dict(num_attention_heads=c.num_heads, num_layers=c.num_layers)
    if peft_type == "PREFIX_TUNING":
        if c.is_encoder_decoder or c.hidden_groups != c.num_layers or c.inner_group_num != 1:
            raise ValueError("HF-PEFT prefix tuning exports for encoder and decoder-only models without layer sharing")
        stack = params["decoder" if "decoder" in params else "encoder"]
        attentions = [stack[f"layers_{i}"]["attention"] for i in range(c.num_layers)]
        keys_values = [np.stack([a["prefix_key"], a["prefix_value"]]).astype(np.float32) for a in attentions]
        # [layers, 2, n, heads, head_dim] -> per virtual token: layer 0 key, layer 0 value, layer 1 key, ...
        stacked = np.stack(keys_values).transpose(2, 0, 1, 3, 4)
        width = c.num_heads * c.head_dim
        embeddings = stacked.reshape(p.prefix_length, -1)
        config = common | dict(
            num_virtual_tokens=p.prefix_length,
            token_dim=width,
            encoder_hidden_size=width,
            prefix_projection=False,
            num_transformer_submodules=1,
        )
        return config, embeddings
    prompt = np.asarray(params["soft_prompt"]["embedding"], np.float32)
    submodules = _transformer_submodules(model)
    config = common | dict(
        num_virtual_tokens=p.prompt_length, token_dim=c.embed_size, num_transformer_submodules=submodules
    )
    if peft_type == "P_TUNING":
        config |= dict(
            encoder_reparameterization_type=p.prompt_encoder.upper(),
            encoder_hidden_size=p.prompt_encoder_hidden_size or c.embed_size,
            encoder_num_layers=p.prompt_encoder_layers,
            encoder_dropout=0.0,
        )
    else:
        config |= dict(prompt_tuning_init="RANDOM", prompt_tuning_init_text=None, tokenizer_name_or_path=None)
    # Encoder-decoders hold a second set of virtual tokens peft never feeds to the model: repeat the first.
    return config, np.concatenate([prompt] * submodules)


def prompt_in(model, config: dict, embeddings: np.ndarray):
    c = model.config
    length = int(config["num_virtual_tokens"])
    if config["peft_type"] == "PREFIX_TUNING":
        if c.is_encoder_decoder:
            raise ValueError("HF-PEFT prefix tuning imports for encoder and decoder-only models")
        stack = "decoder" if c.family == "gpt2" else "encoder"
        heads, head_dim = c.num_heads, c.head_dim
        layers = embeddings.reshape(length, c.num_layers, 2, heads, head_dim).transpose(1, 2, 0, 3, 4)
        values = {}
        for i in range(c.num_layers):
            attention = (stack, f"layers_{i}", "attention")
            values[(*attention, "prefix_key")], values[(*attention, "prefix_value")] = layers[i, 0], layers[i, 1]
        return dict(prefix_length=length), values, [r".*/attention/prefix_(key|value)"], set()
    prompt = embeddings[:length]
    if prompt.shape[1] != c.embed_size:
        raise ValueError(f"the soft prompt is {prompt.shape[1]} wide; the model's embeddings are {c.embed_size}")
    return dict(prompt_length=length), {("soft_prompt", "embedding"): prompt}, ["soft_prompt/.*"], set()
