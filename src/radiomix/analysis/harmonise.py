r"""ComBat harmonisation (Johnson, Li & Rabinovic 2007; Fortin et al. 2017/2018) as a scikit-learn transformer.

API: the batch and covariates travel *inside X*
-------------------------------------------------
scikit-learn passes only ``X`` to ``transform``, and cross-validation splits only ``X`` and ``y``. So ``ComBat`` reads
the batch (site/scanner) labels and the covariates from columns of ``X`` that its constructor names:

>>> combat = ComBat(batch="site", covariates=["age", "sex"])        # doctest: +SKIP
>>> Xh = combat.fit(train_df).transform(test_df)                     # doctest: +SKIP

* ``X`` is a pandas DataFrame (columns named) or an array (columns given by position, integers).
* Every other column is a feature and is harmonised; the batch and covariate columns are *dropped* from the output,
  so the next pipeline step sees features only. ``get_feature_names_out`` names the output columns.
* Covariates are preserved (their effects are estimated jointly with the batch effects and added back). A covariate is
  categorical if it is listed in ``categorical`` or its dtype is not numeric (object, category, bool); otherwise
  continuous. Categorical levels unseen in ``fit`` are an error at ``transform``.

This makes ``Pipeline([("combat", ComBat(batch="site")), ("select", ...), ("model", ...)])`` work unchanged inside
``cross_val_score``: ComBat is estimated on the training folds only.

The estimate (what ``fit`` learns)
----------------------------------
For feature g of sample j in batch i, :math:`x_{ijg} = \alpha_g + X_{j}\beta_g + \gamma_{ig} + \delta_{ig}\varepsilon`.
``fit`` estimates :math:`\alpha, \beta` and the pooled variance by least squares, standardises, estimates the batch
location/scale :math:`\hat\gamma, \hat\delta^2` and shrinks them by empirical Bayes across features, parametric
(normal / inverse-gamma priors, iterated to relative change < ``tol``) or non-parametric (Monte-Carlo integration over
the other features' estimates). ``mean_only`` adjusts locations only. With ``reference_batch`` the reference batch is
left unchanged and the others are mapped onto it. Results reproduce neuroCombat 0.2.12 (tested to 1e-6), including its
conventions: continuous covariates as given (use float32-representable values to compare), zero variances set to 1,
the ``mean_only`` prior with n = 1.

A batch with a single sample cannot give a variance: as in R's ``sva::ComBat``, ``mean_only`` is then switched on
(with a warning).

Batches unseen in ``fit`` (``unseen``)
--------------------------------------
* ``"error"`` (default): transforming a batch not seen in ``fit`` raises ``ValueError`` naming it.
* ``"passthrough"``: samples of unseen batches are returned unchanged (no harmonisation).
* ``"estimate"``: the unseen batch's location/scale are estimated from the samples being transformed (>= 2 of them),
  standardised with the fitted model and shrunk with the batch's own priors. This uses the test samples' features
  (not their outcome); it is the usual "new site" practice, but it is transductive, so it is never the default.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import _check_feature_names, _check_n_features, check_array, check_is_fitted

__all__ = ["ComBat"]


# --------------------------------------------------------------------------------------------------------------------
# empirical Bayes (one batch at a time; vectorised over features)


def _postmean(g_hat, g_bar, n, d_star, t2):
    return (t2 * n * g_hat + d_star * g_bar) / (t2 * n + d_star)


def _postvar(sum2, n, a, b):
    return (0.5 * sum2 + b) / (n / 2.0 + a - 1.0)


def _inv_gamma_priors(d_hat):
    """Method-of-moments inverse-gamma prior (a, b) of the batch variances across features."""
    m = d_hat.mean()
    s2 = d_hat.var(ddof=1)
    return (2 * s2 + m**2) / s2, (m * s2 + m**3) / s2


def _parametric(s, g_hat, d_hat, mean_only, tol, max_iter=1000):
    """Parametric EB for one batch; ``s`` is (n_b, p) standardised data."""
    g_bar, t2 = g_hat.mean(), g_hat.var(ddof=1)
    if mean_only:
        return _postmean(g_hat, g_bar, 1.0, 1.0, t2), np.ones_like(g_hat)
    n = s.shape[0]
    if not d_hat.var(ddof=1) > 0:
        # every feature has the same batch variance: the inverse-gamma prior is a point mass at it (a -> inf)
        return _postmean(g_hat, g_bar, n, d_hat, t2), d_hat.copy()
    a, b = _inv_gamma_priors(d_hat)
    g_old, d_old = g_hat.copy(), d_hat.copy()
    for _ in range(max_iter):
        g_new = _postmean(g_hat, g_bar, n, d_old, t2)
        d_new = _postvar(((s - g_new) ** 2).sum(axis=0), n, a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            change = max(np.max(np.abs(g_new - g_old) / g_old), np.max(np.abs(d_new - d_old) / d_old))
        g_old, d_old = g_new, d_new
        if not change > tol:  # a NaN change stops, as in sva/neuroCombat
            break
    else:
        warnings.warn(f"ComBat: parametric EB did not converge in {max_iter} iterations", RuntimeWarning,
                      stacklevel=3)
    return g_new, d_new


def _non_parametric(s, g_hat, d_hat, mean_only, chunk=256):
    """Non-parametric EB for one batch: the posterior mean of (gamma, delta) under the empirical distribution of the
    other features' estimates, each weighted by the normal likelihood of this feature's data (log-space)."""
    n, p = s.shape
    d = np.ones_like(d_hat) if mean_only else d_hat
    s1, s2 = s.sum(axis=0), (s**2).sum(axis=0)
    g_star, d_star = np.empty(p), np.empty(p)
    log_norm = -0.5 * n * np.log(2 * np.pi * d)  # (p,) over the "other" features j
    for lo in range(0, p, chunk):
        hi = min(p, lo + chunk)
        # sum2[i, j] = sum_k (s[k, i] - g[j])^2
        sum2 = s2[lo:hi, None] - 2 * s1[lo:hi, None] * g_hat[None, :] + n * g_hat[None, :] ** 2
        ll = log_norm[None, :] - sum2 / (2 * d[None, :])
        ll[np.arange(hi - lo), np.arange(lo, hi)] = -np.inf  # leave feature i out
        w = np.exp(ll - ll.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        g_star[lo:hi] = w @ g_hat
        d_star[lo:hi] = w @ d
    return g_star, d_star


# --------------------------------------------------------------------------------------------------------------------


class ComBat(TransformerMixin, BaseEstimator):
    """ComBat batch-effect harmonisation; the batch and covariates are columns of X (see the module docstring).

    Parameters
    ----------
    batch : str or int
        Column of X holding the batch (site, scanner) label: a name for a DataFrame, a position for an array.
    covariates : list of str or int, optional
        Columns of X holding biological covariates whose effects are preserved.
    categorical : list of str or int, optional
        Which covariates are categorical (default: those whose dtype is not numeric).
    parametric : bool
        Parametric (default) or non-parametric empirical Bayes.
    mean_only : bool
        Adjust batch locations only, not scales.
    eb : bool
        Empirical Bayes shrinkage (default); ``False`` uses the per-batch least-squares estimates as they are.
    reference_batch : label, optional
        Batch left unchanged; the others are mapped onto it.
    unseen : {"error", "passthrough", "estimate"}
        What ``transform`` does with a batch absent from ``fit``.
    tol : float
        Relative convergence tolerance of the parametric EB iteration (1e-4 as in sva and neuroCombat).

    Attributes
    ----------
    batches_ : ndarray of batch labels (sorted); ``gamma_star_``, ``delta_star_`` (n_batches, n_features);
    coef_ (design coefficients, n_design, n_features); ``grand_mean_``, ``var_pooled_`` (n_features,);
    ``feature_columns_`` (the harmonised input columns).
    """

    def __init__(self, batch=0, covariates=None, categorical=None, parametric: bool = True, mean_only: bool = False,
                 eb: bool = True, reference_batch=None, unseen: str = "error", tol: float = 1e-4):
        self.batch = batch
        self.covariates = covariates
        self.categorical = categorical
        self.parametric = parametric
        self.mean_only = mean_only
        self.eb = eb
        self.reference_batch = reference_batch
        self.unseen = unseen
        self.tol = tol

    # ---- input handling -------------------------------------------------------------------------------------------
    def _split(self, X, reset: bool):
        """-> (features (n, p) float, batch labels (n,), covariate frame)."""
        if reset and self.unseen not in ("error", "passthrough", "estimate"):
            raise ValueError(f"unseen must be 'error', 'passthrough' or 'estimate', got {self.unseen!r}")
        if hasattr(X, "__sparse__") or type(X).__module__.startswith("scipy.sparse"):
            raise TypeError("ComBat does not accept sparse input; pass a dense array or DataFrame")
        _check_feature_names(self, X, reset=reset)
        is_df = isinstance(X, pd.DataFrame)
        if not is_df:
            X = check_array(X, dtype=None, ensure_all_finite=False, ensure_min_samples=1)
            X = pd.DataFrame(X)
        _check_n_features(self, X, reset=reset)
        covs = list(self.covariates or [])
        meta = [self.batch] + covs
        for c in meta:
            if c not in X.columns:
                where = "names" if is_df else "positions"
                raise ValueError(f"ComBat: column {c!r} not in X (columns are given by {where}; X has "
                                 f"{X.shape[1]} columns)")
        if len(set(map(str, meta))) != len(meta):
            raise ValueError("ComBat: the batch and covariate columns must be distinct")
        feat_cols = [c for c in X.columns if c not in meta]
        if not feat_cols:
            raise ValueError(f"ComBat: X has {X.shape[1]} feature(s) counting the batch column, so no feature is left "
                             "to harmonise; it needs at least 1 feature(s) besides the batch and covariate columns")
        F = check_array(X[feat_cols].to_numpy(), dtype=np.float64, ensure_min_samples=1)
        labels = X[self.batch].to_numpy()
        if pd.isna(labels).any() or (np.issubdtype(labels.dtype, np.number) and not np.all(np.isfinite(labels))):
            raise ValueError("ComBat: Input contains NaN or infinity in the batch column")
        return F, labels, X[covs], feat_cols

    def _covariate_design(self, C: pd.DataFrame, reset: bool) -> np.ndarray:
        cols = []
        if reset:
            cat = set(self.categorical or [])
            self.covariate_levels_ = {}
            for c in C.columns:
                if c in cat or not pd.api.types.is_numeric_dtype(C[c]) or pd.api.types.is_bool_dtype(C[c]):
                    self.covariate_levels_[c] = np.unique(C[c].to_numpy().astype(object).astype(str))
        for c in C.columns:
            if c in self.covariate_levels_:
                levels = self.covariate_levels_[c]
                v = C[c].to_numpy().astype(object).astype(str)
                bad = ~np.isin(v, levels)
                if bad.any():
                    raise ValueError(f"ComBat: covariate {c!r} has level(s) unseen in fit: {sorted(set(v[bad]))[:5]}")
                cols.extend((v == lev).astype(float) for lev in levels[1:])  # first level is the baseline
            else:
                v = C[c].to_numpy(dtype=float)
                if not np.all(np.isfinite(v)):
                    raise ValueError(f"ComBat: covariate {c!r} holds NaN or infinite values")
                cols.append(v)
        return np.column_stack(cols) if cols else np.empty((len(C), 0))

    # ---- fit / transform -------------------------------------------------------------------------------------------
    def fit(self, X, y=None):
        F, labels, C, feat_cols = self._split(X, reset=True)
        n, p = F.shape
        if n < 2:
            raise ValueError(f"ComBat needs at least 2 samples, got 1 sample (n_samples = {n})")
        self.feature_columns_ = np.asarray(feat_cols, dtype=object)
        batches, idx, counts = np.unique(labels, return_inverse=True, return_counts=True)
        nb = len(batches)
        if nb < 2:
            raise ValueError(f"ComBat needs at least 2 batches, got 1 ({batches[0]!r})")
        self.batches_ = batches
        ref = None
        if self.reference_batch is not None:
            hit = np.flatnonzero(batches == self.reference_batch)
            if not hit.size:
                raise ValueError(f"ComBat: reference_batch {self.reference_batch!r} is not among the batches "
                                 f"{batches.tolist()[:10]}")
            ref = int(hit[0])
        self.reference_index_ = ref
        mean_only = bool(self.mean_only)
        if counts.min() < 2 and not mean_only:
            warnings.warn(f"ComBat: batch {batches[np.argmin(counts)]!r} has 1 sample; its variance cannot be "
                          "estimated, so mean_only=True is used (as sva::ComBat does)", UserWarning, stacklevel=2)
            mean_only = True
        self.mean_only_ = mean_only

        onehot = (idx[:, None] == np.arange(nb)[None, :]).astype(float)
        if ref is not None:
            onehot[:, ref] = 1.0
        Z = self._covariate_design(C, reset=True)
        D = np.hstack([onehot, Z])
        if np.linalg.matrix_rank(D) < D.shape[1]:
            raise ValueError("ComBat: the design (batch + covariates) is singular: a covariate is confounded with the "
                             "batch or constant")
        B = np.linalg.solve(D.T @ D, D.T @ F)  # (n_design, p)
        self.coef_ = B
        if ref is not None:
            grand = B[ref]
            rows = idx == ref
            var_pooled = ((F[rows] - D[rows] @ B) ** 2).mean(axis=0)
        else:
            grand = (counts / n) @ B[:nb]
            var_pooled = ((F - D @ B) ** 2).mean(axis=0)
        var_pooled = np.where(var_pooled == 0, 1.0, var_pooled)
        self.grand_mean_ = grand
        self.var_pooled_ = var_pooled
        s = (F - grand - Z @ B[nb:]) / np.sqrt(var_pooled)

        bd = onehot
        gamma_hat = np.linalg.solve(bd.T @ bd, bd.T @ s)  # (nb, p)
        g_star = np.empty((nb, p))
        d_star = np.empty((nb, p))
        delta_hat = np.ones((nb, p))
        for i in range(nb):
            rows = idx == i
            if not mean_only:
                dh = s[rows].var(axis=0, ddof=1)
                delta_hat[i] = np.where(dh == 0, 1.0, dh)
            g_star[i], d_star[i] = self._shrink(s[rows], gamma_hat[i], delta_hat[i], mean_only)
        if ref is not None:
            g_star[ref], d_star[ref] = 0.0, 1.0
        self.gamma_hat_, self.delta_hat_ = gamma_hat, delta_hat
        self.gamma_star_, self.delta_star_ = g_star, d_star
        return self

    def _shrink(self, s, g_hat, d_hat, mean_only):
        if not self.eb:
            return g_hat.copy(), (np.ones_like(d_hat) if mean_only else d_hat.copy())
        if g_hat.size < 2:
            # one feature: no distribution across features to borrow from
            return g_hat.copy(), (np.ones_like(d_hat) if mean_only else d_hat.copy())
        if self.parametric:
            return _parametric(s, g_hat, d_hat, mean_only, self.tol)
        return _non_parametric(s, g_hat, d_hat, mean_only)

    def transform(self, X):
        check_is_fitted(self, "gamma_star_")
        F, labels, C, _ = self._split(X, reset=False)
        nb = len(self.batches_)
        Z = self._covariate_design(C, reset=False)
        mod = Z @ self.coef_[nb:]
        sd = np.sqrt(self.var_pooled_)
        s = (F - self.grand_mean_ - mod) / sd
        out = np.empty_like(F)
        done = np.zeros(len(F), bool)
        for i, b in enumerate(self.batches_):
            rows = labels == b
            if not rows.any():
                continue
            done |= rows
            if i == self.reference_index_:
                out[rows] = F[rows]
                continue
            out[rows] = (s[rows] - self.gamma_star_[i]) / np.sqrt(self.delta_star_[i]) * sd + self.grand_mean_ \
                + mod[rows]
        if not done.all():
            new = pd.unique(labels[~done])
            if self.unseen == "error":
                raise ValueError(f"ComBat: batch(es) {list(new)[:10]} were not seen in fit; harmonise them by fitting "
                                 "on data that include them, or choose unseen='passthrough' or 'estimate'")
            for b in new:
                rows = labels == b
                if self.unseen == "passthrough":
                    out[rows] = F[rows]
                    continue
                sb = s[rows]
                if sb.shape[0] < 2:
                    raise ValueError(f"ComBat: unseen batch {b!r} has 1 sample; unseen='estimate' needs >= 2")
                g_hat = sb.mean(axis=0)
                if self.mean_only_:
                    d_hat = np.ones_like(g_hat)
                else:
                    d_hat = sb.var(axis=0, ddof=1)
                    d_hat = np.where(d_hat == 0, 1.0, d_hat)
                g, d = self._shrink(sb, g_hat, d_hat, self.mean_only_)
                out[rows] = (sb - g) / np.sqrt(d) * sd + self.grand_mean_ + mod[rows]
        return out

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "feature_columns_")
        return np.asarray([str(c) if not isinstance(c, str) else c for c in self.feature_columns_], dtype=object) \
            if hasattr(self, "feature_names_in_") else np.asarray([f"x{c}" for c in self.feature_columns_],
                                                                  dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags
