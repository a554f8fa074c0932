"""configs/glue.py takes method= for every PEFT method, and the trainer builds the adapted model and its rules
from config.peft (method, options, extra_trainable) without initialising anything."""

import os
import re

import pytest
from flax import traverse_util

from plmjax import peft
from plmjax.assembly import model as model_setup
from plmjax.peft import is_method_param
from plmjax.peft.method import NORMS
from plmjax.train import partition
from plmjax.train.config_files import load_config

CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "configs")
TINY = dict(vocab_size=64, hidden_size=16, num_layers=2, num_heads=2, intermediate_size=24)
METHODS = sorted(peft.METHODS) + ["lora+prompt", "houlsby+prefix"]


@pytest.mark.parametrize("method", METHODS)
def test_glue_config_builds_every_method(method):
    config = load_config(os.path.join(CONFIGS, "glue.py") + f":model=bert-base,method={method}")
    config.model.config_overrides.update(TINY)
    setup = model_setup.build(config.model, 2, 0, config.peft)
    abstract = traverse_util.unflatten_dict(peft.abstract_params(setup.model))
    rules = partition.trainable_rules(config.peft, abstract, setup.peft_plan)
    trainable = [p for p, t in traverse_util.flatten_dict(peft.mask(abstract, rules)).items() if t]
    assert trainable
    if method in ("full", "head_only", "bitfit"):
        assert setup.model.config.peft.is_off
    else:
        assert not setup.model.config.peft.is_off
        for path in trainable:
            norm = "houlsby" in method and re.fullmatch(NORMS, "/".join(path))  # Houlsby trains the norms too
            assert is_method_param(path) or path[0] == "classifier" or norm, path


def test_quickstart_trains_lora():
    config = load_config(os.path.join(CONFIGS, "quickstart.py"))
    assert config.peft.method == "lora" and config.peft.options.rank == 8


@pytest.mark.parametrize(("model", "head"), [("gpt2", "score"), ("bert-base", "classifier")])
def test_head_only_trains_the_classifier_of_every_family(model, head):
    """GPT-2's classifier is `score`: head_only used to train nothing there (two rule lists disagreed)."""
    config = load_config(os.path.join(CONFIGS, "glue.py") + f":model={model},method=head_only")
    config.model.config_overrides.update(TINY)
    setup = model_setup.build(config.model, 2, 0, config.peft)
    abstract = traverse_util.unflatten_dict(peft.abstract_params(setup.model))
    rules = partition.trainable_rules(config.peft, abstract, setup.peft_plan)
    trainable = {"/".join(p) for p, t in traverse_util.flatten_dict(peft.mask(abstract, rules)).items() if t}
    assert trainable and all(path.startswith(f"{head}/") for path in trainable), trainable
