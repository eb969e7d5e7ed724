"""Explanations of a fitted pipeline: permutation importance, SHAP values and selection frequency across folds.

* :func:`permutation_importance`: the drop in the task's score when one input column is shuffled (``n_repeats``
  shuffles). Only the columns that reach the model step are shuffled: every other column is dropped by a filter or
  selector that was fitted once, and the pre-processing (imputation, ComBat, scaling) acts column by column, so their
  importance is exactly 0.
* :func:`shap_importance`: mean |SHAP value| per model input, on a bounded sample of rows. A linear model gets
  ``shap.LinearExplainer``, tree ensembles ``shap.TreeExplainer``, anything else the model-agnostic permutation
  explainer on the model's score function.
* :func:`selection_frequency`: share of outer folds whose pipeline kept each feature.
"""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import pandas as pd

__all__ = ["permutation_importance", "selection_frequency", "shap_importance"]


def selection_frequency(selected: list[list[str]], candidates=None) -> pd.DataFrame:
    """``feature, frequency`` (share of folds that selected it), most frequent first; ``candidates`` adds zeros."""
    n = max(len(selected), 1)
    counts = Counter(f for fold in selected for f in set(fold))
    names = list(dict.fromkeys(list(counts) + list(candidates or [])))
    df = pd.DataFrame({"feature": names, "frequency": [counts.get(f, 0) / n for f in names]})
    return df.sort_values(["frequency", "feature"], ascending=[False, True], kind="stable").reset_index(drop=True)


def score_function(task: str):
    """score(model, X, y) for ``task``: AUC, macro OvR AUC, R², Harrell's C."""
    from sklearn.metrics import r2_score, roc_auc_score

    if task == "binary":
        return lambda m, X, y: roc_auc_score(y, m.predict_proba(X)[:, 1])
    if task == "multiclass":
        return lambda m, X, y: roc_auc_score(y, m.predict_proba(X), multi_class="ovr", labels=m.classes_)
    if task == "regression":
        return lambda m, X, y: r2_score(y, m.predict(X))
    return lambda m, X, y: m.score(X, y)


def permutation_importance(model, X: pd.DataFrame, y, task: str, columns, n_repeats: int = 5,
                           seed: int = 0) -> pd.DataFrame:
    """``feature, permutation_mean, permutation_std`` for ``columns`` of ``X`` (see the module docstring)."""
    score = score_function(task)
    rng = np.random.default_rng(seed)
    base = score(model, X, y)
    rows = []
    for c in columns:
        drops = []
        for _ in range(n_repeats):
            Xp = X.copy()
            Xp[c] = Xp[c].to_numpy()[rng.permutation(len(Xp))]
            drops.append(base - score(model, Xp, y))
        rows.append({"feature": c, "permutation_mean": float(np.mean(drops)) if drops else float("nan"),
                     "permutation_std": float(np.std(drops)) if drops else float("nan")})
    return pd.DataFrame(rows, columns=["feature", "permutation_mean", "permutation_std"])


def _model_score_fn(est, task):
    if task == "binary":
        return lambda A: est.predict_proba(A)[:, 1]
    if task == "multiclass":
        return lambda A: est.predict_proba(A)
    return est.predict


def shap_importance(model, X: pd.DataFrame, task: str, n_samples: int = 100, seed: int = 0) -> pd.DataFrame:
    """``feature, shap_mean_abs`` for every input of the model step, on at most ``n_samples`` rows of ``X``.

    Multiclass: mean over classes of the mean |SHAP|. Raises what shap raises if no explainer fits the model.
    """
    import shap

    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(X), size=min(n_samples, len(X)), replace=False))
    Z = model[:-1].transform(X.iloc[idx])
    Z = pd.DataFrame(np.asarray(Z, dtype=float), columns=[str(c) for c in model[:-1].get_feature_names_out()])
    est = model[-1]
    name = type(est).__name__
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name in ("LogisticRegression", "Ridge", "ElasticNet", "CoxPHSurvivalAnalysis", "CoxnetSurvivalAnalysis") \
                and hasattr(est, "coef_"):
            coef = np.asarray(est.coef_, dtype=float)
            if name == "CoxnetSurvivalAnalysis":
                coef = coef[:, -1]
            intercept = np.atleast_1d(getattr(est, "intercept_", 0.0))
            if coef.ndim == 2 and coef.shape[0] > 1:  # multiclass logistic: one linear model per class
                vals = np.stack([shap.LinearExplainer((c, i), Z).shap_values(Z) for c, i in zip(coef, intercept,
                                                                                              strict=True)], -1)
            else:
                vals = shap.LinearExplainer((coef.ravel(), float(intercept[0])), Z).shap_values(Z)
        elif name.startswith(("RandomForest", "HistGradientBoosting", "XGB", "LGBM")) and "Survival" not in name:
            vals = shap.TreeExplainer(est).shap_values(Z)
        else:
            f = _model_score_fn(est, task)
            background = Z.iloc[: min(50, len(Z))]
            explainer = shap.explainers.Permutation(lambda A: f(pd.DataFrame(A, columns=Z.columns)), background,
                                                    seed=seed)
            vals = explainer(Z.to_numpy(), max_evals=2 * Z.shape[1] + 1, silent=True).values
    v = np.abs(np.asarray(vals, dtype=float))
    if isinstance(vals, list):
        v = np.stack([np.abs(np.asarray(a)) for a in vals], -1)
    if v.ndim == 3:
        if task == "binary" and v.shape[-1] == 2:
            v = v[..., 1]
        else:
            v = v.mean(axis=-1)
    return pd.DataFrame({"feature": list(Z.columns), "shap_mean_abs": v.mean(axis=0)})
