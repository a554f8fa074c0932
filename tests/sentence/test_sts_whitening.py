"""STS evaluation and BERT-whitening: SentEval's files read as SentEval reads them (pairs without a gold score
dropped, whitespace normalised), the "all" and "mean" aggregates; whitening equals Su et al.'s code (ported
below) and makes the covariance the identity; the anisotropy diagnostics against direct computations."""

import numpy as np
import pytest
from scipy import stats

from plmjax.data.errors import MalformedRowError
from plmjax.sentence import anisotropy, sts
from plmjax.sentence.whitening import apply_whitening, fit_whitening


def test_sts_files_are_read_as_senteval_reads_them(tmp_path):
    folder = tmp_path / "STS12-en-test"
    folder.mkdir()
    (folder / "STS.input.MSRpar.txt").write_text("a  cat\ta dog\nno  gold\there\nthe sun\tthe moon\n")
    (folder / "STS.gs.MSRpar.txt").write_text("4.0\n\n1.5\n")
    first, second, gold = sts.read_sts_subset(str(folder), "MSRpar")
    assert first == ["a cat", "the sun"] and second == ["a dog", "the moon"] and gold.tolist() == [4.0, 1.5]
    (folder / "STS.input.bad.txt").write_text("one sentence only\n")
    (folder / "STS.gs.bad.txt").write_text("2.0\n")
    with pytest.raises(MalformedRowError, match=r"STS.input.bad.txt:1: expected two tab-separated"):
        sts.read_sts_subset(str(folder), "bad")
    sick = tmp_path / "SICK_test_annotated.txt"
    sick.write_text(
        "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n6\tA b\tC d\t3.3\tNEUTRAL\n"
    )
    assert sts.read_sick(str(sick)) == (["A b"], ["C d"], pytest.approx(np.array([3.3])))


def test_all_is_one_spearman_over_the_subsets_and_mean_their_average():
    rng = np.random.default_rng(0)
    subsets, vectors = {}, {}
    for name, n in (("x", 30), ("y", 50)):
        first, second = [f"{name}a{i}" for i in range(n)], [f"{name}b{i}" for i in range(n)]
        for s in first + second:
            vectors[s] = rng.normal(size=8)
        subsets[name] = (first, second, rng.uniform(0, 5, n))
    result = sts.sts_scores(lambda texts: np.stack([vectors[t] for t in texts]), subsets)
    each = {}
    for name, (first, second, gold) in subsets.items():
        similarity = [sts.cosine(vectors[a], vectors[b]) for a, b in zip(first, second, strict=True)]
        each[name] = stats.spearmanr(similarity, gold).statistic
        assert result[name] == pytest.approx(each[name])
    all_similarity = [
        sts.cosine(vectors[a], vectors[b]) for f, s, _ in subsets.values() for a, b in zip(f, s, strict=True)
    ]
    all_gold = np.concatenate([g for _, _, g in subsets.values()])
    assert result["all"] == pytest.approx(stats.spearmanr(all_similarity, all_gold).statistic)
    assert result["mean"] == pytest.approx(np.mean(list(each.values())))


def su_compute_kernel_bias(vecs, n_components):
    """bojone/BERT-whitening: compute_kernel_bias."""
    mu = vecs.mean(axis=0, keepdims=True)
    cov = np.cov(vecs.T)
    u, s, vh = np.linalg.svd(cov)
    W = np.dot(u, np.diag(1 / np.sqrt(s)))  # noqa: N806 (their name)
    return W[:, :n_components], -mu


def su_transform_and_normalize(vecs, kernel, bias):
    vecs = (vecs + bias).dot(kernel)
    return vecs / (vecs**2).sum(axis=1, keepdims=True) ** 0.5


def test_whitening_equals_su_et_al_and_whitens():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6)) + 3.0  # correlated, off-centre: anisotropic
    mean, kernel = fit_whitening(x, k=4)
    su_kernel, su_bias = su_compute_kernel_bias(x, 4)
    np.testing.assert_allclose(
        apply_whitening(x, mean, kernel), su_transform_and_normalize(x, su_kernel, su_bias), atol=1e-12
    )
    full_mean, full_kernel = fit_whitening(x)
    whitened = apply_whitening(x, full_mean, full_kernel, normalize=False)
    np.testing.assert_allclose(np.cov(whitened.T), np.eye(6), atol=1e-9)
    assert anisotropy.average_random_cosine(x) > 0.5 > 0.1 > abs(anisotropy.average_random_cosine(whitened))
    with pytest.raises(ValueError, match=r"k=7 must be in \[1, 6\]"):
        fit_whitening(x, k=7)
    with pytest.raises(ValueError, match=r"whitening to 6 dimensions needs more than 6 embeddings .* got 5"):
        fit_whitening(x[:5])
    fit_whitening(x[:5], k=4)  # 5 embeddings span 4 directions: enough for k = 4


def test_anisotropy_diagnostics_against_direct_computations():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5, 3))
    pairs = [(i, j) for i in range(5) for j in range(5) if i != j]
    direct = np.mean([sts.cosine(x[i], x[j]) for i, j in pairs])
    assert anisotropy.average_random_cosine(x, pairs=200_000) == pytest.approx(direct, abs=0.01)
    values = np.linalg.svd(x - x.mean(0), compute_uv=False)
    np.testing.assert_allclose(anisotropy.spectrum(x), values / values.sum())
