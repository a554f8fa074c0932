"""configs/lmbff.py follows LM-BFF's run_experiment.sh where it sets something: demonstrations are scored over 16
drawn sets at evaluation (4 for its tasks with large test sets), and no method without demonstrations draws any."""

import os

import pytest

from plmjax.train.config_files import load_config

CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "lmbff.py")


@pytest.mark.parametrize("task, sets", [("mr", 16), ("trec", 16), ("rte", 16), ("snli", 4), ("mnli", 4), ("qqp", 4)])
def test_demonstrations_are_scored_over_lmbffs_number_of_sets(task, sets):
    config = load_config(f"{CONFIG}:task={task},method=prompt_demos")
    assert config.objective.prompt.demonstrations == "similar"
    assert config.objective.prompt.demonstration_sets == sets
    assert config.data.max_length == 256  # LM-BFF doubles the length with demonstrations


@pytest.mark.parametrize("method", ["prompt", "auto_words", "lora", "prompt_tuning"])
def test_methods_without_demonstrations_draw_none(method):
    config = load_config(f"{CONFIG}:task=mr,method={method}")
    assert not config.objective.prompt.demonstrations and config.objective.prompt.demonstration_sets == 1
