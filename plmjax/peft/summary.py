"""Trainable / total parameter counts, overall and per module group (peft's print_trainable_parameters,
broken down by module)."""

from flax import traverse_util

from plmjax.peft import rules as rule_engine


def group_of(path: tuple[str, ...], depth: int) -> str:
    """The module group a parameter belongs to: its first `depth` path components below the layer index.

    encoder/layers_3/attention/query/kernel -> "encoder/layers_*/attention" at depth 3, so every layer's
    attention counts together.
    """
    parts = ["layers_*" if p.startswith("layers_") else p for p in path[:-1]]
    return "/".join(parts[:depth]) or path[-1]


def counts(params, trainable_mask, depth: int = 3) -> dict[str, tuple[int, int]]:
    """{group: (trainable, total)} plus the "total" row."""
    flat_params = traverse_util.flatten_dict(params)
    flat_mask = traverse_util.flatten_dict(trainable_mask)
    table: dict[str, list[int]] = {}
    for path, leaf in flat_params.items():
        row = table.setdefault(group_of(path, depth), [0, 0])
        row[0] += leaf.size if flat_mask[path] else 0
        row[1] += leaf.size
    total = [sum(r[0] for r in table.values()), sum(r[1] for r in table.values())]
    return {**{g: tuple(r) for g, r in sorted(table.items())}, "total": tuple(total)}


def summary(params, rules_or_mask, depth: int = 3) -> str:
    """A table of trainable / total parameters and percentage per group; accepts rules or a boolean mask."""
    if isinstance(rules_or_mask, list | tuple):
        trainable_mask = rule_engine.mask(params, rules_or_mask)
    else:
        trainable_mask = rules_or_mask
    rows = counts(params, trainable_mask, depth)
    width = max(len(g) for g in rows)
    lines = [f"{'group':{width}}  {'trainable':>12}  {'total':>12}  {'%':>7}"]
    for group, (trainable, total) in rows.items():
        if group == "total":
            lines.append("-" * len(lines[0]))
        percent = 100 * trainable / total if total else 0.0
        lines.append(f"{group:{width}}  {trainable:>12,}  {total:>12,}  {percent:>6.2f}%")
    return "\n".join(lines)
