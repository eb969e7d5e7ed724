"""Metrics of outcome models: DeLong (hand-computed example), AUC, calibration, net benefit, bootstrap, survival."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from radiomix.analysis.metrics import (
    auc,
    binary_metrics,
    bootstrap_metrics,
    calibration_slope_intercept,
    decision_curve,
    delong_ci,
    delong_test,
    multiclass_metrics,
    net_benefit,
    regression_metrics,
)
from radiomix.analysis.survival import (
    SurvivalKBest,
    _harrell_per_feature,
    kaplan_meier,
    logrank_test,
    risk_groups,
    survival_metrics,
)


def test_delong_hand_computed_example():
    # positives A: 0.9 0.6 0.4, negatives A: 0.5 0.2 -> AUC 5/6, V10 = (1, 1, 1/2), V01 = (2/3, 1)
    # positives B: 0.7 0.3 0.8, negatives B: 0.6 0.3 (a tie) -> AUC 3/4, V10 = (1, 1/4, 1), V01 = (2/3, 5/6)
    # S10 = [[1/12, -1/16], [-1/16, 3/16]] (m = 3), S01 = [[1/18, 1/36], [1/36, 1/72]] (n = 2)
    # var A = 1/36 + 1/36 = 1/18, var B = 1/16 + 1/144 = 5/72, cov = -1/48 + 1/72 = -1/144
    # var(A - B) = 1/18 + 5/72 + 2/144 = 5/36; z = (1/12) / sqrt(5/36) = 1 / (2 sqrt 5)
    y = np.array([1, 1, 1, 0, 0])
    a = np.array([0.9, 0.6, 0.4, 0.5, 0.2])
    b = np.array([0.7, 0.3, 0.8, 0.6, 0.3])
    d = delong_test(y, a, b)
    assert d["auc_a"] == pytest.approx(5 / 6)
    assert d["auc_b"] == pytest.approx(3 / 4)
    assert d["var_a"] == pytest.approx(1 / 18)
    assert d["var_b"] == pytest.approx(5 / 72)
    assert d["cov"] == pytest.approx(-1 / 144)
    assert d["se"] == pytest.approx(np.sqrt(5 / 36))
    assert d["z"] == pytest.approx(1 / (2 * np.sqrt(5)))
    assert d["p_value"] == pytest.approx(2 * stats.norm.sf(1 / (2 * np.sqrt(5))))
    assert d["p_value"] == pytest.approx(0.823063, abs=1e-6)


def _delong_bruteforce(y, a, b):
    """DeLong 1988 straight from the definition (double loop over positive/negative pairs)."""
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)

    def psi(x, z):
        return 1.0 if x > z else 0.5 if x == z else 0.0

    v10 = np.array([[np.mean([psi(s[i], s[j]) for j in neg]) for i in pos] for s in (a, b)])
    v01 = np.array([[np.mean([psi(s[i], s[j]) for i in pos]) for j in neg] for s in (a, b)])
    S = np.cov(v10) / len(pos) + np.cov(v01) / len(neg)
    return v10.mean(axis=1), S


def test_delong_matches_definition_on_random_data_with_ties():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60)
    a = np.round(y + rng.normal(0, 1, 60), 1)  # rounding makes ties
    b = np.round(0.5 * y + rng.normal(0, 1, 60), 1)
    aucs, S = _delong_bruteforce(y, a, b)
    d = delong_test(y, a, b)
    assert [d["auc_a"], d["auc_b"]] == pytest.approx(aucs)
    assert [d["var_a"], d["var_b"], d["cov"]] == pytest.approx([S[0, 0], S[1, 1], S[0, 1]])
    assert d["auc_a"] == pytest.approx(roc_auc_score(y, a))
    same = delong_test(y, a, a)
    assert same["p_value"] == 1.0 and same["difference"] == 0.0
    est, lo, hi = delong_ci(y, a)
    assert lo < est < hi and est == pytest.approx(d["auc_a"])


def test_auc_and_binary_metrics_by_hand():
    y = np.array([1, 1, 0, 0])
    p = np.array([0.9, 0.4, 0.6, 0.1])
    assert auc(y, p) == pytest.approx(0.75)
    assert np.isnan(auc([1, 1], [0.2, 0.3]))
    m = binary_metrics(y, p, threshold=0.5)
    assert m["sensitivity"] == 0.5 and m["specificity"] == 0.5 and m["balanced_accuracy"] == 0.5
    assert m["brier"] == pytest.approx((0.01 + 0.36 + 0.36 + 0.01) / 4)
    # TP = 1, FP = 1 of 4 at t = 0.5: 1/4 - 1/4 * 1 = 0
    assert net_benefit(y, p, 0.5) == pytest.approx(0.0)
    assert net_benefit(y, p, 0.2) == pytest.approx(2 / 4 - 1 / 4 * 0.25)
    dc = decision_curve(y, p, [0.2, 0.5])
    assert dc["treat_all"].tolist() == pytest.approx([0.5 - 0.5 * 0.25, 0.0])
    with pytest.raises(ValueError):
        net_benefit(y, p, 1.0)


def test_calibration_slope_and_intercept():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, 40_000)
    y = (rng.random(p.size) < p).astype(int)
    slope, intercept = calibration_slope_intercept(y, p)
    assert slope == pytest.approx(1.0, abs=0.05) and intercept == pytest.approx(0.0, abs=0.05)
    lp = np.log(p / (1 - p))
    over = 1 / (1 + np.exp(-2 * lp))  # over-confident predictions: slope 1/2
    assert calibration_slope_intercept(y, over)[0] == pytest.approx(0.5, abs=0.03)
    high = 1 / (1 + np.exp(-(lp + 1)))  # predictions too high: intercept -1
    assert calibration_slope_intercept(y, high)[1] == pytest.approx(-1.0, abs=0.05)
    assert np.isnan(calibration_slope_intercept([1, 1, 1], [0.2, 0.5, 0.7])[0])


def test_multiclass_and_regression_metrics():
    y = np.array(["a", "b", "c", "a"])
    P = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.3, 0.6, 0.1]])
    m = multiclass_metrics(y, P, ["a", "b", "c"])
    assert m["accuracy"] == 0.75 and m["balanced_accuracy"] == pytest.approx((0.5 + 1 + 1) / 3)
    assert m["auc"] == pytest.approx(roc_auc_score(y, P, multi_class="ovr"))
    r = regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    assert r["rmse"] == pytest.approx(np.sqrt(1 / 3)) and r["mae"] == pytest.approx(1 / 3)
    assert r["r2"] == pytest.approx(1 - 1 / 2)


def test_bootstrap_resamples_whole_patients_and_is_seeded():
    groups = np.repeat(np.arange(30), 2)  # two rows per patient
    seen = []

    def fn(idx):
        seen.append(idx)
        return {"mean": float(np.mean(idx))}

    a = bootstrap_metrics(fn, 60, groups=groups, n_boot=50, seed=1)
    for idx in seen[1:]:
        counts = np.bincount(idx, minlength=60)
        assert np.all(counts[0::2] == counts[1::2])  # both rows of a patient drawn together
    b = bootstrap_metrics(lambda i: {"mean": float(np.mean(i))}, 60, groups=groups, n_boot=50, seed=1)
    assert a == b
    lo, hi = a["mean"]["ci"]
    assert lo < a["mean"]["estimate"] < hi
    none = bootstrap_metrics(lambda i: {"mean": 1.0}, 5, n_boot=0)
    assert np.isnan(none["mean"]["ci"][0])


def test_kaplan_meier_by_hand_and_against_sksurv():
    km = kaplan_meier([1, 2, 2, 3, 4], [1, 1, 0, 1, 0])
    # S(1) = 4/5, S(2) = 4/5 * 3/4, S(3) = 0.6 * 1/2, S(4) = 0.3 (censored)
    assert km["survival"].tolist() == pytest.approx([1.0, 0.8, 0.6, 0.3, 0.3])
    assert km["n_at_risk"].tolist() == [5, 5, 4, 2, 1]
    from sksurv.nonparametric import kaplan_meier_estimator

    rng = np.random.default_rng(1)
    t = np.round(rng.exponential(5, 80), 1)
    e = rng.random(80) < 0.7
    km = kaplan_meier(t, e)
    tt, ss = kaplan_meier_estimator(e, t)
    assert km.set_index("time").loc[tt, "survival"].to_numpy() == pytest.approx(ss)
    assert np.all(km["ci_low"] <= km["survival"] + 1e-12) and np.all(km["ci_high"] >= km["survival"] - 1e-12)


def test_logrank_against_sksurv_and_risk_groups():
    from sksurv.compare import compare_survival

    from radiomix.analysis.survival import to_structured

    rng = np.random.default_rng(2)
    g = np.repeat(["a", "b", "c"], 40)
    t = np.round(rng.exponential(np.repeat([5.0, 8.0, 12.0], 40)), 1)
    e = rng.random(120) < 0.8
    ours = logrank_test(t, e, g)
    chi2, p = compare_survival(to_structured(t, e), g)
    assert ours["statistic"] == pytest.approx(chi2) and ours["p_value"] == pytest.approx(p)
    assert ours["df"] == 2 and sum(ours["observed"]) == e.sum()
    assert sorted(set(risk_groups([1, 2, 3, 4]))) == ["high", "low"]
    with pytest.raises(ValueError):
        logrank_test(t, e, np.zeros(120))


def test_survival_metrics_and_kbest():
    from sksurv.metrics import concordance_index_censored

    rng = np.random.default_rng(4)
    X = rng.normal(size=(150, 6))
    t = rng.exponential(1 / np.exp(1.5 * X[:, 0]))
    e = rng.random(150) < 0.8
    c = _harrell_per_feature(X, t, e)
    assert c[0] == pytest.approx(concordance_index_censored(e, t, X[:, 0])[0])
    m = survival_metrics(t, e, X[:, 0], times=np.quantile(t[e], [0.2, 0.5, 0.7]))
    assert 0.7 < m["c_index"] < 0.95 and 0.7 < m["uno_c_index"] < 0.95 and 0.7 < m["td_auc"] < 1
    from radiomix.analysis.survival import to_structured

    sel = SurvivalKBest(k=1).fit(pd.DataFrame(X), to_structured(t, e))
    assert sel.get_support().tolist() == [True] + [False] * 5
