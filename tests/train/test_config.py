"""Config files, their :arg, and command-line overrides on the locked config."""

import json
import os

import pytest

from plmjax.train.config import default_config, parse_config_arg
from plmjax.train.config_files import ConfigError, apply_override, load_config, split_overrides
from tests.train.runs import REPO

CONFIGS = os.path.join(REPO, "configs")


def test_every_config_file_loads_and_names_its_run_command():
    for name in sorted(os.listdir(CONFIGS)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(CONFIGS, name)) as f:
            module_text = f.read()
        assert f"python -m plmjax.main --config=configs/{name}" in module_text, name
        config = load_config(os.path.join(CONFIGS, name))
        assert config.is_locked
        assert set(config.keys()) == set(default_config().keys()), name


def test_overrides_keep_types_and_reject_unknown_keys():
    config = load_config(os.path.join(CONFIGS, "smoke.py"))
    apply_override(config, "train.num_steps", "7")
    apply_override(config, "optimizer.learning_rate", "1")  # an int where a float lives stays a float
    apply_override(config, "model.remat", "true")
    apply_override(config, "data.length_buckets", "(16, 32)")
    apply_override(config, "peft.extra_trainable", "pooler/.*")  # strings are taken literally
    apply_override(config, "distributed.coordinator_address", "localhost:1234")  # a typed placeholder
    apply_override(config, "model.config_overrides.hidden_dropout", "0.0")  # TransformerConfig fields stay open
    assert config.train.num_steps == 7
    assert config.optimizer.learning_rate == 1.0 and isinstance(config.optimizer.learning_rate, float)
    assert config.model.remat is True
    assert config.data.length_buckets == (16, 32)
    assert config.peft.extra_trainable == "pooler/.*"
    assert config.distributed.coordinator_address == "localhost:1234"
    assert config.model.config_overrides.hidden_dropout == 0.0

    with pytest.raises(ConfigError, match=r"unknown config key 'optimizer.lr'; valid keys under 'optimizer': b1, b2"):
        apply_override(config, "optimizer.lr", "1e-3")
    with pytest.raises(ConfigError, match="unknown config key 'trainer.steps'; valid keys at the top level"):
        apply_override(config, "trainer.steps", "3")
    with pytest.raises(ConfigError, match="is a group"):
        apply_override(config, "optimizer", "sgd")
    # A value of the wrong type names the key, the text and the type the key takes.
    for key, text, expected in [
        ("model.remat", "maybe", "bool (true or false)"),
        ("train.num_steps", "3.5", "int"),
        ("train.num_steps", "abc", "int"),
        ("optimizer.learning_rate", "fast", "float"),
        ("distributed.num_processes", "two", "int"),  # a typed placeholder (None by default)
    ]:
        with pytest.raises(ConfigError) as error:
            apply_override(config, key, text)
        assert str(error.value) == f"--config.{key}={text}: expected {expected}"


def test_config_arg_parsing():
    arg = parse_config_arg("model=/x/y,task=glue/rte", model="bert-base", task="glue/sst2", method="full")
    assert (arg.model, arg.task, arg.method) == ("/x/y", "glue/rte", "full")
    with pytest.raises(ValueError, match=r"unknown config argument 'tsk'; arguments: \['method', 'model', 'task'\]"):
        parse_config_arg("tsk=x", model="", task="", method="")
    with pytest.raises(ConfigError, match="glue.py: unknown config argument"):
        load_config(os.path.join(CONFIGS, "glue.py") + ":modl=bert-base")


def test_split_overrides_accepts_both_spellings():
    rest, overrides = split_overrides(["--workdir=/w", "--config.a.b=1", "--config.c", "two", "--config=x.py"])
    assert rest == ["--workdir=/w", "--config=x.py"]
    assert overrides == {"a.b": "1", "c": "two"}


def test_resolved_config_is_json():
    config = load_config(os.path.join(CONFIGS, "smoke.py"))
    assert json.loads(config.to_json_best_effort())["data"]["task"] == "synthetic"
