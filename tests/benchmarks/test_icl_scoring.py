"""The in-context scoring benchmark's four sides compute the same option log-likelihoods (the script checks it
before timing, and fails otherwise); run here at a tiny size. Nothing here is timed."""

import pathlib

import numpy as np

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "icl_scoring.py"


def test_options_span_one_to_the_longest_token_count(bench):
    ids, mask = bench.make_options(vocab_size=50, classes=5, longest=3)
    assert mask.sum(-1).tolist() == [1, 2, 3, 1, 2] and np.all(ids[mask == 0] == 0)


def test_every_side_scores_the_same_on_a_tiny_model(bench):
    result = bench.main(["--layers=1", "--hidden=32", "--heads=2", "--vocab=64", "--reps=1", "--batch=2",
                         "--prompt-min=5", "--prompt-max=9", "--classes=3", "--warmup-rounds=0"])  # fmt: skip
    assert set(result["medians"]) == {"plmjax, prefix cache", "plmjax, full", "transformers, prefix cache",
                                      "transformers, full"}  # fmt: skip
