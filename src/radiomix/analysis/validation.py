"""Nested cross-validation of one pipeline, and the metrics of its out-of-fold predictions.

Outer loop: repeated stratified k-fold grouped by patient (:class:`~sklearn.model_selection.StratifiedGroupKFold`;
stratified on the event indicator for survival, plain grouped k-fold for regression), or leave-one-site-out. Inner
loop: a grid search over the model's hyper-parameters with the same grouping, on the outer training part only. The
whole pipeline (imputation, ComBat, filters, selection, model) is refitted inside every inner and outer training part.

Metrics of the out-of-fold predictions: with several repeats, each case's predictions are averaged over the repeats
first (each case is predicted once per repeat); CIs come from a bootstrap that resamples patients.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from radiomix.analysis.metrics import binary_metrics, bootstrap_metrics, multiclass_metrics, regression_metrics
from radiomix.analysis.survival import survival_metrics

__all__ = ["CVResult", "cv_metrics", "nested_cv", "outer_splits"]


def outer_splits(cfg, y_strat, groups, sites, seed: int) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """``(repeat, fold, train_idx, test_idx)`` of the outer loop (see the module docstring)."""
    from sklearn.model_selection import GroupKFold, KFold, LeaveOneGroupOut, StratifiedGroupKFold, StratifiedKFold

    c = cfg.cv
    idx = np.arange(len(groups))
    if c.scheme == "leave_one_site_out":
        if sites is None or len(np.unique(sites)) < 2:
            from radiomix.errors import InputError

            raise InputError("leave_one_site_out needs a site column with at least two sites")
        return [(0, f, tr, te) for f, (tr, te) in enumerate(LeaveOneGroupOut().split(idx, groups=sites))]
    out = []
    for r in range(c.repeats):
        rs = seed + r
        if y_strat is not None:
            cv = StratifiedGroupKFold(c.outer_folds, shuffle=True, random_state=rs) if c.grouped \
                else StratifiedKFold(c.outer_folds, shuffle=True, random_state=rs)
            splits = cv.split(idx, y_strat, groups)
        else:
            cv = GroupKFold(c.outer_folds, shuffle=True, random_state=rs) if c.grouped \
                else KFold(c.outer_folds, shuffle=True, random_state=rs)
            splits = cv.split(idx, groups=groups)
        out.extend((r, f, tr, te) for f, (tr, te) in enumerate(splits))
    return out


def inner_cv(cfg, stratified: bool, seed: int):
    """The inner (hyper-parameter search) splitter."""
    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

    k, g = cfg.cv.inner_folds, cfg.cv.grouped
    if stratified:
        return StratifiedGroupKFold(k, shuffle=True, random_state=seed) if g else \
            StratifiedKFold(k, shuffle=True, random_state=seed)
    return GroupKFold(k, shuffle=True, random_state=seed) if g else KFold(k, shuffle=True, random_state=seed)


class _StratifiedSurvivalCV:
    """Wraps a stratified splitter so that it stratifies a structured survival outcome on its event indicator."""

    def __init__(self, cv):
        self.cv = cv

    def split(self, X, y=None, groups=None):
        ev = np.asarray(y)[np.asarray(y).dtype.names[0]].astype(int)
        return self.cv.split(X, ev, groups)

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.cv.get_n_splits(X, y, groups)


def scoring_for(task: str):
    """Inner-loop scoring: AUC (binary), macro OvR AUC (multiclass), -RMSE (regression), Harrell's C (survival)."""
    return {"binary": "roc_auc", "multiclass": "roc_auc_ovr", "regression": "neg_root_mean_squared_error"}.get(task)


def _group_fit_params(pipe, groups, grouped: bool) -> dict:
    """``{"<last step>__groups": groups}`` when the pipeline's final estimator takes ``groups`` in ``fit`` (the
    patient-grouped stacking) and the CV is grouped; ``{}`` for every other model."""
    import inspect

    if groups is None or not grouped or not hasattr(pipe, "steps"):
        return {}
    name, est = pipe.steps[-1]
    try:
        takes = "groups" in inspect.signature(est.fit).parameters
    except (TypeError, ValueError):
        takes = False
    return {f"{name}__groups": np.asarray(groups)} if takes else {}


def fit_searched(pipe, grid, cfg, X, y, groups, seed):
    """Fit ``pipe`` with an inner grouped grid search over ``grid`` (plain fit when the grid is empty);
    returns (fitted pipeline, best params). A final estimator whose ``fit`` takes ``groups`` (the stacking, whose
    internal CV is then grouped by patient) gets them, sliced to the inner training parts by the grid search."""
    fit_params = _group_fit_params(pipe, groups, cfg.cv.grouped)
    if not grid or all(len(v) <= 1 for v in grid.values()):
        pipe = pipe.set_params(**{k: v[0] for k, v in grid.items()}) if grid else pipe
        return pipe.fit(X, y, **fit_params), {k: v[0] for k, v in grid.items()}
    from sklearn.model_selection import GridSearchCV

    task = cfg.task
    cv = inner_cv(cfg, stratified=task != "regression", seed=seed)
    if task == "survival":
        cv = _StratifiedSurvivalCV(cv)
    search = GridSearchCV(pipe, grid, cv=cv, scoring=scoring_for(task), refit=True, n_jobs=cfg.n_jobs,
                          error_score="raise")
    search.fit(X, y, groups=groups, **fit_params)
    return search.best_estimator_, {k: (v.tolist() if hasattr(v, "tolist") else v)
                                    for k, v in search.best_params_.items()}


@dataclass
class CVResult:
    """Out-of-fold predictions (one row per case and repeat), features selected per outer fold, best params,
    and survival probabilities at ``times`` (survival only; rows aligned with ``predictions``)."""

    predictions: pd.DataFrame
    selected: list[list[str]] = field(default_factory=list)
    best_params: list[dict] = field(default_factory=list)
    surv: np.ndarray | None = None
    classes: list | None = None


def predict_frame(model, X: pd.DataFrame, task: str, times=None):
    """Prediction columns for ``X``: y_score (binary), y_score_<class> (multiclass), y_pred (regression) or risk
    (survival); plus survival probabilities at ``times`` for survival (else None)."""
    if task == "binary":
        return pd.DataFrame({"y_score": model.predict_proba(X)[:, 1]}), None
    if task == "multiclass":
        P = model.predict_proba(X)
        return pd.DataFrame(P, columns=[f"y_score_{c}" for c in model.classes_]), None
    if task == "regression":
        return pd.DataFrame({"y_pred": model.predict(X)}), None
    risk = model.predict(X)
    surv = None
    if times is not None and hasattr(model, "predict_survival_function"):
        fns = model.predict_survival_function(X)
        lo = min(fn.domain[0] for fn in fns)
        hi = max(fn.domain[1] for fn in fns)
        t = np.clip(times, lo, hi)
        surv = np.vstack([fn(t) for fn in fns])
    return pd.DataFrame({"risk": risk}), surv


def nested_cv(pipe, grid, cfg, X: pd.DataFrame, y, meta: pd.DataFrame, splits, seed: int, times=None,
              tick: Callable[[], None] | None = None) -> CVResult:
    """Run the outer loop over ``splits``; ``meta`` holds case_id, patient_id and the outcome columns to copy."""
    from sklearn.base import clone

    rows, surv_rows, selected, params = [], [], [], []
    groups = meta["patient_id"].to_numpy()
    classes = None
    for r, f, tr, te in splits:
        model, best = fit_searched(clone(pipe), grid, cfg, X.iloc[tr], y[tr], groups[tr], seed + 1000 * r + f)
        pred, surv = predict_frame(model, X.iloc[te], cfg.task, times)
        if cfg.task == "multiclass":
            classes = list(model.classes_)
        part = meta.iloc[te].reset_index(drop=True)
        part.insert(2, "repeat", r)
        part.insert(3, "fold", f)
        rows.append(pd.concat([part, pred], axis=1))
        if surv is not None:
            surv_rows.append(surv)
        from radiomix.analysis.pipelines import selected_features

        selected.append(selected_features(model))
        params.append({"repeat": r, "fold": f, **best})
        if tick:
            tick()
    preds = pd.concat(rows, ignore_index=True)
    return CVResult(preds, selected, params, np.vstack(surv_rows) if surv_rows else None, classes)


def _average_repeats(preds: pd.DataFrame, surv, score_cols):
    """One row per case: the mean of its predictions over repeats (and survival curves likewise)."""
    keys = [c for c in preds.columns if c not in score_cols and c not in ("repeat", "fold")]
    avg = preds.groupby("case_id", sort=False)[score_cols].mean()
    first = preds.drop_duplicates("case_id")[keys].set_index("case_id")
    out = first.join(avg).reset_index()
    if surv is not None:
        s = pd.DataFrame(surv).groupby(preds["case_id"].to_numpy(), sort=False).mean()
        surv = s.loc[out["case_id"]].to_numpy()
    return out, surv


def cv_metrics(cfg, preds: pd.DataFrame, surv=None, times=None, classes=None, train_y=None,
               n_boot: int | None = None) -> tuple[dict, pd.DataFrame]:
    """Metrics of (repeat-averaged) predictions with patient-bootstrap CIs, in the ``metrics.json`` schema; also
    returns the averaged predictions."""
    task = cfg.task
    score_cols = [c for c in preds.columns if c.startswith("y_score") or c in ("y_pred", "risk")]
    avg, surv = _average_repeats(preds, surv, score_cols) if "repeat" in preds.columns else (preds, surv)
    n_boot = cfg.bootstrap if n_boot is None else n_boot
    if task == "binary":
        y, p = avg["y_true"].to_numpy().astype(int), avg["y_score"].to_numpy()

        def fn(i):
            return binary_metrics(y[i], p[i], cfg.threshold)
    elif task == "multiclass":
        y = avg["y_true"].astype(str).to_numpy()
        P = avg[[f"y_score_{c}" for c in classes]].to_numpy()
        cl = np.asarray([str(c) for c in classes])

        def fn(i):
            return multiclass_metrics(y[i], P[i], cl)
    elif task == "regression":
        y, f = avg["y_true"].to_numpy(float), avg["y_pred"].to_numpy(float)

        def fn(i):
            return regression_metrics(y[i], f[i])
    else:
        t, e, risk = avg["time"].to_numpy(float), avg["event"].to_numpy().astype(bool), avg["risk"].to_numpy()

        def fn(i):
            return survival_metrics(t[i], e[i], risk[i], None if surv is None else surv[i], times, train=train_y)
    metrics = bootstrap_metrics(fn, len(avg), groups=avg["patient_id"].to_numpy(), n_boot=n_boot, seed=cfg.seed)
    out = {"task": task, "n": len(avg)}
    if task == "binary":
        out["n_events"] = int(avg["y_true"].sum())
    if task == "survival":
        out["n_events"] = int(avg["event"].sum())
    out.update(metrics)
    return out, avg
