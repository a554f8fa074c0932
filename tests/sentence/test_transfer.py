"""The transfer probe: plmjax's logistic regression reaches scikit-learn's optimum (binary and multinomial, the
same objective), the folds are stratified, SentEval's two protocols pick C by CV on training rows only, and the
readers name the file and line of a bad row."""

import numpy as np
import pytest

from plmjax.data.errors import DataError, MalformedRowError
from plmjax.sentence import transfer
from plmjax.sentence.logistic import fit_logistic, predict, stratified_folds


def _data(num_classes, rows=240, dim=12, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, num_classes, rows)
    x = rng.normal(size=(rows, dim)).astype(np.float32)
    x[:, :3] += 0.8 * y[:, None]
    return x, y.astype(np.int32)


@pytest.mark.parametrize("num_classes", [2, 3])
@pytest.mark.parametrize("c", [0.25, 4.0])
def test_the_fit_reaches_scikit_learns_optimum(num_classes, c):
    """Against scikit-learn's newton-cg solved to 1e-12 in float64 (its default lbfgs stops at a gradient
    ~1e-5, less converged than this fit run to its 300 iterations)."""
    from sklearn.linear_model import LogisticRegression

    x, y = _data(num_classes)
    reference = LogisticRegression(C=c, tol=1e-12, max_iter=10_000, solver="newton-cg").fit(x.astype(np.float64), y)
    params = fit_logistic(x, y, np.ones((1, len(y)), np.float32), np.asarray([c], np.float32), num_classes,
                          tolerance=0.0)  # fmt: skip
    weights = np.asarray(params["w"][0])
    np.testing.assert_allclose(weights, reference.coef_.T, atol=1e-5)
    np.testing.assert_allclose(np.asarray(params["b"][0]), reference.intercept_, atol=1e-5)
    np.testing.assert_array_equal(predict(params, x)[0], reference.predict(x))


def test_a_fit_sees_only_its_masked_rows():
    x, y = _data(2)
    mask = (np.arange(len(y)) < 120).astype(np.float32)
    both = fit_logistic(x, y, np.stack([mask, mask]), np.asarray([1.0, 1.0], np.float32), 2)
    alone = fit_logistic(x[:120], y[:120], np.ones((1, 120), np.float32), np.asarray([1.0], np.float32), 2)
    np.testing.assert_allclose(np.asarray(both["w"][1]), np.asarray(alone["w"][0]), atol=1e-5)


def test_folds_are_stratified_and_seeded():
    y = np.asarray([0] * 30 + [1] * 20 + [2] * 10)
    folds = stratified_folds(y, 10, seed=1)
    for fold in range(10):
        np.testing.assert_array_equal(np.bincount(y[folds == fold], minlength=3), [3, 2, 1])
    np.testing.assert_array_equal(folds, stratified_folds(y, 10, seed=1))
    assert not np.array_equal(folds, stratified_folds(y, 10, seed=2))


def test_the_protocols_score_the_held_out_rows():
    x, y = _data(3, rows=300)
    split = transfer.split_accuracy(x[:200], y[:200], x[200:], y[200:], k=5)
    assert split["C"] in transfer.C_GRID and 0.5 < split["test"] <= 1.0
    c = np.float32(split["C"])
    refit = fit_logistic(x[:200], y[:200], np.ones((1, 200), np.float32), np.asarray([c]), 3)
    assert split["test"] == pytest.approx(np.mean(predict(refit, x[200:])[0] == y[200:]))
    cv = transfer.cv_accuracy(x, y, k=5)
    assert 0.5 < cv["test"] <= 1.0 and 0.5 < cv["dev"] <= 1.0
    noise = transfer.cv_accuracy(np.random.default_rng(3).normal(size=(300, 12)).astype(np.float32), y, k=5)
    assert noise["test"] < 0.45  # three balanced classes, features unrelated to them


def test_readers_name_a_bad_rows_file_and_line(tmp_path):
    trec = tmp_path / "TREC.train.all"
    trec.write_text("0 How far is it ?\nWhat is this ?\n")
    with pytest.raises(MalformedRowError, match=r"TREC.train.all:2: expected a label"):
        transfer.read_trec(str(trec))
    mrpc = tmp_path / "msr.txt"
    mrpc.write_text("\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\ta\tb\nyes\t1\t2\ta\tb\n")
    with pytest.raises(MalformedRowError, match=r"msr.txt:3: expected Quality"):
        transfer.read_mrpc(str(mrpc))
    with pytest.raises(DataError, match="custrev.neg does not exist"):
        transfer.read_cv_task(str(tmp_path), "CR")
