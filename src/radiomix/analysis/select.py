"""Feature selection as scikit-learn selectors (fit / transform / get_support / get_feature_names_out).

* :class:`NearZeroVariance`: zero and near-zero variance (caret's frequency-ratio / percent-unique rule).
* :class:`CorrelationClusters`: redundancy removal; hierarchical clusters of |correlation| >= threshold, one member kept
  per cluster (most relevant to y, most robust, or most variable).
* :class:`UnivariateFDR`: univariate tests with Benjamini-Hochberg false discovery rate control.
* :class:`MRMR`: minimum redundancy maximum relevance (Peng, Long & Ding 2005), MID or MIQ.
* :class:`SparseSelector`: LASSO / elastic net (regression) or L1 / elastic-net logistic (classification).
* :class:`StabilitySelection`: Meinshausen & Bühlmann (2010) stability selection over a regularisation path.
* :class:`RFESelector`: recursive feature elimination (sklearn's RFE / RFECV) with a standardised default model.

Reductions that build new features (:class:`PCAReduction`, :class:`ICAReduction`) live in
:mod:`radiomix.analysis.reduce`; they have no ``get_support`` because no input column is kept.

Every selector is fitted on training data only, so it can sit in a Pipeline inside cross-validation. The task
(classification or regression) is inferred from y with :func:`sklearn.utils.multiclass.type_of_target` unless given.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.cluster import hierarchy
from scipy.spatial.distance import squareform
from sklearn.base import BaseEstimator, clone
from sklearn.feature_selection import RFE, RFECV, SelectorMixin
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = [
    "MRMR",
    "CorrelationClusters",
    "NearZeroVariance",
    "RFESelector",
    "SparseSelector",
    "StabilitySelection",
    "UnivariateFDR",
    "benjamini_hochberg",
]


def _task(y, task: str) -> str:
    if task in ("classification", "regression"):
        return task
    if task != "auto":
        raise ValueError(f"task must be 'auto', 'classification' or 'regression', got {task!r}")
    kind = type_of_target(y)
    return "classification" if kind in ("binary", "multiclass") else "regression"


def _standardise(X):
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


class _Selector(SelectorMixin, BaseEstimator):
    def _get_support_mask(self):
        check_is_fitted(self, "support_")
        return self.support_


# --------------------------------------------------------------------------------------------------------------------


class NearZeroVariance(_Selector):
    """Drop constant and near-zero-variance features.

    A feature is dropped if its variance is <= ``variance_threshold`` or (caret's ``nearZeroVar`` rule) if the ratio
    of the most frequent to the second most frequent value is > ``freq_cut`` *and* the share of distinct values is
    < ``unique_cut`` percent. ``freq_cut=None`` disables the second rule.
    """

    def __init__(self, freq_cut: float | None = 95 / 5, unique_cut: float = 10.0, variance_threshold: float = 0.0):
        self.freq_cut = freq_cut
        self.unique_cut = unique_cut
        self.variance_threshold = variance_threshold

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=np.float64)
        n, p = X.shape
        var = X.var(axis=0)
        keep = var > self.variance_threshold
        freq_ratio = np.full(p, np.inf)
        pct_unique = np.zeros(p)
        for j in range(p):
            _, counts = np.unique(X[:, j], return_counts=True)
            pct_unique[j] = 100.0 * counts.size / n
            if counts.size >= 2:
                top = np.sort(counts)[::-1]
                freq_ratio[j] = top[0] / top[1]
        if self.freq_cut is not None:
            keep &= ~((freq_ratio > self.freq_cut) & (pct_unique < self.unique_cut))
        self.variances_, self.freq_ratio_, self.percent_unique_ = var, freq_ratio, pct_unique
        self.support_ = keep
        return self


# --------------------------------------------------------------------------------------------------------------------


def _relevance(X, y, task):
    """Per-feature relevance to y: ANOVA F (classification) or |Spearman rho| (regression)."""
    if task == "classification":
        classes = np.unique(y)
        if classes.size < 2:
            return np.zeros(X.shape[1])
        with np.errstate(divide="ignore", invalid="ignore"):
            f = stats.f_oneway(*[X[y == c] for c in classes], axis=0).statistic
        return np.nan_to_num(f, nan=0.0, posinf=np.finfo(float).max)
    r = _spearman_with(X, y)
    return np.abs(r)


def _spearman_with(X, y):
    rx = _standardise(stats.rankdata(X, axis=0))
    ry = _standardise(stats.rankdata(y))
    return rx.T @ ry / X.shape[0]


class CorrelationClusters(_Selector):
    """Remove redundancy: cluster features whose pairwise |correlation| >= ``threshold`` and keep one per cluster.

    Clusters come from agglomerative clustering of 1 - |r| cut at 1 - threshold; with ``linkage="complete"`` every
    pair inside a cluster has |r| >= threshold. The member kept is, by ``keep``:

    * ``"relevance"``: most related to y (ANOVA F for classification, |Spearman rho| for regression); needs y;
    * ``"robustness"``: highest value in ``robustness`` (e.g. ICC per feature; a mapping name -> value with
      DataFrame input, or an array aligned with the columns);
    * ``"variance"``: highest variance (unsupervised; scale-dependent).

    Attributes: ``labels_`` (cluster of each feature), ``scores_`` (the score used to pick).
    """

    def __init__(self, threshold: float = 0.9, method: str = "spearman", linkage: str = "complete",
                 keep: str = "relevance", robustness=None, task: str = "auto"):
        self.threshold = threshold
        self.method = method
        self.linkage = linkage
        self.keep = keep
        self.robustness = robustness
        self.task = task

    def fit(self, X, y=None):
        if self.keep == "relevance":
            if y is None:
                raise ValueError("CorrelationClusters(keep='relevance') needs y; use keep='variance' or 'robustness'")
            X, y = validate_data(self, X, y, dtype=np.float64)
        else:
            X = validate_data(self, X, dtype=np.float64)
        if self.method not in ("spearman", "pearson"):
            raise ValueError(f"method must be 'spearman' or 'pearson', got {self.method!r}")
        if self.keep not in ("relevance", "robustness", "variance"):
            raise ValueError(f"keep must be 'relevance', 'robustness' or 'variance', got {self.keep!r}")
        p = X.shape[1]
        Z = stats.rankdata(X, axis=0) if self.method == "spearman" else X
        Zs = _standardise(Z)
        r = np.abs(Zs.T @ Zs / X.shape[0])
        const = X.std(axis=0) == 0
        r[const, :] = 0
        r[:, const] = 0
        np.fill_diagonal(r, 1.0)
        if p > 1:
            dist = np.clip(1 - r, 0, None)
            tree = hierarchy.linkage(squareform(dist, checks=False), method=self.linkage)
            labels = hierarchy.fcluster(tree, t=1 - self.threshold, criterion="distance")
        else:
            labels = np.ones(1, int)
        if self.keep == "relevance":
            score = _relevance(X, y, _task(y, self.task))
        elif self.keep == "variance":
            score = X.var(axis=0)
        else:
            score = self._robustness(p)
        score = np.nan_to_num(np.asarray(score, float), nan=-np.inf)
        support = np.zeros(p, bool)
        for lab in np.unique(labels):
            members = np.flatnonzero(labels == lab)
            support[members[np.argmax(score[members])]] = True  # ties: the first column
        self.labels_, self.scores_, self.support_ = labels, score, support
        return self

    def _robustness(self, p):
        if self.robustness is None:
            raise ValueError("keep='robustness' needs robustness=... (e.g. the ICC of each feature)")
        rb = self.robustness
        if hasattr(rb, "reindex") or isinstance(rb, dict):
            import pandas as pd

            names = getattr(self, "feature_names_in_", np.array([f"x{i}" for i in range(p)]))
            return pd.Series(rb, dtype=float).reindex(names).to_numpy()
        rb = np.asarray(rb, float).ravel()
        if rb.size != p:
            raise ValueError(f"{rb.size} robustness values for {p} features")
        return rb


# --------------------------------------------------------------------------------------------------------------------


def benjamini_hochberg(pvalues) -> np.ndarray:
    """Benjamini-Hochberg (1995) adjusted p-values (q-values); NaN p-values stay NaN and do not count in m."""
    p = np.asarray(pvalues, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return q
    pv = p[ok]
    order = np.argsort(pv)
    ranked = pv[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    q[ok] = out
    return q


class UnivariateFDR(_Selector):
    """Univariate tests of each feature against y, keeping features with BH q-value <= ``alpha``.

    ``test``: ``"auto"`` (Mann-Whitney U for two classes, Kruskal-Wallis for more, Spearman for a continuous y),
    ``"mannwhitney"``, ``"kruskal"``, ``"anova"`` (one-way F), ``"ttest"`` (Welch), ``"spearman"``, ``"pearson"``.
    Attributes ``pvalues_`` and ``qvalues_``. If no feature passes, none is kept (and sklearn warns at transform).
    """

    def __init__(self, alpha: float = 0.05, test: str = "auto"):
        self.alpha = alpha
        self.test = test

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64)
        test = self.test
        if test == "auto":
            kind = type_of_target(y)
            test = {"binary": "mannwhitney", "multiclass": "kruskal"}.get(kind, "spearman")
        n = X.shape[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            if test in ("mannwhitney", "kruskal", "anova", "ttest"):
                check_classification_targets(y)
                classes = np.unique(y)
                if classes.size < 2:
                    raise ValueError("UnivariateFDR: y has 1 class; a test needs at least 2")
                groups = [X[y == c] for c in classes]
                if test == "mannwhitney":
                    if classes.size != 2:
                        raise ValueError("the Mann-Whitney test compares two classes; use 'kruskal'")
                    pv = stats.mannwhitneyu(groups[0], groups[1], axis=0, method="asymptotic").pvalue
                elif test == "ttest":
                    if classes.size != 2:
                        raise ValueError("the t-test compares two classes; use 'anova'")
                    pv = stats.ttest_ind(groups[0], groups[1], axis=0, equal_var=False).pvalue
                elif test == "anova":
                    pv = stats.f_oneway(*groups, axis=0).pvalue
                else:
                    pv = np.array([_kruskal(X[:, j], y, classes) for j in range(X.shape[1])])
            elif test in ("spearman", "pearson"):
                yv = np.asarray(y, dtype=float)
                r = _spearman_with(X, yv) if test == "spearman" else \
                    _standardise(X).T @ _standardise(yv) / n
                r = np.clip(r, -1, 1)
                t = r * np.sqrt((n - 2) / np.maximum(1 - r**2, 1e-300))
                pv = 2 * stats.t.sf(np.abs(t), n - 2)
                pv[X.std(axis=0) == 0] = np.nan
            else:
                raise ValueError(f"unknown test {self.test!r}")
        pv = np.asarray(pv, dtype=float)
        q = benjamini_hochberg(pv)
        self.test_, self.pvalues_, self.qvalues_ = test, pv, q
        self.support_ = np.nan_to_num(q, nan=np.inf) <= self.alpha
        return self


def _kruskal(x, y, classes):
    try:
        return stats.kruskal(*[x[y == c] for c in classes]).pvalue
    except ValueError:  # all values identical
        return np.nan


# --------------------------------------------------------------------------------------------------------------------


def _discretise(X, n_bins):
    """Equal-frequency bins per column (ranks), integers 0..n_bins-1."""
    r = stats.rankdata(X, axis=0, method="average")
    return np.minimum(((r - 1) * n_bins / X.shape[0]).astype(int), n_bins - 1)


def _mutual_info(A, b, n_a, n_b):
    """MI (nats) between each column of the integer array A (levels < n_a) and the integer vector b (levels < n_b)."""
    n, p = A.shape
    codes = A * n_b + b[:, None]
    mi = np.empty(p)
    pb = np.bincount(b, minlength=n_b) / n
    for j in range(p):
        joint = np.bincount(codes[:, j], minlength=n_a * n_b).reshape(n_a, n_b) / n
        pa = joint.sum(axis=1)
        nz = joint > 0
        mi[j] = np.sum(joint[nz] * np.log(joint[nz] / np.outer(pa, pb)[nz]))
    return mi


class MRMR(_Selector):
    """Minimum redundancy maximum relevance (Peng, Long & Ding 2005), greedy forward selection of ``n_features``.

    Relevance and redundancy are mutual information between features discretised into ``n_bins`` equal-frequency bins
    and y (classes, or y binned the same way for regression). Scheme ``"MID"`` maximises relevance - mean redundancy,
    ``"MIQ"`` relevance / mean redundancy. Attributes: ``ranking_`` (the order of selection, column indices),
    ``relevance_``.
    """

    def __init__(self, n_features: int = 10, scheme: str = "MID", n_bins: int = 5, task: str = "auto"):
        self.n_features = n_features
        self.scheme = scheme
        self.n_bins = n_bins
        self.task = task

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64)
        if self.scheme not in ("MID", "MIQ"):
            raise ValueError(f"scheme must be 'MID' or 'MIQ', got {self.scheme!r}")
        if not (isinstance(self.n_features, (int, np.integer)) and self.n_features >= 1):
            raise ValueError(f"n_features must be a positive integer, got {self.n_features!r}")
        n, p = X.shape
        nb = max(2, min(int(self.n_bins), n))
        A = _discretise(X, nb)
        if _task(y, self.task) == "classification":
            check_classification_targets(y)
            b = np.unique(y, return_inverse=True)[1]
            n_b = int(b.max()) + 1
        else:
            b = _discretise(np.asarray(y, float)[:, None], nb)[:, 0]
            n_b = nb
        rel = _mutual_info(A, b, nb, n_b)
        k = min(int(self.n_features), p)
        chosen = [int(np.argmax(rel))]
        red_sum = np.zeros(p)
        while len(chosen) < k:
            red_sum += _mutual_info(A, A[:, chosen[-1]], nb, nb)
            red = red_sum / len(chosen)
            score = rel - red if self.scheme == "MID" else rel / np.maximum(red, 1e-12)
            score[chosen] = -np.inf
            chosen.append(int(np.argmax(score)))
        support = np.zeros(p, bool)
        support[chosen] = True
        self.relevance_, self.ranking_, self.support_ = rel, np.asarray(chosen), support
        return self


# --------------------------------------------------------------------------------------------------------------------


def _sparse_model(task, penalty, strength, l1_ratio, random_state, max_iter=5000):
    if task == "classification":
        kw = {"C": strength, "solver": "saga", "max_iter": max_iter, "random_state": random_state, "tol": 1e-3}
        return LogisticRegression(l1_ratio=1.0 if penalty == "l1" else l1_ratio, **kw)
    if penalty == "l1":
        return Lasso(alpha=strength, max_iter=max_iter, random_state=random_state)
    return ElasticNet(alpha=strength, l1_ratio=l1_ratio, max_iter=max_iter, random_state=random_state)


class SparseSelector(_Selector):
    """Keep the features with a non-zero coefficient in a sparse linear model fitted on standardised features.

    Regression: LASSO (``penalty="l1"``, strength ``alpha``) or elastic net. Classification: L1 or elastic-net logistic
    regression (strength ``C`` = 1/alpha). ``alpha=None`` picks it by ``cv``-fold cross-validation (LassoCV,
    ElasticNetCV, LogisticRegressionCV). Attributes ``coef_`` (per feature; the largest |coef| over classes for
    multiclass) and ``alpha_``.
    """

    def __init__(self, alpha: float | None = None, penalty: str = "l1", l1_ratio: float = 0.5, cv: int = 5,
                 task: str = "auto", tol: float = 1e-10, random_state=None):
        self.alpha = alpha
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.cv = cv
        self.task = task
        self.tol = tol
        self.random_state = random_state

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64)
        if self.penalty not in ("l1", "elasticnet"):
            raise ValueError(f"penalty must be 'l1' or 'elasticnet', got {self.penalty!r}")
        task = _task(y, self.task)
        if task == "classification":
            check_classification_targets(y)
        Xs = _standardise(X)
        if self.alpha is None:
            from sklearn.linear_model import ElasticNetCV, LassoCV, LogisticRegressionCV

            if task == "classification":
                m = LogisticRegressionCV(Cs=10, cv=self.cv, solver="saga", max_iter=5000, tol=1e-3,
                                         l1_ratios=(1.0 if self.penalty == "l1" else self.l1_ratio,),
                                         scoring="neg_log_loss", use_legacy_attributes=False,
                                         random_state=self.random_state).fit(Xs, y)
                alpha = 1.0 / float(np.ravel(m.C_)[0])
            elif self.penalty == "l1":
                m = LassoCV(cv=self.cv, random_state=self.random_state).fit(Xs, y)
                alpha = float(m.alpha_)
            else:
                m = ElasticNetCV(cv=self.cv, l1_ratio=self.l1_ratio, random_state=self.random_state).fit(Xs, y)
                alpha = float(m.alpha_)
        else:
            alpha = float(self.alpha)
            strength = 1.0 / alpha if task == "classification" else alpha
            m = _sparse_model(task, self.penalty, strength, self.l1_ratio, self.random_state).fit(Xs, y)
        coef = np.atleast_2d(m.coef_)
        coef = coef[np.argmax(np.abs(coef), axis=0), np.arange(coef.shape[1])]
        self.coef_, self.alpha_ = coef, alpha
        self.support_ = np.abs(coef) > self.tol
        return self


class StabilitySelection(_Selector):
    """Stability selection (Meinshausen & Bühlmann 2010) with a LASSO / L1-logistic base model.

    For ``n_resamples`` random subsamples of size ``sample_fraction * n`` (stratified by class for classification)
    and each regularisation strength in ``alphas`` (on standardised features; for classification C = 1/alpha), fit
    the sparse model and record which features are selected. A feature's stability score is its maximum selection
    frequency over the path; features scoring >= ``threshold`` are kept. ``weakness`` < 1 gives the randomised LASSO
    (each feature rescaled by a uniform factor in [weakness, 1] per resample).

    Attributes: ``stability_scores_`` (n_features, n_alphas), ``scores_`` (max over alphas) and
    ``expected_false_selections_``, the bound E[V] <= q^2 / ((2 threshold - 1) p) with q the mean number of features
    selected per resample at the largest selection set of the path.
    """

    def __init__(self, alphas=(0.05, 0.1, 0.2), n_resamples: int = 50, sample_fraction: float = 0.5,
                 threshold: float = 0.6, weakness: float = 1.0, task: str = "auto", random_state=None):
        self.alphas = alphas
        self.n_resamples = n_resamples
        self.sample_fraction = sample_fraction
        self.threshold = threshold
        self.weakness = weakness
        self.task = task
        self.random_state = random_state

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64)
        if not 0.5 < self.threshold <= 1:
            raise ValueError(f"threshold must be in (0.5, 1], got {self.threshold}")
        if not 0 < self.sample_fraction < 1:
            raise ValueError(f"sample_fraction must be in (0, 1), got {self.sample_fraction}")
        task = _task(y, self.task)
        if task == "classification":
            check_classification_targets(y)
        rng = check_random_state(self.random_state)
        n, p = X.shape
        alphas = np.atleast_1d(np.asarray(self.alphas, dtype=float))
        counts = np.zeros((p, alphas.size))
        n_sel = np.zeros(alphas.size)
        m = max(2, round(self.sample_fraction * n))
        for _ in range(int(self.n_resamples)):
            if task == "classification":
                idx = np.concatenate([rng.choice(np.flatnonzero(y == c), max(1, round(self.sample_fraction *
                                      np.sum(y == c))), replace=False) for c in np.unique(y)])
            else:
                idx = rng.choice(n, m, replace=False)
            Xs = _standardise(X[idx])
            if self.weakness < 1:
                Xs = Xs * rng.uniform(self.weakness, 1.0, size=p)
            ys = y[idx]
            if task == "classification" and np.unique(ys).size < 2:
                continue
            for a, alpha in enumerate(alphas):
                strength = 1.0 / alpha if task == "classification" else alpha
                model = _sparse_model(task, "l1", strength, 1.0, rng.randint(2**31 - 1), max_iter=2000)
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit(Xs, ys)
                sel = np.any(np.abs(np.atleast_2d(model.coef_)) > 1e-10, axis=0)
                counts[:, a] += sel
                n_sel[a] += sel.sum()
        freq = counts / max(1, int(self.n_resamples))
        self.stability_scores_ = freq
        self.scores_ = freq.max(axis=1)
        q = (n_sel / max(1, int(self.n_resamples))).max()
        self.expected_false_selections_ = q**2 / ((2 * self.threshold - 1) * p)
        self.support_ = self.scores_ >= self.threshold
        return self


class RFESelector(_Selector):
    """Recursive feature elimination: sklearn's :class:`~sklearn.feature_selection.RFE` (or RFECV when ``cv`` is
    given) around ``estimator`` (default: standardised logistic regression or ridge, by task)."""

    def __init__(self, estimator=None, n_features_to_select=None, step=1, cv=None, scoring=None, task: str = "auto"):
        self.estimator = estimator
        self.n_features_to_select = n_features_to_select
        self.step = step
        self.cv = cv
        self.scoring = scoring
        self.task = task

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64)
        task = _task(y, self.task)
        if self.estimator is not None:
            est = clone(self.estimator)
            imp = "auto"
        else:
            from sklearn.linear_model import Ridge

            est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000) if task == "classification"
                                else Ridge())
            imp = f"named_steps.{est.steps[-1][0]}.coef_"
        if self.cv is None:
            rfe = RFE(est, n_features_to_select=self.n_features_to_select, step=self.step, importance_getter=imp)
        else:
            kw = {} if self.n_features_to_select is None else {"min_features_to_select": self.n_features_to_select}
            rfe = RFECV(est, step=self.step, cv=self.cv, scoring=self.scoring, importance_getter=imp, **kw)
        rfe.fit(X, y)
        self.rfe_ = rfe
        self.ranking_ = rfe.ranking_
        self.support_ = rfe.support_
        return self
