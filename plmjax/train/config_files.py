"""Load a config file (`path.py[:arg]`), lock it, and apply `--config.a.b=value` overrides by key; list the
config files of a directory for `--help`."""

import ast
import glob
import importlib.util
import os

import ml_collections


class ConfigError(ValueError):
    """A config file, argument or override that does not fit the config."""


def load_config(spec: str, overrides: dict | None = None) -> ml_collections.ConfigDict:
    """`configs/x.py` or `configs/x.py:arg` -> the locked ConfigDict returned by the file's get_config(arg), with
    the command line's `overrides` ({dotted key: text}, plmjax.train.config_files.apply_override) applied."""
    path, _, arg = spec.partition(":")
    if not os.path.isfile(path):
        raise ConfigError(f"config file {path!r} does not exist")
    module_name = "plmjax_config_" + os.path.splitext(os.path.basename(path))[0]
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    if not hasattr(module, "get_config"):
        raise ConfigError(f"config file {path!r} has no get_config(arg) function")
    try:
        config = module.get_config(arg or None)
    except ValueError as error:  # a bad :arg names the valid arguments
        raise ConfigError(f"{path}: {error}") from None
    config.lock()
    # TransformerConfig fields are open: TransformerConfig checks their names when the model is built.
    if "model" in config and "config_overrides" in config.model:
        config.model.config_overrides.unlock()
    # PEFT method options are open too: plmjax.peft.apply checks their names against the method's.
    if "peft" in config and "options" in config.peft:
        config.peft.options.unlock()
    if "objective" in config and "prompt" in config.objective:
        config.objective.prompt.verbalizer_options.unlock()
    for key, text in (overrides or {}).items():
        apply_override(config, key, text)
    return config


def _parse_value(text: str, current):
    """The override's text as a value of the current value's type (strings are taken literally)."""
    if isinstance(current, str):
        return text
    if isinstance(current, bool):
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise TypeError("bool (true or false)")
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = text  # an unquoted string for a None-valued or placeholder field
    if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(current, tuple) and isinstance(value, list | int | str):
        value = tuple(value) if isinstance(value, list) else (value,)
    return value


def apply_override(config: ml_collections.ConfigDict, key: str, text: str) -> None:
    """Set config[key] (a dotted path) from command-line text; unknown keys are errors naming the valid ones."""
    *parents, leaf = key.split(".")
    node, walked = config, []
    for name in parents + [leaf]:
        is_leaf = name == leaf and len(walked) == len(parents)
        if not isinstance(node, ml_collections.ConfigDict):
            raise ConfigError(f"config key {'.'.join(walked)!r} is a value, not a group; cannot set {key!r}")
        if name not in node and (node.is_locked or not is_leaf):
            where = f"under {'.'.join(walked)!r}" if walked else "at the top level"
            raise ConfigError(f"unknown config key {key!r}; valid keys {where}: {', '.join(sorted(node.keys()))}")
        if is_leaf:
            current = node.get(name, None)
            if isinstance(current, ml_collections.ConfigDict):
                raise ConfigError(f"config key {key!r} is a group; set one of its keys: {sorted(current.keys())}")
            try:
                node[name] = _parse_value(text, current if current is not None else _placeholder_type(node, name))
            except TypeError as error:
                # ml_collections' own message names "reference" and "original" types; say what the key takes.
                expected = str(error) if "(true or false)" in str(error) else node.get_type(name).__name__
                raise ConfigError(f"--config.{key}={text}: expected {expected}") from None
            return
        node = node[name]
        walked.append(name)


def _placeholder_type(node: ml_collections.ConfigDict, name: str):
    """A typed placeholder (None with a declared type) parses like a value of that type."""
    return "" if name in node and node.get_type(name) is str else None


def split_overrides(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """Separate `--config.a.b=value` (also `--config.a.b value`) from the other arguments."""
    rest, overrides, i = [], {}, 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--config."):
            key, sep, value = arg[len("--config.") :].partition("=")
            if not sep:
                if i + 1 >= len(argv):
                    raise ConfigError(f"{arg} needs a value")
                value, i = argv[i + 1], i + 1
            overrides[key] = value
        else:
            rest.append(arg)
        i += 1
    return rest, overrides


def config_summaries(directory: str) -> list[tuple[str, str]]:
    """(path relative to `directory`, first line of its docstring) for every config file under it, read
    without running the files."""
    summaries = []
    for path in sorted(glob.glob(os.path.join(directory, "**", "*.py"), recursive=True)):
        with open(path) as f:
            docstring = ast.get_docstring(ast.parse(f.read())) or "(no docstring)"
        summaries.append((os.path.relpath(path, directory), docstring.strip().splitlines()[0]))
    return summaries
