"""Radiogenomics: univariate associations between radiomics features and clinical / genomic variables.

:func:`associations` tests every (feature, variable) pair and returns a tidy table with Benjamini-Hochberg q-values
over all pairs:

* continuous variable: Spearman's rho (effect = rho);
* two categories: Mann-Whitney U (effect = rank-biserial correlation, positive when the feature is larger in the
  second level in sorted order);
* three or more categories: Kruskal-Wallis H (effect = epsilon squared, H / (n - 1)).

``method="auto"`` treats a numeric variable with more than ``max_levels`` distinct values as continuous, anything
else as categorical. A pair with fewer than 3 complete observations, or a constant feature, gives NaN statistics
(documented degenerate case) and does not count in the FDR correction.
:func:`association_matrix` pivots the table to features x variables (heatmap-ready).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from radiomix.analysis.select import benjamini_hochberg
from radiomix.errors import InputError

__all__ = ["association_matrix", "associations"]

_COLUMNS = ["feature", "variable", "method", "statistic", "effect", "p_value", "q_value", "n", "significant"]


def _align(features, variables, id_column):
    if id_column in features.columns and id_column in variables.columns:
        fc = [c for c in features.columns if c != id_column]
        vc = [c for c in variables.columns if c != id_column]
        ren = {c: f"{c}__var" for c in vc if c in fc}
        merged = features.merge(variables.rename(columns=ren), on=id_column, how="inner", validate="one_to_one")
        if merged.empty:
            raise InputError(f"associations: features and variables share no {id_column!r} value")
        return merged[fc], merged[[ren.get(c, c) for c in vc]].set_axis(vc, axis=1)
    if len(features) != len(variables):
        raise InputError(f"associations: {len(features)} feature rows but {len(variables)} variable rows and no "
                         f"shared {id_column!r} column to align them")
    return features.reset_index(drop=True), variables.reset_index(drop=True)


def _one(x, v, method):
    ok = np.isfinite(x) & pd.notna(v)
    x, v = x[ok], np.asarray(v)[ok]
    n = int(x.size)
    nan = (np.nan, np.nan, np.nan, n)
    if n < 3 or np.ptp(x) == 0:
        return nan
    if method == "spearman":
        v = v.astype(float)
        if np.ptp(v) == 0:
            return nan
        r = stats.spearmanr(x, v)
        return float(r.statistic), float(r.statistic), float(r.pvalue), n
    levels = np.unique(v.astype(str))
    groups = [x[v.astype(str) == lev] for lev in levels]
    if len(groups) < 2 or min(len(g) for g in groups) < 1:
        return nan
    if method == "mannwhitney":
        if len(groups) != 2:
            raise InputError(f"Mann-Whitney compares two groups; this variable has {len(groups)} levels")
        u = stats.mannwhitneyu(groups[1], groups[0], alternative="two-sided")
        effect = 2 * u.statistic / (len(groups[0]) * len(groups[1])) - 1
        return float(u.statistic), float(effect), float(u.pvalue), n
    try:
        h = stats.kruskal(*groups)
    except ValueError:  # all values identical
        return nan
    return float(h.statistic), float(h.statistic / (n - 1)), float(h.pvalue), n


def associations(features: pd.DataFrame, variables: pd.DataFrame, method: str = "auto", fdr: float = 0.05, *,
                 id_column: str = "case_id", max_levels: int = 5) -> pd.DataFrame:
    """Tidy table of feature-variable associations (see the module docstring): ``feature, variable, method,
    statistic, effect, p_value, q_value, n, significant`` (q <= ``fdr``), sorted by p-value."""
    if method not in ("auto", "spearman", "mannwhitney", "kruskal"):
        raise InputError(f"associations: unknown method {method!r}")
    F, V = _align(features, variables, id_column)
    fcols = [c for c in F.columns if pd.api.types.is_numeric_dtype(F[c]) and not pd.api.types.is_bool_dtype(F[c])]
    if not fcols or V.shape[1] == 0:
        raise InputError("associations: need at least one numeric feature column and one variable column")
    rows = []
    for var in V.columns:
        v = V[var]
        m = method
        if m == "auto":
            numeric = pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v)
            if numeric and v.nunique(dropna=True) > max_levels:
                m = "spearman"
            else:
                m = "mannwhitney" if v.nunique(dropna=True) == 2 else "kruskal"
        for f in fcols:
            s, e, p, n = _one(F[f].to_numpy(dtype=float), v.to_numpy(), m)
            rows.append((str(f), str(var), m, s, e, p, n))
    out = pd.DataFrame(rows, columns=["feature", "variable", "method", "statistic", "effect", "p_value", "n"])
    out["q_value"] = benjamini_hochberg(out["p_value"].to_numpy())
    out["significant"] = out["q_value"] <= fdr
    return out[_COLUMNS].sort_values("p_value", kind="stable", na_position="last").reset_index(drop=True)


def association_matrix(result: pd.DataFrame, value: str = "effect", significant_only: bool = False) -> pd.DataFrame:
    """Features x variables matrix of ``value`` (``effect``, ``statistic``, ``p_value``, ``q_value``) from
    :func:`associations`; ``significant_only`` blanks (NaN) the non-significant cells."""
    if value not in result.columns:
        raise InputError(f"association_matrix: {value!r} is not a column of the association table")
    r = result.copy()
    if significant_only:
        r.loc[~r["significant"], value] = np.nan
    return r.pivot(index="feature", columns="variable", values=value)
