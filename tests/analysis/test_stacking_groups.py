"""The stacking's internal CV (the out-of-fold predictions its final estimator learns from) is grouped by patient.

A recording base estimator keeps the row ids (column 0 of X) it was fitted on; every time it predicts, the pair
(rows fitted on, rows predicted) is logged, so a patient on both sides of any split the stacking (or the grid search
around it) makes shows up as an overlap of patient ids.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.ensemble import StackingClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from radiomix.analysis import pipelines
from radiomix.analysis.modelio import load_model
from radiomix.analysis.models import train
from radiomix.analysis.pipelines import (
    GroupedStackingClassifier,
    GroupedStackingRegressor,
    load_model_config,
    make_estimator,
    stacking_splits,
)
from radiomix.analysis.simulate import simulate_cohort
from radiomix.analysis.validation import fit_searched

LOG: list[tuple[np.ndarray, np.ndarray]] = []  # (rows fitted on, rows predicted), appended by the recorders


class _Recorder(BaseEstimator):
    def _log(self, X):
        LOG.append((self.rows_, np.asarray(X)[:, 0].astype(int)))


class RecordingClassifier(ClassifierMixin, _Recorder):
    def fit(self, X, y):
        self.rows_ = np.asarray(X)[:, 0].astype(int)
        self.classes_, counts = np.unique(y, return_counts=True)
        self.prior_ = counts / counts.sum()
        return self

    def predict_proba(self, X):
        self._log(X)
        return np.tile(self.prior_, (len(X), 1))

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class RecordingRegressor(RegressorMixin, _Recorder):
    def fit(self, X, y):
        self.rows_ = np.asarray(X)[:, 0].astype(int)
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        self._log(X)
        return np.full(len(X), self.mean_)


@pytest.fixture(autouse=True)
def _clear_log():
    LOG.clear()
    yield
    LOG.clear()


def _data(n_patients=30, rows=3, seed=0):
    """Row id in column 0, patient ids with ``rows`` rows each, a binary outcome shared within a patient mostly."""
    rng = np.random.default_rng(seed)
    groups = np.repeat([f"P{i:02d}" for i in range(n_patients)], rows)
    n = len(groups)
    X = np.column_stack([np.arange(n), rng.normal(size=(n, 3))])
    y = np.repeat(rng.integers(0, 2, n_patients), rows)
    y[rng.random(n) < 0.1] ^= 1
    return X, y, groups


def _overlaps(groups):
    """Number of logged (fit, predict) pairs with a patient on both sides."""
    return sum(bool(set(groups[fit]) & set(groups[pred])) for fit, pred in LOG)


def _stack(cls=GroupedStackingClassifier, **kw):
    base = RecordingClassifier() if cls is GroupedStackingClassifier else RecordingRegressor()
    final = LogisticRegression() if cls is GroupedStackingClassifier else Ridge()
    return cls([("rec", base)], final_estimator=final, cv=3, **kw)


@pytest.mark.parametrize("cls", [GroupedStackingClassifier, GroupedStackingRegressor])
def test_internal_splits_keep_patients_apart(cls):
    X, y, groups = _data()
    est = _stack(cls, random_state=0).fit(X, y, groups=groups)
    assert len(LOG) == 3  # one prediction per internal fold (the full-data base fit predicts nothing yet)
    assert _overlaps(groups) == 0
    held_out = np.concatenate([pred for _, pred in LOG])
    assert np.array_equal(np.sort(held_out), np.arange(len(y)))  # every row predicted once, out of fold
    assert est.cv == 3 and est.get_params()["cv"] == 3  # fit-time splits not left in the parameters


def test_plain_stacking_leaks_patients_control():
    """The check above can fail: scikit-learn's ungrouped stacking puts patients on both sides."""
    X, y, groups = _data()
    StackingClassifier([("rec", RecordingClassifier())], final_estimator=LogisticRegression(), cv=3).fit(X, y)
    assert _overlaps(groups) > 0


def test_without_groups_same_as_plain_stacking():
    X, y, _ = _data()
    ours = _stack(random_state=0).fit(X, y)
    splits = [pred for _, pred in LOG]
    LOG.clear()
    ref = StackingClassifier([("rec", RecordingClassifier())], final_estimator=LogisticRegression(), cv=3).fit(X, y)
    assert all(np.array_equal(a, b) for a, b in zip(splits, [pred for _, pred in LOG], strict=True))
    expected = [te for _, te in StratifiedKFold(3).split(X, y)]
    assert all(np.array_equal(a, b) for a, b in zip(splits, expected, strict=True))
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X))


def test_clone_and_get_params_round_trip():
    est, grid = make_estimator("stacking", "binary", seed=7)
    assert isinstance(est, GroupedStackingClassifier) and grid == {}
    params = est.get_params(deep=False)
    assert params["cv"] == 3 and params["random_state"] == 7
    twin = clone(est)
    assert type(twin) is type(est) and twin.get_params(deep=False).keys() == params.keys()
    assert {k: v for k, v in twin.get_params(deep=False).items() if k not in ("estimators", "final_estimator")} == \
        {k: v for k, v in params.items() if k not in ("estimators", "final_estimator")}
    twin.set_params(final_estimator__C=0.5, random_state=3)
    assert twin.final_estimator.C == 0.5 and twin.random_state == 3 and est.random_state == 7
    reg, _ = make_estimator("stacking", "regression", seed=1)
    assert isinstance(reg, GroupedStackingRegressor) and clone(reg).get_params(deep=False)["random_state"] == 1


def test_splits_deterministic_and_fallbacks():
    _, y, groups = _data(n_patients=12, rows=2)
    a = stacking_splits(y, groups, 3, stratified=True, random_state=5)
    b = stacking_splits(y, groups, 3, stratified=True, random_state=5)
    assert len(a) == 3 and all(np.array_equal(x[1], z[1]) for x, z in zip(a, b, strict=True))
    # a class in only two patients cannot be stratified over three folds: plain grouped folds, still disjoint
    y_rare = np.zeros(len(y), int)
    y_rare[groups == "P00"] = 1
    y_rare[groups == "P01"] = 1
    for tr, te in stacking_splits(y_rare, groups, 3, stratified=True, random_state=0):
        assert not set(groups[tr]) & set(groups[te]) and len(te)
    # fewer patients than folds: one fold per patient; one patient: a clear error
    two = np.array(["A", "A", "B", "B"])
    assert len(stacking_splits([0, 1, 0, 1], two, 3, stratified=True, random_state=0)) == 2
    with pytest.raises(ValueError, match="at least two groups"):
        stacking_splits([0, 1, 0], ["A", "A", "A"], 3, stratified=True)


def test_fit_searched_routes_groups_in_both_paths():
    X, y, groups = _data()
    cfg = load_model_config({"models": ["stacking"], "cv": {"inner_folds": 2}})
    pipe = Pipeline([("model", _stack(random_state=0))])
    fit_searched(clone(pipe), {}, cfg, X, y, groups, seed=0)  # plain fit
    assert len(LOG) == 3 and _overlaps(groups) == 0
    LOG.clear()
    grid = {"model__final_estimator__C": [0.1, 1.0]}
    model, best = fit_searched(clone(pipe), grid, cfg, X, y, groups, seed=0)  # GridSearchCV, groups sliced per split
    assert best["model__final_estimator__C"] in (0.1, 1.0) and model[-1].cv == 3
    assert len(LOG) > 3 and _overlaps(groups) == 0  # internal CVs of every inner fit and the inner scoring
    LOG.clear()
    ungrouped = load_model_config({"models": ["stacking"], "cv": {"inner_folds": 2, "grouped": False}})
    fit_searched(clone(pipe), {}, ungrouped, X, y, groups, seed=0)  # cv.grouped false: stacking ungrouped too
    assert _overlaps(groups) > 0


def test_train_stacking_on_repeated_patients(monkeypatch, tmp_path):
    seen = []
    real = pipelines.stacking_splits

    def spy(y, groups, n_splits, **kw):
        splits = real(y, groups, n_splits, **kw)
        groups = np.asarray(groups)
        seen.append(sum(bool(set(groups[tr]) & set(groups[te])) for tr, te in splits))
        return splits

    monkeypatch.setattr(pipelines, "stacking_splits", spy)
    c = simulate_cohort(40, 8, n_sites=2, lesions_per_patient=3, coef=(2.0, -1.5), seed=4)
    cfg = {"models": ["stacking"], "cv": {"outer_folds": 3, "inner_folds": 2}, "bootstrap": 20,
           "pipeline": {"n_features": 4}, "explain": {"permutation_repeats": 0, "shap": False}}
    with warnings.catch_warnings():  # the meta-learner gets arrays as in its fit, not the pipeline's DataFrames
        warnings.filterwarnings("error", message=".*feature names.*")
        r = train(c.features, c.clinical, "outcome", cfg, tmp_path / "run", progress=False)
    assert len(seen) == 4 and seen == [0, 0, 0, 0]  # three outer folds and the final model, all grouped
    assert isinstance(r.model[-1], GroupedStackingClassifier) and r.model[-1].cv == 3
    for name in ("auc", "brier"):
        assert np.isfinite(r.metrics[name]["estimate"]) and np.all(np.isfinite(r.metrics[name]["ci"])), name
    assert len(pd.unique(r.predictions["case_id"])) == 120
    model, info = load_model(tmp_path / "run")  # the subclass passes the model-file allow-list
    X = c.features[info["input_columns"]]
    np.testing.assert_allclose(model.predict_proba(X), r.model.predict_proba(X))
