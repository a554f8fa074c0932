"""The (regex, label) rule engine: first match wins, every parameter matched, every rule used."""

import jax
import pytest
from flax import traverse_util

from plmjax import peft
from plmjax.models import EncoderModel, preset
from plmjax.models.init import abstract_params
from plmjax.peft.summary import counts

CONFIG = preset("bert-base", vocab_size=50, hidden_size=16, num_layers=2, num_heads=2, intermediate_size=24)


@pytest.fixture(scope="module")
def params():
    return abstract_params(EncoderModel(CONFIG, head="classification", num_labels=3))


def flat(tree):
    return {"/".join(p): v for p, v in traverse_util.flatten_dict(tree).items()}


def test_first_matching_rule_wins(params):
    rules = [(r".*/query/kernel", "trainable"), (r".*/kernel", "frozen"), (r".*", "trainable")]
    labels = flat(peft.labels(params, rules))
    assert labels["encoder/layers_1/attention/query/kernel"] == "trainable"
    assert labels["encoder/layers_1/attention/key/kernel"] == "frozen"
    assert labels["classifier/out/kernel"] == "frozen"
    assert labels["encoder/layers_1/attention/key/bias"] == "trainable"


def test_regex_must_match_the_whole_path(params):
    with pytest.raises(peft.RuleError, match=r"'query' -> trainable"):
        peft.labels(params, [("query", "trainable"), (".*", "frozen")])


def test_unmatched_parameters_are_named(params):
    with pytest.raises(peft.RuleError, match=r"parameters match no rule.*\n  classifier/out/bias"):
        peft.mask(params, [(r"(embeddings|encoder|pooler)/.*", "trainable")])


def test_rule_matching_nothing_is_an_error_unless_allowed(params):
    rules = [(r".*/qurey/kernel", "trainable"), (".*", "frozen")]
    with pytest.raises(peft.RuleError, match=r"match no parameter.*\n  '.\*/qurey/kernel' -> trainable"):
        peft.mask(params, rules)
    shadowed = [(".*", "frozen"), (r".*/bias", "trainable")]
    with pytest.raises(peft.RuleError, match="shadowed"):
        peft.labels(params, shadowed)
    assert not any(jax.tree.leaves(peft.mask(params, [(".*", "frozen"), ("x", "trainable")], allow_unused_rules=True)))


def test_invalid_regex_and_unknown_label_are_clear_errors(params):
    with pytest.raises(peft.RuleError, match=r"'\(unclosed' is not a valid regex"):
        peft.labels(params, [("(unclosed", "trainable")])
    with pytest.raises(
        peft.RuleError, match=r"no rule gives the label 'trainable'; labels in these rules: \['frozen'\]"
    ):
        peft.mask(params, [(".*", "frozen")])


def bitfit(params):
    """BitFit's biases without the task head's kernel."""
    return peft.selection_plan("bitfit", train_head=False).rules(params)


def test_bitfit_trains_exactly_the_biases(params):
    mask = flat(peft.mask(params, bitfit(params)))
    assert mask == {path: path.endswith("/bias") for path in flat(params)}


def test_head_only_trains_exactly_the_classifier(params):
    mask = flat(peft.mask(params, peft.selection_plan("head_only").rules(params)))
    assert {p for p, m in mask.items() if m} == {"classifier/out/kernel", "classifier/out/bias"}


def test_summary_counts_per_group_and_total(params):
    sizes = {p: v.size for p, v in flat(params).items()}
    rows = counts(params, peft.mask(params, bitfit(params)))
    assert rows["total"] == (sum(s for p, s in sizes.items() if p.endswith("/bias")), sum(sizes.values()))
    # Layers group together: query/key/value/output biases of both layers, 16 each.
    assert rows["encoder/layers_*/attention"] == (2 * 4 * 16, 2 * 4 * (16 * 16 + 16))
    table = peft.summary(params, bitfit(params))
    assert "encoder/layers_*/attention" in table and table.splitlines()[-1].startswith("total")


def test_explain_lists_each_rule_with_counts(params):
    text = peft.explain(params, [(r".*/bias", "trainable"), (r".*/nothing", "trainable"), (".*", "frozen")])
    lines = text.splitlines()
    assert "(matches nothing)" in lines[2]
    bias_count = sum(1 for p in flat(params) if p.endswith("/bias"))
    assert lines[1].split()[3] == str(bias_count)
