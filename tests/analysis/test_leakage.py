"""Leakage: harmonisation and selection must be fitted inside cross-validation.

Pure-noise features (with site effects) and a random outcome: ComBat + selection + logistic regression inside CV gives
an AUC whose bootstrap 95% CI holds 0.5; the same steps fitted on all the data before CV give a clearly optimistic AUC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline

from radiomix.analysis import MRMR, ComBat


def noise_table(seed=0, n_sites=4, per_site=30, p=400):
    rng = np.random.default_rng(seed)
    site = np.repeat([f"s{i}" for i in range(n_sites)], per_site)
    n = site.size
    shift = rng.normal(0, 1, (n_sites, p))[np.repeat(np.arange(n_sites), per_site)]
    scale = rng.uniform(0.5, 2, (n_sites, p))[np.repeat(np.arange(n_sites), per_site)]
    X = pd.DataFrame(rng.normal(size=(n, p)) * scale + shift, columns=[f"f{i}" for i in range(p)])
    X.insert(0, "site", site)
    y = rng.permutation(np.repeat([0, 1], n // 2))
    return X, y


def _auc(y, score):
    """Rank (Mann-Whitney) AUC along the last axis; ties count one half."""
    r = stats.rankdata(score, axis=-1)
    n1 = y.sum(axis=-1)
    n0 = y.shape[-1] - n1
    return ((r * y).sum(axis=-1) - n1 * (n1 + 1) / 2) / (n1 * n0)


def auc_ci(y, score, n_boot=2000, seed=0):
    """AUC and its percentile bootstrap 95% CI (resamples with one class only are dropped)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), (n_boot, len(y)))
    yb = y[idx]
    ok = (yb.sum(axis=1) > 0) & (yb.sum(axis=1) < len(y))
    boots = _auc(yb[ok], score[idx[ok]])
    auc = _auc(y, score)
    assert auc == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    return auc, *np.percentile(boots, [2.5, 97.5])


def test_selection_inside_cv_is_honest_outside_is_optimistic():
    X, y = noise_table()
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    model = LogisticRegression(C=1.0, max_iter=1000)
    honest = make_pipeline(ComBat(batch="site"), MRMR(n_features=10, n_bins=2), model)
    p_honest = cross_val_predict(honest, X, y, cv=cv, method="predict_proba")[:, 1]
    auc, lo, hi = auc_ci(y, p_honest)
    assert lo < 0.5 < hi, (auc, lo, hi)

    # leaky: harmonise and select on every sample (outcome included), then cross-validate the model only
    Xh = ComBat(batch="site").fit_transform(X)
    Xs = MRMR(n_features=10, n_bins=2).fit(Xh, y).transform(Xh)
    p_leaky = cross_val_predict(model, Xs, y, cv=cv, method="predict_proba")[:, 1]
    auc_l, lo_l, _ = auc_ci(y, p_leaky)
    assert lo_l > 0.5 and auc_l > auc + 0.15, (auc_l, lo_l, auc)
