r"""Feature robustness: intraclass correlation, concordance, within-subject variation, phantom repeatability.

Input is a *long* table: one row per measurement, a ``case`` column (the subject, lesion or phantom insert), a
``rater`` column (the repeat, reader, segmentation or perturbation) and one column per feature. Every function returns
one row per feature.

ICC forms follow Shrout & Fleiss (1979) and McGraw & Wong (1996), from a two-way ANOVA of ``n`` cases by ``k`` raters
(complete, balanced designs):

* MSR (between cases) :math:`= k \sum_i (\bar x_{i\cdot} - \bar x)^2/(n-1)`
* MSC (between raters) :math:`= n \sum_j (\bar x_{\cdot j} - \bar x)^2/(k-1)`
* MSW (within cases) :math:`= (SS_T - SS_R)/(n(k-1))`; MSE (residual) :math:`= (SS_T - SS_R - SS_C)/((n-1)(k-1))`

======================= ====================== ==========================================================
ours                    McGraw & Wong          formula
======================= ====================== ==========================================================
``icc1``  ICC(1,1)      ICC(1)                 (MSR - MSW) / (MSR + (k-1) MSW)
``icc2``  ICC(2,1)      ICC(A,1)               (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n)
``icc3``  ICC(3,1)      ICC(C,1)               (MSR - MSE) / (MSR + (k-1) MSE)
``icc1k`` ICC(1,k)      ICC(k)                 (MSR - MSW) / MSR
``icc2k`` ICC(2,k)      ICC(A,k)               (MSR - MSE) / (MSR + (MSC - MSE) / n)
``icc3k`` ICC(3,k)      ICC(C,k)               (MSR - MSE) / MSR
======================= ====================== ==========================================================

Confidence intervals are the exact F-distribution intervals of Shrout & Fleiss (ICC(1,·), ICC(3,·)) and McGraw &
Wong's approximate interval with Satterthwaite degrees of freedom for ICC(2,·) (the same formulas pingouin and R's
``psych::ICC`` use). A feature constant across every measurement has no between-case variance: its ICC is NaN.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from radiomix.errors import InputError

ICC_FORMS = ("icc1", "icc2", "icc3", "icc1k", "icc2k", "icc3k")


# --------------------------------------------------------------------------------------------------------------------
# reshaping


def _feature_columns(table: pd.DataFrame, exclude, features) -> list[str]:
    if features is not None:
        missing = [f for f in features if f not in table.columns]
        if missing:
            raise InputError(f"feature columns not in the table: {missing[:10]}")
        return list(features)
    cols = [c for c in table.columns if c not in exclude and pd.api.types.is_numeric_dtype(table[c])]
    if not cols:
        raise InputError("the table has no numeric feature columns besides " + ", ".join(map(str, exclude)))
    return cols


def finite_features(table: pd.DataFrame, features, *, under: str) -> list[str]:
    """The features that are finite in every row; the others are left out with one warning (``under`` says across
    what they varied, e.g. "some perturbation"). An empty result is an InputError: nothing would be left to rank."""
    bad = [f for f in features if not np.all(np.isfinite(table[f].to_numpy(float)))]
    if bad:
        warnings.warn(f"{len(bad)} feature(s) are NaN under {under} and are left out, e.g. {bad[:3]}",
                      RuntimeWarning, stacklevel=3)
    kept = [f for f in features if f not in bad]
    if not kept:
        raise InputError(f"every feature is NaN under {under}; nothing to compare")
    return kept


def to_cube(table: pd.DataFrame, case: str, rater: str, features=None, *, incomplete: str = "error"):
    """Reshape a long table into an array (n_cases, n_raters, n_features).

    ``incomplete``: ``"error"`` (default) raises if a case lacks a rater or holds a NaN; ``"drop"`` drops those cases
    (per feature NaNs drop the whole case, so every feature is computed on the same cases). Duplicate (case, rater)
    rows are an error.
    """
    for c in (case, rater):
        if c not in table.columns:
            raise InputError(f"column {c!r} not in the table (columns: {list(table.columns)[:10]})")
    feats = _feature_columns(table, (case, rater), features)
    dup = table.duplicated([case, rater])
    if dup.any():
        first = table.loc[dup, [case, rater]].iloc[0].tolist()
        raise InputError(f"{int(dup.sum())} duplicate ({case}, {rater}) rows, first {first}")
    wide = table.pivot(index=case, columns=rater, values=feats)  # columns: (feature, rater)
    raters = list(dict.fromkeys(table[rater]))
    wide = wide.reindex(columns=pd.MultiIndex.from_product([feats, raters]))
    cube = wide.to_numpy(dtype=float).reshape(len(wide), len(feats), len(raters)).transpose(0, 2, 1)
    bad = ~np.isfinite(cube).all(axis=(1, 2))
    if bad.any():
        if incomplete == "error":
            raise InputError(
                f"{int(bad.sum())} case(s) miss a {rater} or hold NaN/inf values (first: {wide.index[bad][0]!r}); "
                "pass incomplete='drop' to drop them")
        if incomplete != "drop":
            raise ValueError(f"incomplete must be 'error' or 'drop', got {incomplete!r}")
        cube = cube[~bad]
    if cube.shape[0] < 2 or cube.shape[1] < 2:
        raise InputError(f"need at least 2 complete cases and 2 {rater}s, got {cube.shape[0]} x {cube.shape[1]}")
    return cube, feats


# --------------------------------------------------------------------------------------------------------------------
# ICC


def _mean_squares(cube: np.ndarray):
    n, k = cube.shape[:2]
    grand = cube.mean(axis=(0, 1))
    row = cube.mean(axis=1)  # (n, p)
    col = cube.mean(axis=0)  # (k, p)
    ss_t = ((cube - grand) ** 2).sum(axis=(0, 1))
    ss_r = k * ((row - grand) ** 2).sum(axis=0)
    ss_c = n * ((col - grand) ** 2).sum(axis=0)
    msr = ss_r / (n - 1)
    msc = ss_c / (k - 1)
    msw = (ss_t - ss_r) / (n * (k - 1))
    mse = (ss_t - ss_r - ss_c) / ((n - 1) * (k - 1))
    return msr, msc, msw, mse


def icc_from_array(cube, alpha: float = 0.05) -> pd.DataFrame:
    """ICC forms with ``1 - alpha`` confidence intervals from an array (n_cases, n_raters[, n_features]).

    Returns one row per feature with columns ``icc1, icc1_low, icc1_high, ..., icc3k_high, msr, msc, msw, mse, n, k``.
    """
    cube = np.asarray(cube, dtype=float)
    if cube.ndim == 2:
        cube = cube[:, :, None]
    if cube.ndim != 3:
        raise InputError(f"expected an array (cases, raters[, features]), got shape {cube.shape}")
    n, k = cube.shape[:2]
    if n < 2 or k < 2:
        raise InputError(f"ICC needs at least 2 cases and 2 raters, got {n} x {k}")
    msr, msc, msw, mse = _mean_squares(cube)
    q = 1 - alpha / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {}
        out["icc1"] = (msr - msw) / (msr + (k - 1) * msw)
        out["icc2"] = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
        out["icc3"] = (msr - mse) / (msr + (k - 1) * mse)
        out["icc1k"] = (msr - msw) / msr
        out["icc2k"] = (msr - mse) / (msr + (msc - mse) / n)
        out["icc3k"] = (msr - mse) / msr
        # ICC(1,.): F = MSR/MSW with (n-1, n(k-1)) df
        f1 = msr / msw
        df1, df2 = n - 1, n * (k - 1)
        fl = f1 / stats.f.ppf(q, df1, df2)
        fu = f1 * stats.f.ppf(q, df2, df1)
        out["icc1_low"], out["icc1_high"] = (fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1)
        out["icc1k_low"], out["icc1k_high"] = 1 - 1 / fl, 1 - 1 / fu
        # ICC(3,.): F = MSR/MSE with (n-1, (n-1)(k-1)) df
        f3 = msr / mse
        df2 = (n - 1) * (k - 1)
        fl = f3 / stats.f.ppf(q, df1, df2)
        fu = f3 * stats.f.ppf(q, df2, df1)
        out["icc3_low"], out["icc3_high"] = (fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1)
        out["icc3k_low"], out["icc3k_high"] = 1 - 1 / fl, 1 - 1 / fu
        # ICC(2,.): McGraw & Wong (1996) with Satterthwaite df v
        icc2 = out["icc2"]
        a = k * icc2 / (n * (1 - icc2))
        b = 1 + k * icc2 * (n - 1) / (n * (1 - icc2))
        v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / ((n - 1) * (k - 1)))
        fs = stats.f.ppf(q, n - 1, v)
        fs2 = stats.f.ppf(q, v, n - 1)
        low = n * (msr - fs * mse) / (fs * (k * msc + (k * n - k - n) * mse) + n * msr)
        high = n * (fs2 * msr - mse) / (k * msc + (k * n - k - n) * mse + n * fs2 * msr)
        out["icc2_low"], out["icc2_high"] = low, high
        out["icc2k_low"] = low * k / (1 + low * (k - 1))
        out["icc2k_high"] = high * k / (1 + high * (k - 1))
    order = [c for f in ICC_FORMS for c in (f, f + "_low", f + "_high")]
    df = pd.DataFrame({c: np.asarray(out[c], dtype=float) for c in order})
    const = ~(msr > 0)
    df.loc[const, order] = np.nan  # no between-case variance: ICC undefined
    df["msr"], df["msc"], df["msw"], df["mse"] = msr, msc, msw, mse
    df["n"], df["k"] = n, k
    return df


def icc(table: pd.DataFrame, case: str = "case", rater: str = "rater", features=None, *, alpha: float = 0.05,
        incomplete: str = "error") -> pd.DataFrame:
    """Per-feature ICC table (index: feature) from a long table; see the module docstring for the forms."""
    cube, feats = to_cube(table, case, rater, features, incomplete=incomplete)
    out = icc_from_array(cube, alpha)
    out.index = pd.Index(feats, name="feature")
    return out


# --------------------------------------------------------------------------------------------------------------------
# concordance and within-subject variation


def ccc(x, y, alpha: float = 0.05) -> tuple[float, float, float]:
    r"""Lin's (1989) concordance correlation coefficient with its asymptotic CI (Fisher z, Lin 1989 eq. 9).

    :math:`\rho_c = 2 s_{xy} / (s_x^2 + s_y^2 + (\bar x - \bar y)^2)` with moments divided by n.
    Returns (ccc, low, high). Both arguments constant: NaN.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise InputError(f"x and y must be 1D of the same length, got {x.shape} and {y.shape}")
    n = x.size
    mx, my = x.mean(), y.mean()
    sx2, sy2 = x.var(), y.var()
    sxy = ((x - mx) * (y - my)).mean()
    denom = sx2 + sy2 + (mx - my) ** 2
    if not denom > 0:
        return np.nan, np.nan, np.nan
    rc = 2 * sxy / denom
    if n < 3 or sx2 == 0 or sy2 == 0 or abs(rc) >= 1:
        return float(rc), np.nan, np.nan
    r = sxy / np.sqrt(sx2 * sy2)
    u = (mx - my) / (sx2 * sy2) ** 0.25
    var_z = ((1 - r**2) * rc**2 / ((1 - rc**2) * r**2) + 2 * rc**3 * (1 - rc) * u**2 / (r * (1 - rc**2) ** 2)
             - rc**4 * u**4 / (2 * r**2 * (1 - rc**2) ** 2)) / (n - 2)
    z = np.arctanh(rc)
    h = stats.norm.ppf(1 - alpha / 2) * np.sqrt(var_z)
    return float(rc), float(np.tanh(z - h)), float(np.tanh(z + h))


def concordance(table: pd.DataFrame, case: str = "case", rater: str = "rater", features=None, *, pair=None,
                alpha: float = 0.05, incomplete: str = "error") -> pd.DataFrame:
    """Per-feature Lin's CCC between two raters (``pair=(a, b)``; default: the only two raters in the table)."""
    if pair is not None:
        table = table[table[rater].isin(pair)]
    cube, feats = to_cube(table, case, rater, features, incomplete=incomplete)
    if cube.shape[1] != 2:
        raise InputError(f"CCC compares two {rater}s; the table has {cube.shape[1]}: pass pair=(a, b)")
    if pair is not None:
        order = list(dict.fromkeys(table[rater]))
        if order[0] != pair[0]:
            cube = cube[:, ::-1]
    rows = [ccc(cube[:, 0, j], cube[:, 1, j], alpha) for j in range(cube.shape[2])]
    return pd.DataFrame(rows, columns=["ccc", "ccc_low", "ccc_high"], index=pd.Index(feats, name="feature"))


def within_subject_cv(table: pd.DataFrame, case: str = "case", rater: str = "rater", features=None, *,
                      incomplete: str = "error") -> pd.DataFrame:
    r"""Per-feature within-subject variation across repeats.

    * ``wsd``: within-subject SD, :math:`\sqrt{MSW}` (the root mean within-case variance, ddof=1 per case);
    * ``wcv``: root-mean-square CV (Glüer et al. 1995), :math:`\sqrt{\mathrm{mean}_i (s_i^2/\bar x_i^2)}`;
    * ``wcv_pooled``: :math:`\sqrt{MSW} / |\bar x|`.

    Ratios are NaN where a mean is 0.
    """
    cube, feats = to_cube(table, case, rater, features, incomplete=incomplete)
    var_i = cube.var(axis=1, ddof=1)
    mean_i = cube.mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        wcv = np.sqrt(np.mean(np.where(mean_i != 0, var_i / mean_i**2, np.nan), axis=0))
        wsd = np.sqrt(var_i.mean(axis=0))
        grand = np.abs(cube.mean(axis=(0, 1)))
        pooled = np.where(grand > 0, wsd / grand, np.nan)
    return pd.DataFrame({"wsd": wsd, "wcv": wcv, "wcv_pooled": pooled}, index=pd.Index(feats, name="feature"))


def phantom_repeatability(table: pd.DataFrame, scanner: str = "scanner", features=None,
                          insert: str | None = None) -> pd.DataFrame:
    """Phantom repeatability and reproducibility per feature (and per phantom insert if ``insert`` is given).

    Rows are repeated acquisitions; ``scanner`` names the scanner (or protocol) of each row.

    * ``cv_repeat``: root-mean-square over scanners of the CV across repeats on one scanner (scanners with a single
      acquisition are skipped);
    * ``cv_scanner``: CV of the per-scanner means across scanners (needs >= 2 scanners);
    * ``cv_total``: CV over every acquisition.

    CVs use the sample SD (ddof=1) over the absolute mean; NaN where the mean is 0.
    """
    if scanner not in table.columns:
        raise InputError(f"column {scanner!r} not in the table")
    keys = [scanner] + ([insert] if insert else [])
    feats = _feature_columns(table, keys, features)

    def cv(sd, mean):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(np.abs(mean) > 0, sd / np.abs(mean), np.nan)

    def one(t: pd.DataFrame) -> pd.DataFrame:
        g = t.groupby(scanner)[feats]
        counts = g.size()
        means, sds = g.mean(), g.std(ddof=1)
        rep = counts.index[counts >= 2]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            cv_rep = np.sqrt(np.nanmean(cv(sds.loc[rep].to_numpy(), means.loc[rep].to_numpy()) ** 2, axis=0)) \
                if len(rep) else np.full(len(feats), np.nan)
        cv_sc = cv(means.std(ddof=1).to_numpy(), means.mean().to_numpy()) if len(means) >= 2 \
            else np.full(len(feats), np.nan)
        cv_tot = cv(t[feats].std(ddof=1).to_numpy(), t[feats].mean().to_numpy())
        return pd.DataFrame({"cv_repeat": cv_rep, "cv_scanner": cv_sc, "cv_total": cv_tot,
                             "n_scanners": len(means), "n_acquisitions": len(t)}, index=pd.Index(feats, name="feature"))

    if insert is None:
        return one(table)
    parts = {k: one(t) for k, t in table.groupby(insert)}
    return pd.concat(parts, names=[insert, "feature"])


# --------------------------------------------------------------------------------------------------------------------
# selector


class ICCSelector(SelectorMixin, BaseEstimator):
    """Keep the features whose ICC (from a separate robustness study) reaches ``threshold``.

    Parameters
    ----------
    threshold : float
        Keep features with ``icc >= threshold`` (Koo & Li 2016: 0.75 "good", 0.9 "excellent").
    icc : pandas.Series, dict, pandas.DataFrame or array-like
        The robustness results, given at construction (they come from a test-retest, multi-reader or perturbation
        study, never from the training data): a mapping feature name -> ICC, a DataFrame as returned by :func:`icc`
        (``column`` picks the value), or an array aligned with the columns of X.
    column : str
        Column of a DataFrame ``icc`` to use, e.g. ``"icc3"`` or ``"icc2_low"`` (select on the lower CI bound).
    missing : {"error", "drop", "keep"}
        What to do with a feature of X that the ICC table does not name.
    """

    def __init__(self, threshold: float = 0.75, icc=None, column: str = "icc1", missing: str = "error"):
        self.threshold = threshold
        self.icc = icc
        self.column = column
        self.missing = missing

    def _values(self) -> np.ndarray | pd.Series:
        if self.icc is None:
            raise ValueError("ICCSelector needs the ICC values of a robustness study: pass icc=...")
        if isinstance(self.icc, pd.DataFrame):
            if self.column not in self.icc.columns:
                raise ValueError(f"column {self.column!r} not in the ICC table ({list(self.icc.columns)[:8]})")
            return self.icc[self.column].astype(float)
        if isinstance(self.icc, dict):
            return pd.Series(self.icc, dtype=float)
        if isinstance(self.icc, pd.Series):
            return self.icc.astype(float)
        return np.asarray(self.icc, dtype=float).ravel()

    def fit(self, X, y=None):
        X = validate_data(self, X, ensure_all_finite="allow-nan")
        if self.missing not in ("error", "drop", "keep"):
            raise ValueError(f"missing must be 'error', 'drop' or 'keep', got {self.missing!r}")
        vals = self._values()
        if isinstance(vals, pd.Series):
            names = getattr(self, "feature_names_in_", None)
            if names is None:
                names = np.array([f"x{i}" for i in range(X.shape[1])], dtype=object)
            icc_ = vals.reindex(names).to_numpy()
            absent = np.isnan(icc_) & ~pd.Index(names).isin(vals.index)
            if absent.any() and self.missing == "error":
                raise ValueError(f"{int(absent.sum())} feature(s) have no ICC value, first {names[absent][0]!r}; "
                                 "pass missing='drop' or 'keep'")
        else:
            if vals.shape[0] != X.shape[1]:
                raise ValueError(f"{vals.shape[0]} ICC values for {X.shape[1]} features")
            icc_, absent = vals, np.zeros(X.shape[1], bool)
        self.icc_ = icc_
        with np.errstate(invalid="ignore"):
            support = icc_ >= self.threshold
        if self.missing == "keep":
            support |= absent
        self.support_ = support
        return self

    def _get_support_mask(self):
        check_is_fitted(self, "support_")
        return self.support_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.requires_fit = True
        return tags
