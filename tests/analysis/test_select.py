"""Selection and reduction estimators: each one must find planted structure, and not find it in noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from radiomix.analysis import (
    MRMR,
    CorrelationClusters,
    ICAReduction,
    NearZeroVariance,
    PCAReduction,
    RFESelector,
    SparseSelector,
    StabilitySelection,
    UnivariateFDR,
    benjamini_hochberg,
)


def planted(seed=0, n=120, p=30, informative=(0, 1, 2), task="classification"):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    signal = X[:, list(informative)] @ np.array([1.5, -1.2, 1.0][: len(informative)])
    y = (signal + 0.5 * rng.normal(size=n) > 0).astype(int) if task == "classification" \
        else signal + 0.5 * rng.normal(size=n)
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(p)]), y


def test_near_zero_variance():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"ok": rng.normal(size=100), "const": 1.0, "rare": [0.0] * 98 + [1.0, 2.0],
                      "binary": rng.integers(0, 2, 100).astype(float)})
    sel = NearZeroVariance().fit(X)
    assert list(sel.get_feature_names_out()) == ["ok", "binary"]
    assert list(NearZeroVariance(freq_cut=None).fit(X).get_feature_names_out()) == ["ok", "rare", "binary"]


def test_benjamini_hochberg_by_hand_and_statsmodels():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.5, np.nan])
    # sorted: .005 .01 .03 .04 .5 -> *5/rank: .025 .025 .05 .05 .5 -> cumulative min from the top
    np.testing.assert_allclose(benjamini_hochberg(p)[:5], [0.025, 0.05, 0.05, 0.025, 0.5])
    assert np.isnan(benjamini_hochberg(p)[5])
    sm = pytest.importorskip("statsmodels.stats.multitest")
    q = np.random.default_rng(1).uniform(size=200) ** 3
    np.testing.assert_allclose(benjamini_hochberg(q), sm.multipletests(q, method="fdr_bh")[1], rtol=1e-12)


@pytest.mark.parametrize("test", ["auto", "ttest", "anova"])
def test_univariate_fdr_finds_planted(test):
    X, y = planted()
    sel = UnivariateFDR(alpha=0.05, test=test).fit(X, y)
    assert set(sel.get_feature_names_out()) == {"f0", "f1", "f2"}
    assert (sel.qvalues_ >= sel.pvalues_ - 1e-15).all()


def test_univariate_fdr_noise_and_regression():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(100, 200))
    y = rng.integers(0, 2, 100)
    assert UnivariateFDR(alpha=0.05).fit(X, y).get_support().sum() <= 1
    Xr, yr = planted(task="regression")
    assert set(UnivariateFDR(test="spearman").fit(Xr, yr).get_feature_names_out()) == {"f0", "f1", "f2"}


def test_correlation_clusters_keeps_one_per_cluster():
    rng = np.random.default_rng(0)
    n = 200
    base = rng.normal(size=(n, 3))
    y = (base[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(int)
    cols = {}
    for c in range(3):  # 3 clusters of 3 near-copies; within cluster 0, copy 2 is the least noisy
        for j, sd in enumerate([0.3, 0.2, 0.05]):
            cols[f"c{c}_{j}"] = base[:, c] + sd * rng.normal(size=n)
    cols["lonely"] = rng.normal(size=n)
    X = pd.DataFrame(cols)
    sel = CorrelationClusters(threshold=0.8, keep="relevance").fit(X, y)
    kept = list(sel.get_feature_names_out())
    assert len(kept) == 4 and "lonely" in kept
    assert "c0_2" in kept  # the most relevant member of the y-related cluster
    assert len(set(sel.labels_[:3])) == 1 and sel.labels_[0] != sel.labels_[3]
    robust = {c: 0.5 for c in X.columns} | {"c1_0": 0.99}
    kept_r = CorrelationClusters(threshold=0.8, keep="robustness", robustness=robust).fit(X).get_feature_names_out()
    assert "c1_0" in kept_r and len(kept_r) == 4
    with pytest.raises(ValueError, match="needs y"):
        CorrelationClusters().fit(X)


def test_mrmr_avoids_redundant_copies():
    X, y = planted(seed=2, n=300)
    X["f0_copy"] = X.f0 + 1e-3 * np.random.default_rng(0).normal(size=len(X))
    sel = MRMR(n_features=3).fit(X, y)
    kept = set(sel.get_feature_names_out())
    assert kept == {"f0", "f1", "f2"} or kept == {"f0_copy", "f1", "f2"}
    # relevance alone would take both copies of f0
    top2 = set(X.columns[np.argsort(sel.relevance_)[::-1][:2]])
    assert top2 == {"f0", "f0_copy"}
    assert MRMR(n_features=3, scheme="MIQ").fit(X, y).get_support().sum() == 3


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_sparse_selector_recovers_support(task):
    X, y = planted(seed=3, n=200, task=task)
    sel = SparseSelector(alpha=0.1 if task == "regression" else 20.0, random_state=0).fit(X, y)
    kept = set(sel.get_feature_names_out())
    assert {"f0", "f1", "f2"} <= kept and len(kept) <= 6
    cv = SparseSelector(random_state=0, cv=3).fit(X, y)
    assert {"f0", "f1", "f2"} <= set(cv.get_feature_names_out())
    en = SparseSelector(alpha=0.1 if task == "regression" else 20.0, penalty="elasticnet", random_state=0).fit(X, y)
    assert en.get_support().sum() >= sel.get_support().sum() - 1


def test_stability_selection():
    X, y = planted(seed=4, n=200, task="regression")
    sel = StabilitySelection(alphas=(0.1, 0.2), n_resamples=30, threshold=0.8, random_state=0).fit(X, y)
    assert set(sel.get_feature_names_out()) == {"f0", "f1", "f2"}
    assert sel.stability_scores_.shape == (30, 2)
    assert sel.scores_[3:].max() < 0.8 and sel.expected_false_selections_ > 0
    Xc, yc = planted(seed=4, n=200)
    selc = StabilitySelection(alphas=(10.0,), n_resamples=20, threshold=0.8, random_state=0).fit(Xc, yc)
    assert {"f0", "f1"} <= set(selc.get_feature_names_out())


def test_rfe_selector():
    X, y = planted(seed=6, n=200)
    sel = RFESelector(n_features_to_select=3, step=3).fit(X, y)
    assert set(sel.get_feature_names_out()) == {"f0", "f1", "f2"}
    assert sel.ranking_.min() == 1


def test_pca_and_ica():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 6)) * np.array([1, 10, 100, 1, 1, 1000])
    red = PCAReduction(n_components=3).fit(X)
    ref = PCA(n_components=3, svd_solver="full").fit(StandardScaler().fit_transform(X))
    np.testing.assert_allclose(np.abs(red.transform(X)), np.abs(ref.transform(StandardScaler().fit_transform(X))),
                               atol=1e-10)
    assert list(red.get_feature_names_out()) == ["pca0", "pca1", "pca2"]
    assert not hasattr(red, "get_support")
    # ICA unmixes two independent non-Gaussian sources mixed into 4 features
    s = np.c_[np.sign(np.sin(np.linspace(0, 40, 500))), rng.uniform(-1, 1, 500)]
    mixed = s @ rng.normal(size=(2, 4))
    comp = ICAReduction(n_components=2, random_state=0).fit_transform(mixed)
    corr = np.abs(np.corrcoef(comp.T, s.T)[:2, 2:])
    assert corr.max(axis=0).min() > 0.99
