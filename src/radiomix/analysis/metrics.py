r"""Performance metrics of outcome models, with patient-level (cluster) bootstrap confidence intervals.

* Discrimination: :func:`auc` (Mann-Whitney), :func:`delong_test` (DeLong, DeLong & Clarke-Pearson 1988, computed
  with the fast algorithm of Sun & Xu 2014).
* Classification at a threshold: sensitivity, specificity, balanced accuracy.
* Calibration: Brier score, :func:`calibration_slope_intercept` (Cox 1958: logistic recalibration of the outcome on
  the logit of the predicted probability; the intercept is calibration-in-the-large with the slope fixed at 1).
* Clinical usefulness: :func:`net_benefit` and :func:`decision_curve` (Vickers & Elkin 2006).
* :func:`bootstrap_metrics`: percentile CIs, resampling *patients* (all rows of one patient together) so that lesions
  or time points of one patient count once.

Degenerate inputs (one class only in a resample or in the data) give NaN for the metrics that need both classes; the
bootstrap drops such resamples and reports how many it kept.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "auc",
    "binary_metrics",
    "bootstrap_metrics",
    "calibration_slope_intercept",
    "decision_curve",
    "delong_test",
    "multiclass_metrics",
    "net_benefit",
    "regression_metrics",
]


def auc(y_true, y_score) -> float:
    """Area under the ROC curve as the Mann-Whitney statistic (ties count one half); NaN with one class only."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(y_score, dtype=float)
    n1 = int(y.sum())
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = stats.rankdata(s)
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


# --------------------------------------------------------------------------------------------------------------------
# DeLong


def _midrank(x: np.ndarray) -> np.ndarray:
    return stats.rankdata(x, method="average")


def _delong_components(y, scores):
    """Sun & Xu (2014): AUCs and structural components V10 (positives) and V01 (negatives) of k score vectors."""
    y = np.asarray(y).astype(bool)
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    pos, neg = scores[:, y], scores[:, ~y]
    m, n = pos.shape[1], neg.shape[1]
    if m == 0 or n == 0:
        raise ValueError("DeLong test needs both classes in y_true")
    k = scores.shape[0]
    aucs, v10, v01 = np.empty(k), np.empty((k, m)), np.empty((k, n))
    for r in range(k):
        tx, ty = _midrank(pos[r]), _midrank(neg[r])
        tz = _midrank(np.concatenate([pos[r], neg[r]]))
        aucs[r] = (tz[:m].sum() - m * (m + 1) / 2) / (m * n)
        v10[r] = (tz[:m] - tx) / n          # share of negatives below each positive (ties one half)
        v01[r] = 1.0 - (tz[m:] - ty) / m    # share of positives above each negative
    return aucs, v10, v01, m, n


def delong_test(y_true, score_a, score_b) -> dict:
    """DeLong test of two correlated AUCs measured on the same cases.

    Returns ``{"auc_a", "auc_b", "difference", "se", "z", "p_value", "var_a", "var_b", "cov"}``; the covariance
    matrix of the AUCs is ``S10/m + S01/n`` with S10, S01 the sample covariances of the structural components.
    ``p_value`` is two-sided. Identical scores give difference 0, se 0 and p-value 1.
    """
    aucs, v10, v01, m, n = _delong_components(y_true, np.vstack([score_a, score_b]))
    s = np.cov(v10) / m + np.cov(v01) / n
    diff = aucs[0] - aucs[1]
    var = s[0, 0] + s[1, 1] - 2 * s[0, 1]
    se = float(np.sqrt(max(var, 0.0)))
    if se == 0:
        z, p = 0.0, 1.0
    else:
        z = diff / se
        p = float(2 * stats.norm.sf(abs(z)))
    return {"auc_a": float(aucs[0]), "auc_b": float(aucs[1]), "difference": float(diff), "se": se, "z": float(z),
            "p_value": p, "var_a": float(s[0, 0]), "var_b": float(s[1, 1]), "cov": float(s[0, 1])}


def delong_ci(y_true, y_score, alpha: float = 0.05) -> tuple[float, float, float]:
    """AUC with its DeLong (asymptotic normal) CI, clipped to [0, 1]."""
    aucs, v10, v01, m, n = _delong_components(y_true, np.asarray(y_score, float)[None, :])
    se = np.sqrt(np.var(v10[0], ddof=1) / m + np.var(v01[0], ddof=1) / n)
    z = stats.norm.ppf(1 - alpha / 2)
    return float(aucs[0]), float(max(0.0, aucs[0] - z * se)), float(min(1.0, aucs[0] + z * se))


# --------------------------------------------------------------------------------------------------------------------
# calibration and decision curves


def _logit(p):
    p = np.clip(np.asarray(p, dtype=float), 1e-8, 1 - 1e-8)
    return np.log(p / (1 - p))


def _logistic_fit(X, y, offset=None, max_iter=50):
    """Unpenalised logistic regression by Newton-Raphson; returns coefficients or NaN when it does not converge."""
    beta = np.zeros(X.shape[1])
    off = np.zeros(len(y)) if offset is None else offset
    for _ in range(max_iter):
        eta = np.clip(X @ beta + off, -30, 30)
        p = 1 / (1 + np.exp(-eta))
        w = p * (1 - p)
        H = X.T @ (X * w[:, None])
        g = X.T @ (y - p)
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            return np.full(X.shape[1], np.nan)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            return beta
    return beta if np.all(np.isfinite(beta)) and np.max(np.abs(beta)) < 1e6 else np.full(X.shape[1], np.nan)


def calibration_slope_intercept(y_true, y_prob) -> tuple[float, float]:
    """Calibration slope (logistic regression of y on logit(p)) and calibration-in-the-large intercept (logit(p) as
    an offset, slope fixed at 1). Perfect calibration: slope 1, intercept 0. NaN with one class (or separation)."""
    y = np.asarray(y_true, dtype=float)
    if y.min() == y.max():
        return float("nan"), float("nan")
    lp = _logit(y_prob)
    slope = _logistic_fit(np.column_stack([np.ones_like(lp), lp]), y)[1]
    intercept = _logistic_fit(np.ones((len(y), 1)), y, offset=lp)[0]
    return float(slope), float(intercept)


def net_benefit(y_true, y_prob, threshold: float) -> float:
    """Net benefit of treating when p >= threshold: TP/n - FP/n * t/(1-t) (Vickers & Elkin 2006)."""
    if not 0 < threshold < 1:
        raise ValueError(f"net benefit threshold must lie in (0, 1), got {threshold}")
    y = np.asarray(y_true).astype(bool)
    pred = np.asarray(y_prob, dtype=float) >= threshold
    n = y.size
    return float((pred & y).sum() / n - (pred & ~y).sum() / n * threshold / (1 - threshold))


def decision_curve(y_true, y_prob, thresholds=None) -> pd.DataFrame:
    """Decision curve: ``threshold, model, treat_all, treat_none`` net benefits (plot-ready)."""
    t = np.linspace(0.01, 0.99, 99) if thresholds is None else np.asarray(thresholds, dtype=float)
    y = np.asarray(y_true).astype(bool)
    prev = y.mean()
    return pd.DataFrame({"threshold": t,
                         "model": [net_benefit(y, y_prob, x) for x in t],
                         "treat_all": prev - (1 - prev) * t / (1 - t),
                         "treat_none": 0.0})


# --------------------------------------------------------------------------------------------------------------------
# metric sets per task


def binary_metrics(y_true, y_prob, threshold: float = 0.5) -> dict[str, float]:
    """AUC, balanced accuracy, sensitivity, specificity (at ``threshold``), Brier, calibration slope/intercept, net
    benefit at ``threshold``, and prevalence."""
    y = np.asarray(y_true).astype(int)
    p = np.asarray(y_prob, dtype=float)
    pred = p >= threshold
    pos, neg = y == 1, y == 0
    sens = float(pred[pos].mean()) if pos.any() else float("nan")
    spec = float((~pred[neg]).mean()) if neg.any() else float("nan")
    slope, intercept = calibration_slope_intercept(y, p)
    return {"auc": auc(y, p), "balanced_accuracy": (sens + spec) / 2, "sensitivity": sens, "specificity": spec,
            "brier": float(np.mean((p - y) ** 2)), "calibration_slope": slope, "calibration_intercept": intercept,
            "net_benefit": net_benefit(y, p, threshold) if 0 < threshold < 1 else float("nan")}


def multiclass_metrics(y_true, proba, classes) -> dict[str, float]:
    """Macro one-vs-rest AUC, balanced accuracy, accuracy and the multiclass Brier score (mean squared distance of the
    probability vector from the one-hot outcome)."""
    y = np.asarray(y_true)
    P = np.asarray(proba, dtype=float)
    classes = np.asarray(classes)
    onehot = (y[:, None] == classes[None, :]).astype(float)
    aucs = [auc(onehot[:, k], P[:, k]) for k in range(len(classes))]
    pred = classes[np.argmax(P, axis=1)]
    recalls = [np.mean(pred[y == c] == c) for c in classes if np.any(y == c)]
    return {"auc": float(np.mean(aucs)) if not np.any(np.isnan(aucs)) else float("nan"),
            "balanced_accuracy": float(np.mean(recalls)), "accuracy": float(np.mean(pred == y)),
            "brier": float(np.mean(np.sum((P - onehot) ** 2, axis=1)))}


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """RMSE, MAE, R² (1 - SSE/SST) and Spearman's rho between prediction and outcome."""
    y = np.asarray(y_true, dtype=float)
    f = np.asarray(y_pred, dtype=float)
    sst = np.sum((y - y.mean()) ** 2)
    rho = stats.spearmanr(y, f).statistic if np.ptp(f) > 0 and np.ptp(y) > 0 else np.nan
    return {"rmse": float(np.sqrt(np.mean((y - f) ** 2))), "mae": float(np.mean(np.abs(y - f))),
            "r2": float(1 - np.sum((y - f) ** 2) / sst) if sst > 0 else float("nan"), "spearman": float(rho)}


# --------------------------------------------------------------------------------------------------------------------
# bootstrap


def cluster_bootstrap_indices(groups, n_boot: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Row indices of ``n_boot`` resamples that draw whole groups (patients) with replacement."""
    groups = np.asarray(groups)
    uniq, inv = np.unique(groups, return_inverse=True)
    rows = [np.flatnonzero(inv == g) for g in range(len(uniq))]
    if all(len(r) == 1 for r in rows):
        order = np.array([r[0] for r in rows])
        return [order[rng.integers(0, len(uniq), len(uniq))] for _ in range(n_boot)]
    out = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(uniq), len(uniq))
        out.append(np.concatenate([rows[g] for g in pick]))
    return out


def bootstrap_metrics(metric_fn: Callable[[np.ndarray], dict[str, float]], n: int, groups=None, n_boot: int = 1000,
                      seed: int = 0, alpha: float = 0.05) -> dict[str, dict]:
    """Point estimates and percentile bootstrap CIs of every metric that ``metric_fn(indices)`` returns.

    ``metric_fn`` receives an index array into the data (the full data first, then each resample). Resamples draw
    whole ``groups`` (patients) when given. Returns ``{name: {"estimate": x, "ci": [low, high]}}``; a metric that is
    NaN in a resample ignores that resample (CI NaN if fewer than 10 resamples remain, or ``n_boot`` is 0).
    """
    full = metric_fn(np.arange(n))
    rng = np.random.default_rng(seed)
    groups = np.arange(n) if groups is None else np.asarray(groups)
    boots: dict[str, list[float]] = {k: [] for k in full}
    for idx in cluster_bootstrap_indices(groups, n_boot, rng) if n_boot > 0 else []:
        try:
            vals = metric_fn(idx)
        except ValueError:  # a degenerate resample (e.g. no event before a horizon): skipped
            continue
        for k, v in vals.items():
            if k in boots and v is not None and np.isfinite(v):
                boots[k].append(float(v))
    out = {}
    for k, est in full.items():
        b = np.asarray(boots[k])
        ci = [float(x) for x in np.percentile(b, [100 * alpha / 2, 100 * (1 - alpha / 2)])] if b.size >= 10 \
            else [float("nan"), float("nan")]
        out[k] = {"estimate": float(est) if est is not None else float("nan"), "ci": ci}
    return out
