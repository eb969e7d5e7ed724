"""Dimension reduction that builds new features: PCA and ICA (sklearn's) on standardised features.

Radiomic features live on wildly different scales (volumes in mm^3 next to entropies in bits), so both reductions
standardise each feature (mean 0, SD 1, fitted on the training data) first unless ``standardise=False``. They are
transformers, not selectors: there is no ``get_support`` because no input column survives; ``get_feature_names_out``
names the components ``pca0, pca1, ...`` / ``ica0, ...``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA, FastICA
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["ICAReduction", "PCAReduction"]


class _Reduction(TransformerMixin, BaseEstimator):
    def _make(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=np.float64)
        self.scaler_ = StandardScaler(with_std=self.standardise, with_mean=True).fit(X)
        self.model_ = self._make().fit(self.scaler_.transform(X))
        self._n_features_out = self.model_.components_.shape[0]
        return self

    def transform(self, X):
        check_is_fitted(self, "model_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.model_.transform(self.scaler_.transform(X))

    @property
    def components_(self):
        check_is_fitted(self, "model_")
        return self.model_.components_


class PCAReduction(_Reduction):
    """Principal components of the standardised features. ``n_components`` as in :class:`sklearn.decomposition.PCA`
    (an int, a variance fraction in (0, 1), or None for all); ``explained_variance_ratio_`` after fit."""

    def __init__(self, n_components=0.95, standardise: bool = True, whiten: bool = False, random_state=None):
        self.n_components = n_components
        self.standardise = standardise
        self.whiten = whiten
        self.random_state = random_state

    def _make(self):
        return PCA(n_components=self.n_components, whiten=self.whiten, random_state=self.random_state,
                   svd_solver="full")

    @property
    def explained_variance_ratio_(self):
        check_is_fitted(self, "model_")
        return self.model_.explained_variance_ratio_

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "model_")
        return np.asarray([f"pca{i}" for i in range(self._n_features_out)], dtype=object)


class ICAReduction(_Reduction):
    """Independent components (FastICA) of the standardised features."""

    def __init__(self, n_components=None, standardise: bool = True, max_iter: int = 1000, tol: float = 1e-4,
                 random_state=None):
        self.n_components = n_components
        self.standardise = standardise
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _make(self):
        return FastICA(n_components=self.n_components, whiten="unit-variance", max_iter=self.max_iter, tol=self.tol,
                       random_state=self.random_state)

    @property
    def n_iter_(self):
        check_is_fitted(self, "model_")
        return self.model_.n_iter_

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "model_")
        return np.asarray([f"ica{i}" for i in range(self._n_features_out)], dtype=object)
