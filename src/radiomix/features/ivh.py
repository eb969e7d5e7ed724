r"""Intensity-volume histogram (IVH) features (IBSI 3.5, family P88C).

The IVH family discretises for itself, from the intensities in the ROI intensity mask (``roi.values``) and
``roi.settings.ivh``, into discretised intensities :math:`\mathbf{X}_{d,gl}` on a regular grid of intensities
:math:`i \in \mathbf{G}` with interval :math:`w_d`:

* ``discretisation=None`` (calibrated, discrete intensities such as CT): :math:`\mathbf{X}_{d,gl} = \mathbf{X}_{gl}`
  (they must be integers), :math:`w_d = 1`; :math:`\mathbf{G}` is the re-segmentation range (when set and
  ``use_resegmentation_range``; an open end is replaced by the ROI minimum or maximum), else
  :math:`[\min \mathbf{X}_{gl}, \max \mathbf{X}_{gl}]`.
* fixed bin size :math:`w_b` (calibrated, continuous intensities such as PET): :math:`X_{gl,min}` and
  :math:`X_{gl,max}` are the re-segmentation bounds (``min_value`` overrides the lower one), else the ROI minimum and
  maximum; bin numbers :math:`X_d = \lfloor (X_{gl} - X_{gl,min}) / w_b \rfloor + 1` are replaced by the bin centres
  :math:`X_{d,gl} = X_{gl,min} + (X_d - 0.5) w_b`, :math:`\mathbf{G} = [X_{gl,min} + 0.5 w_b, X_{gl,max} - 0.5 w_b]`
  and :math:`w_d = w_b`.
* fixed bin number :math:`N_g` (arbitrary intensity units, IBSI: 1000 bins): :math:`X_{d,gl} = X_d =
  \lfloor N_g (X_{gl} - X_{gl,min}) / (X_{gl,max} - X_{gl,min}) \rfloor + 1` (the maximum mapped to :math:`N_g`),
  with the ROI minimum and maximum (re-segmentation bounds only if ``use_resegmentation_range``),
  :math:`\mathbf{G} = [1, N_g]`, :math:`w_d = 1`.

Over the grid: volume fraction :math:`\nu_i = 1 - \frac{1}{N_v}\sum_k [X_{d,gl,k} < i]` and intensity fraction
:math:`\gamma_i = (i - \min \mathbf{G}) / (\max \mathbf{G} - \min \mathbf{G})`. Intensities absent from the ROI are
part of the grid. The computation is done on integer grid indices, so comparisons are exact.

Degenerate inputs: a grid of a single intensity (one intensity in the ROI and no wider range) has no intensity
fraction; the volume and intensity features are NaN and the area under the curve is 0 (IBSI). :math:`I_x` is NaN when
no grid intensity has :math:`\nu_i \le x` (more than :math:`x` of the volume at the top of the range).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from radiomix.errors import InputError
from radiomix.features.base import Family, Feature, RoiData
from radiomix.settings import IVH, Resegmentation


@dataclass(frozen=True, eq=False)
class IntensityVolumeHistogram:
    """Cumulative IVH on a regular intensity grid ``offset + k * step``, ``k = 0..last``.

    ``index`` holds the grid index of every ROI voxel (it may lie outside ``0..last`` for voxels outside the range).
    """

    index: np.ndarray
    last: int
    offset: float
    step: float

    @cached_property
    def intensity(self) -> np.ndarray:
        """Grid intensities :math:`i`."""
        return self.offset + self.step * np.arange(self.last + 1, dtype=np.float64)

    @cached_property
    def nu(self) -> np.ndarray:
        r"""Volume fraction :math:`\nu_i`: the fraction of voxels with intensity :math:`\ge i`."""
        idx = self.index
        # below[i] = number of voxels with index < i (counting, not sorting: the same integers)
        inside = idx[(idx >= 0) & (idx <= self.last)]
        counts = np.bincount(inside, minlength=self.last + 1)[: self.last + 1]
        below = np.empty(self.last + 1, dtype=np.int64)
        below[0] = 0
        np.cumsum(counts[:-1], out=below[1:])
        below += int(np.count_nonzero(idx < 0))
        return (idx.size - below) / idx.size

    @cached_property
    def gamma(self) -> np.ndarray:
        r"""Intensity fraction :math:`\gamma_i`; empty for a single-intensity grid (undefined)."""
        if self.last < 1:
            return np.empty(0)
        return np.arange(self.last + 1, dtype=np.float64) / self.last


# --- building the IVH -------------------------------------------------------------------------------------------------
def _bounds(values: np.ndarray, reseg: Resegmentation | None, use_range: bool) -> tuple[float, float]:
    lo, hi = float(values.min()), float(values.max())
    if use_range and reseg is not None and reseg.range is not None:
        if reseg.range[0] is not None:
            lo = float(reseg.range[0])
        if reseg.range[1] is not None:
            hi = float(reseg.range[1])
    return lo, hi


def build_ivh(values: np.ndarray, options: IVH, reseg: Resegmentation | None = None) -> IntensityVolumeHistogram:
    """Discretise ``values`` (intensities in the intensity mask) for the IVH as described in the module docstring."""
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise InputError("IVH of an empty ROI")
    d = options.discretisation
    use_range = options.use_resegmentation_range
    if d is None or d.method == "none":
        r = np.round(x)
        if not np.allclose(x, r):
            raise InputError("IVH without discretisation needs integer (calibrated, discrete) intensities; set "
                             "ivh.discretisation to fixed_bin_size (calibrated) or fixed_bin_number (arbitrary units)")
        lo, hi = _bounds(r, reseg, use_range)
        lo, hi = math.ceil(lo), math.floor(hi)
        return IntensityVolumeHistogram(r.astype(np.int64) - lo, max(hi - lo, 0), float(lo), 1.0)
    if d.method == "fixed_bin_size":
        w = float(d.bin_width)
        lo, hi = _bounds(x, reseg, use_range)
        if d.min_value is not None:
            lo = float(d.min_value)
        index = np.floor((x - lo) / w).astype(np.int64)  # bin number - 1; bin centre = lo + (index + 0.5) w
        last = max(math.floor((hi - lo) / w - 1 + 1e-9), 0)
        return IntensityVolumeHistogram(index, last, lo + 0.5 * w, w)
    # fixed bin number: arbitrary units, grey levels 1..Ng are the intensities
    n = int(d.bin_number)
    lo, hi = _bounds(x, reseg, use_range)
    if hi > lo:
        index = np.clip(np.floor(n * (x - lo) / (hi - lo)).astype(np.int64), None, n - 1)
    else:
        index = np.zeros(x.shape, dtype=np.int64)
    return IntensityVolumeHistogram(index, n - 1, 1.0, 1.0)


# --- features ----------------------------------------------------------------------------------------------------------
def _volume_at(h: IntensityVolumeHistogram, x: float) -> float:
    if not h.gamma.size:
        return np.nan
    k = int(np.argmax(h.gamma >= x))  # gamma ends at 1 >= x, so a match exists
    return float(h.nu[k])


def _intensity_at(h: IntensityVolumeHistogram, x: float) -> float:
    if not h.gamma.size:
        return np.nan
    ok = h.nu <= x
    return float(h.intensity[np.argmax(ok)]) if ok.any() else np.nan


def volume_at_intensity_fraction_10(h: IntensityVolumeHistogram) -> float:
    r"""Volume at 10 % intensity fraction: :math:`V_{10} = \nu_{i^*}`, :math:`i^* = \min\{i : \gamma_i \ge 0.1\}`
    (the largest volume fraction with an intensity fraction of at least 10 %)."""
    return _volume_at(h, 0.1)


def volume_at_intensity_fraction_90(h: IntensityVolumeHistogram) -> float:
    r"""Volume at 90 % intensity fraction: :math:`V_{90} = \nu_{i^*}`, :math:`i^* = \min\{i : \gamma_i \ge 0.9\}`."""
    return _volume_at(h, 0.9)


def intensity_at_volume_fraction_10(h: IntensityVolumeHistogram) -> float:
    r"""Intensity at 10 % volume fraction: :math:`I_{10} = \min\{i : \nu_i \le 0.1\}` (the lowest discretised
    intensity present in at most 10 % of the volume)."""
    return _intensity_at(h, 0.1)


def intensity_at_volume_fraction_90(h: IntensityVolumeHistogram) -> float:
    r"""Intensity at 90 % volume fraction: :math:`I_{90} = \min\{i : \nu_i \le 0.9\}`."""
    return _intensity_at(h, 0.9)


def volume_fraction_difference_10_90(h: IntensityVolumeHistogram) -> float:
    r"""Volume fraction difference: :math:`V_{10} - V_{90}`."""
    return _volume_at(h, 0.1) - _volume_at(h, 0.9)


def intensity_difference_10_90(h: IntensityVolumeHistogram) -> float:
    r"""Intensity difference: :math:`I_{10} - I_{90}`."""
    return _intensity_at(h, 0.1) - _intensity_at(h, 0.9)


def area_under_ivh_curve(h: IntensityVolumeHistogram) -> float:
    r"""Area under the IVH curve, trapezoidal rule over the grid:
    :math:`\sum_{j} (\gamma_{j+1} - \gamma_j)(\nu_j + \nu_{j+1})/2`; 0 for a single-intensity grid."""
    if not h.gamma.size:
        return 0.0
    return float(np.sum(np.diff(h.gamma) * (h.nu[1:] + h.nu[:-1]) / 2.0))


FEATURES: tuple[Feature, ...] = (
    Feature("volume_at_intensity_fraction_10", volume_at_intensity_fraction_10, ibsi="BC2M", unit="fraction"),
    Feature("volume_at_intensity_fraction_90", volume_at_intensity_fraction_90, ibsi="BC2M", unit="fraction"),
    Feature("intensity_at_volume_fraction_10", intensity_at_volume_fraction_10, ibsi="GBPN", unit="intensity"),
    Feature("intensity_at_volume_fraction_90", intensity_at_volume_fraction_90, ibsi="GBPN", unit="intensity"),
    Feature("volume_fraction_difference_10_90", volume_fraction_difference_10_90, ibsi="DDTU", unit="fraction"),
    Feature("intensity_difference_10_90", intensity_difference_10_90, ibsi="CNV2", unit="intensity"),
    Feature("area_under_ivh_curve", area_under_ivh_curve, ibsi="9CMM", unit=""),
)


def compute(roi: RoiData):
    """IVH features of the intensities in the intensity mask (3D, IBSI DHQ4), discretised per ``settings.ivh``."""
    h = build_ivh(roi.values, roi.settings.ivh, roi.settings.resegmentation)
    with np.errstate(all="ignore"):
        return [(f.name, "", float(f.func(h))) for f in FEATURES]


FAMILY = Family("ivh", "P88C", FEATURES, compute)
