"""benchmarks/prompt_step.py: its plmjax prompt step runs the prompt objective's arithmetic (a fresh model's
loss is the two-class cross-entropy near ln 2) and its classification step the classifier's."""

import math
import pathlib

from plmjax.models import preset

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "prompt_step.py"
TINY = dict(num_layers=2, hidden_size=32, num_heads=2, intermediate_size=64)


def test_the_prompt_and_classification_steps_train_from_a_two_class_loss(bench):
    config = preset("bert-base", **TINY)
    batch = bench.make_batch(config.vocab_size, batch=4, seq=16)
    for prompt in (True, False):
        runner = bench.plmjax_runner(config, batch, prompt=prompt)
        runner.step()
        assert abs(runner.loss - math.log(2)) < 0.1, (prompt, runner.loss)
        runner.step()
        assert math.isfinite(runner.loss)
