"""Survival analysis helpers: Kaplan-Meier, log-rank test, risk groups, survival metrics and a survival selector.

* :func:`kaplan_meier` (product-limit estimate with Greenwood standard errors and log(-log) 95% CIs).
* :func:`logrank_test` (Mantel-Haenszel log-rank test over k groups, chi-square with k-1 df).
* :func:`risk_groups`: split a predicted risk at its median (or given quantiles) into labelled groups.
* :func:`survival_metrics`: Harrell's C, Uno's C (IPCW, Uno et al. 2011), mean time-dependent AUC (cumulative/dynamic)
  and integrated Brier score, via scikit-survival.
* :class:`SurvivalKBest`: keep the k features whose univariate Harrell's C is farthest from 0.5 (fitted on the
  training folds, so it can sit in a pipeline inside cross-validation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["SurvivalKBest", "kaplan_meier", "logrank_test", "risk_groups", "survival_metrics", "to_structured"]


def to_structured(time, event) -> np.ndarray:
    """scikit-survival's structured outcome array (``event`` bool, ``time`` float)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    out = np.empty(time.size, dtype=[("event", bool), ("time", float)])
    out["event"], out["time"] = event, time
    return out


def kaplan_meier(time, event) -> pd.DataFrame:
    """Kaplan-Meier estimate: one row per distinct time with ``time, n_at_risk, n_events, n_censored, survival,
    se, ci_low, ci_high`` (Greenwood SE; log(-log) CI). A first row at time 0 with survival 1 is included."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event).astype(bool)
    if t.size == 0:
        raise ValueError("kaplan_meier: no observations")
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ValueError("kaplan_meier: times must be finite and non-negative")
    ut = np.unique(t)
    d = np.array([np.sum(e & (t == u)) for u in ut])
    c = np.array([np.sum(~e & (t == u)) for u in ut])
    n = np.array([np.sum(t >= u) for u in ut])
    s = np.cumprod(1 - d / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        green = np.cumsum(np.where(n > d, d / (n * np.maximum(n - d, 1)), 0.0))
        se = s * np.sqrt(green)
        z = stats.norm.ppf(0.975)
        ll = np.log(-np.log(s))
        w = z * np.sqrt(green) / np.abs(np.log(s))
        lo = np.exp(-np.exp(ll + w))
        hi = np.exp(-np.exp(ll - w))
    lo = np.where(s > 0, np.where(np.isfinite(lo), lo, s), 0.0)
    hi = np.where(s > 0, np.where(np.isfinite(hi), hi, s), 0.0)
    rows = pd.DataFrame({"time": ut, "n_at_risk": n, "n_events": d, "n_censored": c, "survival": s, "se": se,
                         "ci_low": lo, "ci_high": hi})
    first = pd.DataFrame({"time": [0.0], "n_at_risk": [t.size], "n_events": [0], "n_censored": [0],
                          "survival": [1.0], "se": [0.0], "ci_low": [1.0], "ci_high": [1.0]})
    return pd.concat([first, rows[rows["time"] > 0]], ignore_index=True) if ut[0] > 0 else rows


def logrank_test(time, event, groups) -> dict:
    """Log-rank test that the survival curves of the ``groups`` are equal.

    Returns ``{"statistic", "df", "p_value", "observed", "expected"}`` (observed/expected events per group, in the
    order of ``np.unique(groups)``). Uses the hypergeometric variance (Mantel-Haenszel), chi-square with k-1 df.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event).astype(bool)
    g = np.asarray(groups)
    labels, gi = np.unique(g, return_inverse=True)
    k = labels.size
    if k < 2:
        raise ValueError("logrank_test needs at least two groups")
    O, E = np.zeros(k), np.zeros(k)
    V = np.zeros((k, k))
    for u in np.unique(t[e]):
        at_risk = t >= u
        n_j = np.bincount(gi[at_risk], minlength=k).astype(float)
        d_j = np.bincount(gi[e & (t == u)], minlength=k).astype(float)
        n, d = n_j.sum(), d_j.sum()
        O += d_j
        E += d * n_j / n
        if n > 1:
            f = d * (n - d) / (n * n * (n - 1))
            V += f * (np.diag(n_j * n) - np.outer(n_j, n_j))
    diff = (O - E)[:-1]
    Vr = V[:-1, :-1]
    stat = float(diff @ np.linalg.pinv(Vr) @ diff)
    return {"statistic": stat, "df": k - 1, "p_value": float(stats.chi2.sf(stat, k - 1)),
            "groups": labels.tolist(), "observed": O.tolist(), "expected": E.tolist()}


def risk_groups(risk, quantiles=(0.5,), labels=None) -> np.ndarray:
    """Label each case by its predicted risk: cut at the given quantiles of ``risk`` (default: the median ->
    ``"low"``/``"high"``; otherwise ``"g1"`` .. ``"gk"`` from lowest to highest risk)."""
    r = np.asarray(risk, dtype=float)
    cuts = np.quantile(r, quantiles)
    idx = np.searchsorted(cuts, r, side="right")
    if labels is None:
        labels = ["low", "high"] if len(quantiles) == 1 else [f"g{i + 1}" for i in range(len(quantiles) + 1)]
    return np.asarray(labels, dtype=object)[idx]


def survival_metrics(time, event, risk, surv=None, times=None, train=None) -> dict[str, float]:
    """Harrell's C, Uno's C, mean time-dependent AUC and integrated Brier score (``surv``: survival probabilities at
    ``times``, shape (n, len(times)); IBS NaN when not given). ``train``: the structured outcome used for the censoring
    distribution (default: these data). Times beyond the follow-up of these data are dropped (a ValueError when none
    is left)."""
    from sksurv.metrics import (
        concordance_index_censored,
        concordance_index_ipcw,
        cumulative_dynamic_auc,
        integrated_brier_score,
    )

    y = to_structured(time, event)
    risk = np.asarray(risk, dtype=float)
    if y["event"].sum() == 0:
        raise ValueError("survival metrics need at least one event")
    ytr = y if train is None else train
    harrell = concordance_index_censored(y["event"], y["time"], risk)[0]
    out = {"c_index": float(harrell), "uno_c_index": float("nan"), "td_auc": float("nan"),
           "integrated_brier": float("nan")}
    if times is None:
        return out
    times = np.asarray(times, dtype=float)
    keep = (times < y["time"].max()) & (times >= y["time"].min()) & (times < ytr["time"].max())
    if keep.sum() < 2:
        raise ValueError("survival metrics: fewer than two evaluation times lie within the follow-up")
    tk = times[keep]
    out["uno_c_index"] = float(concordance_index_ipcw(ytr, y, risk, tau=tk.max())[0])
    out["td_auc"] = float(cumulative_dynamic_auc(ytr, y, risk, tk)[1])
    if surv is not None:
        out["integrated_brier"] = float(integrated_brier_score(ytr, y, np.asarray(surv)[:, keep], tk))
    return out


def _harrell_per_feature(X, time, event):
    """Harrell's C of each column of X taken as a risk score (higher value = earlier event), vectorised."""
    t = np.asarray(time, float)
    e = np.asarray(event, bool)
    # comparable pairs (i, j): event at i and t_i < t_j
    i_idx, j_idx = np.nonzero(e[:, None] & (t[:, None] < t[None, :]))
    if i_idx.size == 0:
        return np.full(X.shape[1], 0.5)
    conc = np.zeros(X.shape[1])
    for lo in range(0, i_idx.size, 20000):
        a, b = X[i_idx[lo:lo + 20000]], X[j_idx[lo:lo + 20000]]
        conc += (a > b).sum(axis=0) + 0.5 * (a == b).sum(axis=0)
    return conc / i_idx.size


class SurvivalKBest(SelectorMixin, BaseEstimator):
    """Keep the ``k`` features with the largest |Harrell's C - 0.5| against a survival outcome (structured y)."""

    def __init__(self, k: int = 10):
        self.k = k

    def fit(self, X, y):
        X = validate_data(self, X, dtype=np.float64)
        y = np.asarray(y)
        if y.dtype.names is None or len(y.dtype.names) != 2:
            raise ValueError("SurvivalKBest needs a structured survival outcome (event, time)")
        ev, tm = y[y.dtype.names[0]], y[y.dtype.names[1]]
        self.scores_ = np.abs(_harrell_per_feature(X, tm, ev) - 0.5)
        k = min(int(self.k), X.shape[1])
        order = np.argsort(-self.scores_, kind="stable")[:k]
        self.support_ = np.zeros(X.shape[1], bool)
        self.support_[order] = True
        return self

    def _get_support_mask(self):
        check_is_fitted(self, "support_")
        return self.support_
