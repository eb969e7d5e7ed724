"""Delta-radiomics: change of each feature between two time points of the same patient (and lesion).

``delta_features(table, baseline="pre", followup="post")`` pairs the rows of each patient at the two time points and
returns one row per pair with ``delta_<feature>`` columns:

* ``kind="absolute"``: followup - baseline;
* ``kind="relative"``: (followup - baseline) / |baseline|; a baseline of exactly 0 gives NaN (documented degenerate
  case: the relative change is undefined).

Patients with only one of the two time points are left out and listed in ``result.attrs["unpaired"]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from radiomix.errors import InputError

__all__ = ["delta_features"]


def delta_features(table: pd.DataFrame, id_column: str = "patient_id", timepoint_column: str = "timepoint",
                   baseline=None, followup=None, kind: str = "absolute", features=None,
                   lesion_column: str | None = None, keep=("site",)) -> pd.DataFrame:
    """Delta features per patient (and lesion, when ``lesion_column`` is given); see the module docstring.

    ``features``: the columns to difference (default: every numeric column other than the id, time point and lesion
    columns). ``keep``: columns copied from the baseline row when present (e.g. the site).
    """
    if kind not in ("absolute", "relative"):
        raise InputError(f"delta kind must be 'absolute' or 'relative', got {kind!r}")
    keys = [id_column] + ([lesion_column] if lesion_column else [])
    for c in keys + [timepoint_column]:
        if c not in table.columns:
            raise InputError(f"delta_features: column {c!r} not in the table")
    if baseline is None or followup is None:
        raise InputError("delta_features needs the baseline and followup time point labels")
    table = table.reset_index(drop=True)
    tp = table[timepoint_column].astype(str)
    for label in (baseline, followup):
        if not (tp == str(label)).any():
            raise InputError(f"delta_features: no row has {timepoint_column} == {label!r} "
                             f"(values: {sorted(tp.unique())[:8]})")
    if features is None:
        skip = set(keys) | {timepoint_column, *keep}
        features = [c for c in table.columns if c not in skip and pd.api.types.is_numeric_dtype(table[c])
                    and not pd.api.types.is_bool_dtype(table[c])]
    else:
        missing = [c for c in features if c not in table.columns]
        if missing:
            raise InputError(f"delta_features: feature column(s) {missing[:5]} not in the table")
    sub = table[tp.isin([str(baseline), str(followup)])]
    dup = sub.assign(_tp=tp[sub.index]).duplicated(keys + ["_tp"])
    if dup.any():
        row = sub[dup].iloc[0]
        raise InputError(f"delta_features: {dict(row[keys])} has more than one row at time point "
                         f"{row[timepoint_column]!r}; give lesion_column or remove duplicates")
    b = sub[tp[sub.index] == str(baseline)].set_index(keys)
    f = sub[tp[sub.index] == str(followup)].set_index(keys)
    both = b.index.intersection(f.index, sort=False)
    unpaired = sorted(map(str, b.index.symmetric_difference(f.index)))
    B = b.loc[both, features].astype(float)
    F = f.loc[both, features].astype(float)
    if kind == "absolute":
        D = F - B
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            D = (F - B) / B.abs()
        D = D.where(B != 0)
    D.columns = [f"delta_{c}" for c in features]
    extra = [c for c in keep if c in b.columns]
    out = pd.concat([b.loc[both, extra], D], axis=1).reset_index()
    out.attrs["unpaired"] = unpaired
    out.attrs["kind"] = kind
    return out
