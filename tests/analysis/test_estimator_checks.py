"""Every analysis estimator passes scikit-learn's estimator checks; no check is skipped or expected to fail.

ComBat reads its batch from a column of X (``batch=0`` for arrays). It declares the ``categorical`` input tag, so
sklearn rounds the check data to small integers: column 0 then holds a few genuine batches and the checks exercise the
real ComBat path (cloning, pickling, n_features_in_, feature names, NaN/inf rejection, idempotence, subset
invariance). Where a check's data leave a batch with one sample, ComBat's documented single-sample path runs
(mean_only, as sva::ComBat). Batches unseen in fit are an error by design, and some checks transform rows that were
not in the fit, so the check instance uses ``unseen="passthrough"``. ComBat's numbers are tested in
test_harmonise.py."""

from __future__ import annotations

import warnings

from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

from radiomix.analysis import (
    MRMR,
    ComBat,
    CorrelationClusters,
    ICAReduction,
    ICCSelector,
    NearZeroVariance,
    PCAReduction,
    RFESelector,
    SparseSelector,
    StabilitySelection,
    UnivariateFDR,
)
from radiomix.analysis.pipelines import GroupedStackingClassifier, GroupedStackingRegressor

ESTIMATORS = [
    ComBat(batch=0, unseen="passthrough"),
    ICCSelector(0.75, icc={f"x{i}": 0.9 if i % 2 else 0.5 for i in range(100)}, missing="keep"),
    NearZeroVariance(),
    CorrelationClusters(),
    UnivariateFDR(),
    MRMR(n_features=2),
    SparseSelector(alpha=0.1),
    StabilitySelection(alphas=(0.1,), n_resamples=4, random_state=0),
    RFESelector(n_features_to_select=2, step=0.5),
    PCAReduction(),
    ICAReduction(random_state=0),
    # the patient-grouped stacking (its grouped splits: test_stacking_groups.py); without groups it is sklearn's
    GroupedStackingClassifier([("lr", LogisticRegression()), ("tree", DecisionTreeClassifier(random_state=0))],
                              final_estimator=LogisticRegression(), cv=3, random_state=0),
    GroupedStackingRegressor([("ridge", Ridge()), ("tree", DecisionTreeRegressor(random_state=0))],
                             final_estimator=Ridge(), cv=3, random_state=0),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)
