r"""Intensity histogram features (IBSI 3.4, family ZVCW).

The input is :math:`\mathbf{X}_d`, the discretised grey levels :math:`1..N_g` of the :math:`N_v` voxels in the ROI
intensity mask (``roi.level_values``, ``N_g = roi.n_levels``), and the histogram :math:`\mathbf{H} = \{n_1 .. n_{N_g}\}`
with :math:`p_i = n_i / N_v`. The histogram is non-sparse: grey levels absent from the ROI have :math:`n_i = 0`.

The 17 features shared with the statistics family (mean ... quartile coefficient of dispersion) use the same
definitions, applied to :math:`\mathbf{X}_d` (see ``statistics.py``: biased moments, skewness and kurtosis 0 for zero
variance, percentiles by linear interpolation between order statistics).

Degenerate inputs: with :math:`N_g = 1` the histogram gradient is undefined and the four gradient features are NaN.
Ties in the histogram gradient pick the lowest grey level; ties of the mode follow IBSI (closest to the mean, the lower
one when equidistant).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from radiomix.features import statistics as st
from radiomix.features.base import Family, Feature, RoiData, run_features


@dataclass(frozen=True, eq=False)
class Histogram(st.Sample):
    """Discretised grey levels as a :class:`~radiomix.features.statistics.Sample` plus the non-sparse histogram."""

    n_levels: int = 0

    @classmethod
    def of_levels(cls, levels, n_levels: int) -> Histogram:
        return cls(np.asarray(levels, dtype=np.float64).ravel(), int(n_levels))

    @cached_property
    def counts(self) -> np.ndarray:
        """:math:`n_i` for :math:`i = 1..N_g`."""
        lev = self.x.astype(np.int64)
        if lev.size and (lev.min() < 1 or lev.max() > self.n_levels):
            raise ValueError(f"grey levels must lie in 1..{self.n_levels}, got {lev.min()}..{lev.max()}")
        return np.bincount(lev, minlength=self.n_levels + 1)[1:].astype(np.float64)

    @cached_property
    def p(self) -> np.ndarray:
        """:math:`p_i = n_i / N_v`."""
        return self.counts / self.n if self.n else self.counts * np.nan

    @cached_property
    def gradient(self) -> np.ndarray:
        """:math:`H'_i`: :math:`n_2 - n_1` at :math:`i=1`, :math:`(n_{i+1} - n_{i-1})/2` inside,
        :math:`n_{N_g} - n_{N_g-1}` at :math:`i=N_g`. Empty when :math:`N_g < 2`."""
        n = self.counts
        if n.size < 2:
            return np.empty(0)
        g = np.empty_like(n)
        g[0] = n[1] - n[0]
        g[-1] = n[-1] - n[-2]
        g[1:-1] = (n[2:] - n[:-2]) / 2.0
        return g


def mode(h: Histogram) -> float:
    r"""Mode: the grey level :math:`i` with the highest count :math:`n_i`; among tied bins the one closest to the mean
    grey level, the lower one when two are equally close."""
    if not h.n:
        return np.nan
    tied = np.flatnonzero(h.counts == h.counts.max()) + 1
    return float(tied[np.argmin(np.abs(tied - h.mean))])  # argmin returns the first (lower) of equidistant bins


def entropy(h: Histogram) -> float:
    r"""Entropy: :math:`-\sum_{i=1}^{N_g} p_i \log_2 p_i` (terms with :math:`p_i = 0` are 0)."""
    p = h.p[h.p > 0]
    return float(-np.sum(p * np.log2(p))) if h.n else np.nan


def uniformity(h: Histogram) -> float:
    r"""Uniformity: :math:`\sum_{i=1}^{N_g} p_i^2`."""
    return float(np.sum(h.p ** 2)) if h.n else np.nan


def maximum_histogram_gradient(h: Histogram) -> float:
    r"""Maximum histogram gradient: :math:`\max(\mathbf{H}')`, with :math:`H'_1 = n_2 - n_1`,
    :math:`H'_i = (n_{i+1} - n_{i-1})/2` for :math:`1<i<N_g`, :math:`H'_{N_g} = n_{N_g} - n_{N_g-1}`; NaN for
    :math:`N_g < 2`."""
    return float(h.gradient.max()) if h.gradient.size else np.nan


def maximum_histogram_gradient_grey_level(h: Histogram) -> float:
    r"""Maximum histogram gradient grey level: :math:`\arg\max_i H'_i` (lowest :math:`i` on ties); NaN for
    :math:`N_g < 2`."""
    return float(np.argmax(h.gradient) + 1) if h.gradient.size else np.nan


def minimum_histogram_gradient(h: Histogram) -> float:
    r"""Minimum histogram gradient: :math:`\min(\mathbf{H}')` (see the maximum); NaN for :math:`N_g < 2`."""
    return float(h.gradient.min()) if h.gradient.size else np.nan


def minimum_histogram_gradient_grey_level(h: Histogram) -> float:
    r"""Minimum histogram gradient grey level: :math:`\arg\min_i H'_i` (lowest :math:`i` on ties); NaN for
    :math:`N_g < 2`."""
    return float(np.argmin(h.gradient) + 1) if h.gradient.size else np.nan


FEATURES: tuple[Feature, ...] = (
    Feature("mean", st.mean, ibsi="X6K6", unit="grey level"),
    Feature("variance", st.variance, ibsi="CH89", unit="grey level^2"),
    Feature("skewness", st.skewness, ibsi="88K1", unit=""),
    Feature("kurtosis", st.kurtosis, ibsi="C3I7", unit=""),
    Feature("median", st.median, ibsi="WIFQ", unit="grey level"),
    Feature("minimum", st.minimum, ibsi="1PR8", unit="grey level"),
    Feature("percentile_10", st.percentile_10, ibsi="GPMT", unit="grey level"),
    Feature("percentile_90", st.percentile_90, ibsi="OZ0C", unit="grey level"),
    Feature("maximum", st.maximum, ibsi="3NCY", unit="grey level"),
    Feature("mode", mode, ibsi="AMMC", unit="grey level"),
    Feature("interquartile_range", st.interquartile_range, ibsi="WR0O", unit="grey level"),
    Feature("range", st.range_, ibsi="5Z3W", unit="grey level"),
    Feature("mean_absolute_deviation", st.mean_absolute_deviation, ibsi="D2ZX", unit="grey level"),
    Feature("robust_mean_absolute_deviation", st.robust_mean_absolute_deviation, ibsi="WRZB", unit="grey level"),
    Feature("median_absolute_deviation", st.median_absolute_deviation, ibsi="4RNL", unit="grey level"),
    Feature("coefficient_of_variation", st.coefficient_of_variation, ibsi="CWYJ", unit=""),
    Feature("quartile_coefficient_of_dispersion", st.quartile_coefficient_of_dispersion, ibsi="SLWD", unit=""),
    Feature("entropy", entropy, ibsi="TLU2", unit="bits"),
    Feature("uniformity", uniformity, ibsi="BJ5W", unit=""),
    Feature("maximum_histogram_gradient", maximum_histogram_gradient, ibsi="12CE", unit="voxels"),
    Feature("maximum_histogram_gradient_grey_level", maximum_histogram_gradient_grey_level, ibsi="8E6O",
            unit="grey level"),
    Feature("minimum_histogram_gradient", minimum_histogram_gradient, ibsi="VQB3", unit="voxels"),
    Feature("minimum_histogram_gradient_grey_level", minimum_histogram_gradient_grey_level, ibsi="RHQZ",
            unit="grey level"),
)


def compute(roi: RoiData):
    """All intensity histogram features of the discretised grey levels in the intensity mask (3D, IBSI DHQ4)."""
    with np.errstate(all="ignore"):
        return run_features(FEATURES, Histogram.of_levels(roi.level_values, roi.n_levels))


FAMILY = Family("intensity_histogram", "ZVCW", FEATURES, compute)
