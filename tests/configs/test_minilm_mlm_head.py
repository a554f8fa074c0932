"""configs/minilm_mlm_head.py trains BERT's masked-LM head on all-MiniLM-L6-v2, and with unfreeze_top=N the top
N encoder layers too: checked on the model's abstract parameters (nothing initialised, no corpus read)."""

import os

import pytest
from flax import traverse_util

from plmjax import peft
from plmjax.assembly import model as model_setup
from plmjax.assembly.objective import head_of
from plmjax.hf.bundled import minilm_path
from plmjax.train import partition
from plmjax.train.config_files import ConfigError, load_config

CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "configs")
CONFIG = os.path.join(CONFIG, "minilm_mlm_head.py")
HEAD = {"mlm_head/bias", "mlm_head/norm/bias", "mlm_head/norm/scale", "mlm_head/transform/bias"}
HEAD |= {"mlm_head/transform/kernel"}
LAYER = {
    f"{block}/{name}/{kind}"
    for block, names in (("attention", ("query", "key", "value", "output")), ("mlp", ("intermediate", "output")))
    for name in names
    for kind in ("kernel", "bias")
} | {f"{norm}/{kind}" for norm in ("attention_norm", "mlp_norm") for kind in ("scale", "bias")}


def trainable_paths(config) -> tuple[set[str], set[str]]:
    """(trainable, all) "/"-joined parameter paths of the run's model, from its abstract parameters."""
    model_config = config.model.copy_and_resolve_references()
    with model_config.unlocked():
        model_config.head = head_of(config.objective)
    setup = model_setup.build(model_config, 0, config.seed, config.peft)
    abstract = traverse_util.unflatten_dict(peft.abstract_params(setup.model))
    rules = partition.trainable_rules(config.peft, abstract, setup.peft_plan)
    mask = traverse_util.flatten_dict(partition.trainable_mask(abstract, rules), sep="/")
    return {path for path, trainable in mask.items() if trainable}, set(mask)


@pytest.mark.parametrize(("arg", "layers"), [("", ()), (":unfreeze_top=2", (4, 5))])
def test_trains_the_mlm_head_and_the_top_layers_asked_for(arg, layers):
    config = load_config(CONFIG + arg)
    assert config.is_locked
    assert config.objective.name == "mlm" and head_of(config.objective) == "mlm"
    assert config.model.name_or_path == minilm_path() == config.data.tokenizer
    assert config.data.corpus_layout == "lines" and config.data.corpus_files and config.data.validation_files
    assert config.objective.mask_prob == 0.15 and config.objective.masking == "dynamic"
    assert config.peft.method == "head_only"

    trainable, every = trainable_paths(config)
    expected = HEAD | {f"encoder/layers_{i}/{name}" for i in layers for name in LAYER}
    assert trainable == expected
    # The decoder is the (frozen) word embeddings: the head has no decoder matrix of its own.
    assert "embeddings/word_embeddings/embedding" in every - trainable
    assert not any(path.startswith("mlm_head/decoder") for path in every)


def test_get_config_is_locked_and_checks_its_arguments():
    from importlib.util import module_from_spec, spec_from_file_location

    spec = spec_from_file_location("minilm_mlm_head_config", CONFIG)
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.get_config().is_locked
    assert module.get_config("unfreeze_top=6").peft.extra_trainable == r"encoder/layers_(0|1|2|3|4|5)/.*"
    with pytest.raises(ConfigError, match="unfreeze_top=7; all-MiniLM-L6-v2 has 6 layers"):
        load_config(CONFIG + ":unfreeze_top=7")
    with pytest.raises(ConfigError, match="masking='span'"):
        load_config(CONFIG + ":masking=span")
