"""Sensitivity of features to extraction settings: :func:`settings_sensitivity` recomputes the features of one image
(or a cohort) over a grid of settings (bin widths and bin numbers, voxel spacings, interpolators) and reports, per
feature, the agreement across settings.

* ``icc``: ICC(2,1), absolute agreement (McGraw & Wong's ICC(A,1)) with the settings as raters and the cases as
  subjects, with its ``1 - alpha`` CI. It needs at least two cases (a cohort, or several labels of one mask); with a
  single case it is NaN, because an ICC compares between-case with within-case variance.
* ``cv``: coefficient of variation across settings, SD (ddof=1) / |mean|, root-mean-square over the cases (NaN where
  the mean is 0).

Grid (a dict, or a YAML mapping for ``radiomix robustness --sensitivity grid.yaml``)::

    bin_width: [10, 25, 50]        # fixed bin size variants
    bin_number: [16, 32, 64]       # fixed bin number variants (bin_width and bin_number are one axis together)
    spacing_mm: [1, 2, [2, 2, 3]]  # isotropic mm, or (x, y, z)
    interpolator: [linear, cubic]

The variants are the Cartesian product of the axes given; an axis left out keeps the base setting.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from radiomix.errors import InputError, SettingsError
from radiomix.image import Image, Mask

GRID_KEYS = ("bin_width", "bin_number", "spacing_mm", "interpolator")
COLUMNS = ["feature", "icc", "icc_low", "icc_high", "cv", "n_settings", "n_cases", "rank"]


def load_grid(path) -> dict:
    """Read a sensitivity grid from a YAML file (errors name the file and the key)."""
    import yaml

    p = Path(path)
    if not p.exists():
        raise SettingsError(f"{p}: sensitivity grid file not found")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise SettingsError(f"{p}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{p}: a sensitivity grid is a mapping of {', '.join(GRID_KEYS)} to lists")
    return _check_grid(data, str(p))


def _check_grid(grid: dict, source: str = "<grid>") -> dict:
    unknown = sorted(set(grid) - set(GRID_KEYS))
    if unknown:
        raise SettingsError(f"{source}: unknown sensitivity grid key(s) {unknown}; use {', '.join(GRID_KEYS)}")
    out = {}
    for k, v in grid.items():
        vals = list(v) if isinstance(v, list | tuple) else [v]
        if not vals:
            raise SettingsError(f"{source}: '{k}' has no values")
        out[k] = vals
    if not out:
        raise SettingsError(f"{source}: the sensitivity grid is empty; give one of {', '.join(GRID_KEYS)}")
    return out


def _spacing(v, source) -> tuple:
    if isinstance(v, int | float):
        return (float(v),) * 3
    if isinstance(v, list | tuple) and len(v) == 3:
        return tuple(None if s is None else float(s) for s in v)
    raise SettingsError(f"{source}: spacing_mm values are a number (isotropic) or [x, y, z], got {v!r}")


def grid_settings(base, grid: dict, source: str = "<grid>") -> dict:
    """The settings variants of a grid: name -> Settings (validated; a bad value names the grid key)."""
    from pydantic import ValidationError

    from radiomix.settings import Discretisation, Resampling

    grid = _check_grid(grid, source)
    disc = [("bw", w, {"method": "fixed_bin_size", "bin_width": w}) for w in grid.get("bin_width", [])]
    disc += [("bn", n, {"method": "fixed_bin_number", "bin_number": n}) for n in grid.get("bin_number", [])]
    spac = [_spacing(v, source) for v in grid.get("spacing_mm", [])]
    interp = list(grid.get("interpolator", []))
    out = {}
    for d, s, i in itertools.product(disc or [None], spac or [None], interp or [None]):
        name, changes = [], {}
        try:
            if d is not None:
                name.append(f"{d[0]}{d[1]:g}")
                changes["discretisation"] = Discretisation(**d[2])
            if s is not None or i is not None:
                rs = base.resampling
                kw = rs.model_dump() if rs is not None else {"spacing_mm": (None, None, None), "interpolator": "linear"}
                if s is not None:
                    kw["spacing_mm"] = s
                    name.append("sp" + "x".join("orig" if v is None else f"{v:g}" for v in s))
                if i is not None:
                    kw["interpolator"] = i
                    name.append(str(i))
                changes["resampling"] = Resampling(**kw)
            variant = base.replace(**changes)
        except (ValidationError, SettingsError, TypeError, ValueError) as exc:
            raise SettingsError(f"{source}: invalid grid value ({exc})") from None
        out["_".join(name) or "base"] = variant
    return out


def sensitivity_values(image, mask, base_settings, grid: dict, extractor=None) -> pd.DataFrame:
    """Long table ``case, setting, <feature columns>``: the features of every case under every grid variant."""
    if extractor is None:
        from radiomix.extract import extract as extractor
    images = [image] if isinstance(image, Image) else list(image)
    masks = [mask] * len(images) if isinstance(mask, Mask) else list(mask)
    if len(images) != len(masks):
        raise InputError(f"{len(images)} images but {len(masks)} masks")
    variants = grid_settings(base_settings, grid)
    rows = []
    for c, (im, m) in enumerate(zip(images, masks)):
        for name, s in variants.items():
            fs = extractor(im, m, s)
            rows.append({"case": c, "setting": name, **(fs.to_dict() if hasattr(fs, "to_dict") else dict(fs))})
    return pd.DataFrame(rows)


def settings_sensitivity(image, mask, base_settings, grid: dict, *, alpha: float = 0.05,
                         extractor=None) -> pd.DataFrame:
    """Per-feature agreement across a grid of settings (:data:`COLUMNS`): ``icc`` (ICC(2,1) with CI; NaN for one
    case), ``cv`` (across settings), ``rank`` (1 = least sensitive: highest ICC, or lowest CV for one case).

    ``image``/``mask``: one pair or equal-length sequences. Features that are NaN under some setting are left out
    with a warning."""
    from radiomix.analysis.perturbation_study import rms_cv
    from radiomix.analysis.robustness import finite_features, icc

    values = sensitivity_values(image, mask, base_settings, grid, extractor)
    k = values["setting"].nunique()
    if k < 2:
        raise InputError("the sensitivity grid gives a single setting; give at least two values")
    feats = [c for c in values.columns if c not in ("case", "setting")]
    feats = finite_features(values, feats, under="some setting")
    n_cases = values["case"].nunique()
    out = pd.DataFrame({"feature": feats,
                        "cv": rms_cv(values, "case", feats)})
    if n_cases >= 2:
        res = icc(values, "case", "setting", feats, alpha=alpha)
        for col, src in (("icc", "icc2"), ("icc_low", "icc2_low"), ("icc_high", "icc2_high")):
            out[col] = res[src].reindex(feats).to_numpy()
        out = out.sort_values(["icc", "cv"], ascending=[False, True], na_position="last", kind="stable")
    else:
        out["icc"] = out["icc_low"] = out["icc_high"] = np.nan
        out = out.sort_values("cv", na_position="last", kind="stable")
    out["n_settings"], out["n_cases"] = k, n_cases
    out["rank"] = np.arange(1, len(out) + 1)
    return out[COLUMNS].reset_index(drop=True)
