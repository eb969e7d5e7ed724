"""Intensity discretisation (IBSI 2.7): fixed bin number and fixed bin size."""

from __future__ import annotations

import numpy as np

from radiomix.errors import InputError
from radiomix.settings import Discretisation, Resegmentation

#: FBS: quotients (X - Xmin) / w within this of an integer count as that integer (decimal bin widths such as 0.1
#: are not exact in binary: (0.3 - 0) / 0.1 = 2.9999999999999996 must fall in bin 4, not 3).
FBS_TOL = 1e-9


def discretise(image: np.ndarray, mask: np.ndarray, d: Discretisation,
               reseg: Resegmentation | None = None, *, use_resegmentation_bound: bool = True
               ) -> tuple[np.ndarray, int]:
    """Grey levels 1..Ng inside ``mask`` (0 outside) and Ng (IBSI 2.7).

    * FBN: ``floor(Ng (X - Xmin) / (Xmax - Xmin)) + 1``, with ``X = Xmax`` mapped to ``Ng``; ``Xmin``, ``Xmax`` are
      the ROI's extremes; one intensity -> level 1. Ng is ``bin_number`` (levels may be absent).
    * FBS: ``floor((X - Xmin) / w) + 1``, ``Xmin`` = ``min_value``, else the lower re-segmentation bound (when
      ``use_resegmentation_bound``), else the ROI minimum. Ng is the highest level present.
    * none: the intensities themselves, which must be positive integers.
    """
    vals = image[mask].astype(np.float64)
    out = np.zeros(image.shape, dtype=np.int32)
    if vals.size == 0:
        return out, 0
    if d.method == "fixed_bin_number":
        lo, hi = vals.min(), vals.max()
        if hi > lo:
            lev = np.floor(d.bin_number * (vals - lo) / (hi - lo)).astype(np.int64) + 1
            lev = np.minimum(lev, d.bin_number)
        else:
            lev = np.ones(vals.shape, dtype=np.int64)
        n = int(d.bin_number)
    elif d.method == "fixed_bin_size":
        lo = d.min_value
        if lo is None and use_resegmentation_bound and reseg is not None and reseg.range is not None:
            lo = reseg.range[0]
        if lo is None:
            lo = vals.min()
        lev = np.floor((vals - lo) / d.bin_width + FBS_TOL).astype(np.int64) + 1
        if lev.min() < 1:
            raise InputError(f"fixed bin size: ROI intensities (minimum {vals.min():g}) lie below the lower bin "
                             f"edge {lo:g}")
        n = int(lev.max())
    else:
        if not np.allclose(vals, np.round(vals)):
            raise InputError("discretisation 'none' needs integer intensities; choose fixed_bin_size or "
                             "fixed_bin_number")
        lev = np.round(vals).astype(np.int64)
        if lev.min() < 1:
            raise InputError("discretisation 'none' needs intensities >= 1 (they are used as grey levels)")
        n = int(lev.max())
    out[mask] = lev
    return out, n
