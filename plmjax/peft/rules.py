"""The rule engine every PEFT method uses: an ordered list of (regex, label) over parameter paths.

A path is the "/"-joined key path of a parameter ("encoder/layers_0/attention/query/kernel"). A regex
must match the whole path (re.fullmatch); the first rule that matches labels the parameter. A parameter
no rule matches is an error that names it, and so is a rule that matches no parameter (a misspelt or
shadowed regex silently training the wrong thing is the failure this engine exists to prevent).

The same engine labels trainable/frozen, decay/no-decay and sharding overrides: only the labels differ.
"""

import re
from collections.abc import Sequence

from flax import traverse_util

Rules = Sequence[tuple[str, str]]

TRAINABLE, FROZEN = "trainable", "frozen"


class RuleError(ValueError):
    """Rules and parameters do not fit: unmatched parameters, or rules that match nothing."""


def param_paths(params) -> list[str]:
    return ["/".join(path) for path in traverse_util.flatten_dict(params)]


def _compile(rules: Rules):
    compiled = []
    for pattern, label in rules:
        try:
            compiled.append((re.compile(pattern), label))
        except re.error as error:
            raise RuleError(f"rule {pattern!r} is not a valid regex: {error}") from None
    return compiled


def match(params, rules: Rules, allow_unused_rules: bool = False) -> dict[str, tuple[int, str]]:
    """{path: (index of the first matching rule, its label)} for every parameter; raises RuleError."""
    compiled = _compile(rules)
    matched, unmatched = {}, []
    for path in param_paths(params):
        for index, (regex, label) in enumerate(compiled):
            if regex.fullmatch(path):
                matched[path] = (index, label)
                break
        else:
            unmatched.append(path)
    problems = []
    if unmatched:
        shown = "\n  ".join(unmatched[:20]) + (f"\n  ... and {len(unmatched) - 20} more" if len(unmatched) > 20 else "")
        problems.append(
            f"{len(unmatched)} parameters match no rule (add a catch-all such as ('.*', 'frozen')):\n  {shown}"
        )
    used = {index for index, _ in matched.values()}
    unused = [f"{pattern!r} -> {label}" for i, (pattern, label) in enumerate(rules) if i not in used]
    if unused and not allow_unused_rules:
        problems.append(
            "rules that match no parameter (misspelt, or shadowed by an earlier rule):\n  " + "\n  ".join(unused)
        )
    if problems:
        raise RuleError("\n".join(problems))
    return matched


def labels(params, rules: Rules, allow_unused_rules: bool = False):
    """A pytree like params holding each parameter's label."""
    matched = match(params, rules, allow_unused_rules)
    flat = traverse_util.flatten_dict(params)
    return traverse_util.unflatten_dict({path: matched["/".join(path)][1] for path in flat})


def mask(params, rules: Rules, true_label: str = TRAINABLE, allow_unused_rules: bool = False):
    """A boolean pytree like params: True where the label is true_label (optax.masked / partition input)."""
    matched = match(params, rules, allow_unused_rules)
    known = {label for _, label in rules}
    if true_label not in known:
        raise RuleError(f"no rule gives the label {true_label!r}; labels in these rules: {sorted(known)}")
    flat = traverse_util.flatten_dict(params)
    return traverse_util.unflatten_dict({path: matched["/".join(path)][1] == true_label for path in flat})


def explain(params, rules: Rules, examples: int = 3) -> str:
    """Which rule matched which parameters: a table of rule, label, count, size and example paths."""
    matched = match(params, rules, allow_unused_rules=True)
    sizes = {"/".join(p): leaf.size for p, leaf in traverse_util.flatten_dict(params).items()}
    lines = [f"{'#':>2}  {'rule':40} {'label':12} {'params':>7} {'size':>12}  examples"]
    for index, (pattern, label) in enumerate(rules):
        paths = [p for p, (i, _) in matched.items() if i == index]
        shown = ", ".join(paths[:examples]) + (", ..." if len(paths) > examples else "")
        size = sum(sizes[p] for p in paths)
        lines.append(f"{index:>2}  {pattern:40} {label:12} {len(paths):>7} {size:>12,}  {shown or '(matches nothing)'}")
    return "\n".join(lines)
