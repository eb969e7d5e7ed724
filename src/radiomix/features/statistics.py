r"""Intensity-based statistical features (IBSI 3.3, family UHIW).

The features describe the distribution of the intensities :math:`\mathbf{X}_{gl}` of the :math:`N_v` voxels in the
ROI intensity mask (``roi.values``); no discretisation is involved. The same definitions, applied to the discretised
grey levels, are reused by the intensity histogram family (``intensity_histogram.py``), so every function here takes a
:class:`Sample` and its docstring writes the sample as :math:`X_k`, :math:`k = 1..N_v`.

Conventions (IBSI):

* variance, skewness and kurtosis are population (biased) moments; kurtosis is the excess kurtosis (minus 3);
* when the variance is 0, skewness and kurtosis are 0 (IBSI 3.3.3, 3.3.4);
* percentiles :math:`P_q` interpolate linearly between order statistics, :math:`P_q = X_{(\lfloor h \rfloor)} +
  (h - \lfloor h \rfloor)(X_{(\lfloor h \rfloor + 1)} - X_{(\lfloor h \rfloor)})` with
  :math:`h = (N_v - 1) q / 100` on the 0-based sorted sample (Hyndman-Fan type 7, NumPy's default). This reproduces
  the IBSI reference values (for example :math:`P_{90} = 4` for the digital phantom, where type 5 gives 4.2).

Degenerate inputs: the coefficient of variation is NaN when the mean is 0, the quartile coefficient of dispersion is
NaN when :math:`P_{75} + P_{25} = 0`, the robust mean absolute deviation is NaN when no value lies in
:math:`[P_{10}, P_{90}]` (two distinct values); an empty sample gives NaN for every feature. No warnings are emitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from radiomix.features.base import Family, Feature, RoiData, run_features

#: numpy percentile method reproducing the IBSI reference values (Hyndman-Fan type 7).
PERCENTILE_METHOD = "linear"


def sorted_values(x: np.ndarray) -> np.ndarray:
    """``np.sort(x)`` for a 1D float64 array. Integer-valued samples whose range is at most a few times their size
    (CT numbers, discretised grey levels) are sorted by counting (O(n), the same array as ``np.sort``); others by
    ``np.sort``."""
    n = x.size
    if n < 1024:
        return np.sort(x)
    lo, hi = float(x.min()), float(x.max())
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi - lo > 4 * n or hi - lo >= 2**31:
        return np.sort(x)
    k = x - lo
    ki = k.astype(np.int64)
    if not np.array_equal(ki, k):  # not integer-valued
        return np.sort(x)
    counts = np.bincount(ki, minlength=int(hi - lo) + 1)
    return np.repeat(lo + np.arange(counts.size, dtype=np.float64), counts)


def percentile_of_sorted(xs: np.ndarray, q: float) -> float:
    """``np.percentile(xs, q, method="linear")`` for an ascending, non-empty 1D ``xs``, without NumPy's partition of
    a copy: the same virtual index :math:`h = (n - 1) q / 100` and the same two-sided interpolation formula as NumPy,
    so the same float."""
    n = xs.size
    h = (n - 1) * (float(q) / 100.0)
    if h >= n - 1:
        return float(xs[-1])
    if h < 0:
        return float(xs[0])
    i = math.floor(h)
    t = h - i
    a, b = float(xs[i]), float(xs[i + 1])
    diff = b - a
    return b - diff * (1.0 - t) if t >= 0.5 else a + diff * t


@dataclass(frozen=True, eq=False)
class Sample:
    """A 1D sample of intensities with its sorted copy and central moments computed once."""

    x: np.ndarray

    @classmethod
    def of(cls, values) -> Sample:
        return cls(np.asarray(values, dtype=np.float64).ravel())

    @property
    def n(self) -> int:
        return int(self.x.size)

    @cached_property
    def sorted(self) -> np.ndarray:
        """The sample in ascending order: :func:`sorted_values`."""
        return sorted_values(self.x)

    @cached_property
    def mean(self) -> float:
        return float(np.mean(self.x)) if self.n else np.nan

    @cached_property
    def centred(self) -> np.ndarray:
        return self.x - self.mean

    @cached_property
    def m2(self) -> float:
        return float(np.mean(self.centred ** 2)) if self.n else np.nan

    @cached_property
    def centred2(self) -> np.ndarray:
        return self.centred * self.centred

    def moment(self, k: int) -> float:
        """Central moment of order ``k`` (products, not float powers: 10x faster on large ROIs)."""
        if not self.n:
            return np.nan
        c = self.centred
        if k == 2:
            return float(np.mean(self.centred2))
        # np.mean of products, not np.dot: a multi-threaded BLAS dot on a loaded machine can take 1000x longer
        if k == 3:
            return float(np.mean(self.centred2 * c))
        if k == 4:
            return float(np.mean(self.centred2 * self.centred2))
        return float(np.mean(c ** k))

    def percentile(self, q: float) -> float:
        """:math:`P_q`, linear interpolation between order statistics (see the module docstring)."""
        if not self.n:
            return np.nan
        return percentile_of_sorted(self.sorted, q)

    @cached_property
    def median(self) -> float:
        return self.percentile(50.0)


def _ratio(num: float, den: float) -> float:
    """num / den, NaN when den is 0 (documented degenerate case), without numpy warnings."""
    if den == 0 or not np.isfinite(den):
        return np.nan
    return float(num / den)


# --- features ----------------------------------------------------------------------------------------------------------
def mean(s: Sample) -> float:
    r"""Mean: :math:`\mu = \frac{1}{N_v} \sum_k X_k`."""
    return s.mean


def variance(s: Sample) -> float:
    r"""Variance (no bias correction): :math:`\sigma^2 = \frac{1}{N_v} \sum_k (X_k - \mu)^2`."""
    return s.m2


def skewness(s: Sample) -> float:
    r"""Skewness: :math:`\frac{\frac{1}{N_v}\sum_k (X_k-\mu)^3}{\left(\frac{1}{N_v}\sum_k (X_k-\mu)^2\right)^{3/2}}`;
    0 when the variance is 0."""
    if not s.n:
        return np.nan
    if s.m2 == 0:
        return 0.0
    return s.moment(3) / s.m2 ** 1.5


def kurtosis(s: Sample) -> float:
    r"""Excess kurtosis: :math:`\frac{\frac{1}{N_v}\sum_k (X_k-\mu)^4}{\left(\frac{1}{N_v}\sum_k
    (X_k-\mu)^2\right)^{2}} - 3`; 0 when the variance is 0."""
    if not s.n:
        return np.nan
    if s.m2 == 0:
        return 0.0
    return s.moment(4) / s.m2 ** 2 - 3.0


def median(s: Sample) -> float:
    r"""Median: the sample median :math:`P_{50}` of :math:`X`."""
    return s.median


def minimum(s: Sample) -> float:
    r"""Minimum: :math:`\min(X)`."""
    return float(s.sorted[0]) if s.n else np.nan


def percentile_10(s: Sample) -> float:
    r"""10th percentile :math:`P_{10}` of :math:`X` (linear interpolation between order statistics)."""
    return s.percentile(10.0)


def percentile_90(s: Sample) -> float:
    r"""90th percentile :math:`P_{90}` of :math:`X` (linear interpolation between order statistics)."""
    return s.percentile(90.0)


def maximum(s: Sample) -> float:
    r"""Maximum: :math:`\max(X)`."""
    return float(s.sorted[-1]) if s.n else np.nan


def interquartile_range(s: Sample) -> float:
    r"""Interquartile range: :math:`P_{75} - P_{25}`."""
    return s.percentile(75.0) - s.percentile(25.0)


def range_(s: Sample) -> float:
    r"""Range: :math:`\max(X) - \min(X)`."""
    return maximum(s) - minimum(s)


def mean_absolute_deviation(s: Sample) -> float:
    r"""Mean absolute deviation: :math:`\frac{1}{N_v}\sum_k |X_k - \mu|`."""
    return float(np.mean(np.abs(s.centred))) if s.n else np.nan


def robust_mean_absolute_deviation(s: Sample) -> float:
    r"""Robust mean absolute deviation: with :math:`X_{10-90} = \{x \in X \mid P_{10} \le x \le P_{90}\}` and its mean
    :math:`\bar X_{10-90}`, :math:`\frac{1}{N_{10-90}}\sum_k |X_{10-90,k} - \bar X_{10-90}|`; NaN when no value lies
    in :math:`[P_{10}, P_{90}]` (possible for samples of a few values)."""
    if not s.n:
        return np.nan
    p10, p90 = s.percentile(10.0), s.percentile(90.0)
    lo, hi = np.searchsorted(s.sorted, p10, "left"), np.searchsorted(s.sorted, p90, "right")
    sub = s.sorted[lo:hi]
    if not sub.size:  # P10 and P90 fall between the same two order statistics (tiny samples, e.g. two values)
        return np.nan
    return float(np.mean(np.abs(sub - np.mean(sub))))


def median_absolute_deviation(s: Sample) -> float:
    r"""Median absolute deviation (mean distance to the median :math:`M`): :math:`\frac{1}{N_v}\sum_k |X_k - M|`."""
    return float(np.mean(np.abs(s.x - s.median))) if s.n else np.nan


def coefficient_of_variation(s: Sample) -> float:
    r"""Coefficient of variation: :math:`\sigma / \mu`, :math:`\sigma` the biased standard deviation; NaN when
    :math:`\mu = 0`."""
    return _ratio(np.sqrt(s.m2), s.mean)


def quartile_coefficient_of_dispersion(s: Sample) -> float:
    r"""Quartile coefficient of dispersion: :math:`\frac{P_{75} - P_{25}}{P_{75} + P_{25}}`; NaN when the denominator
    is 0."""
    p25, p75 = s.percentile(25.0), s.percentile(75.0)
    return _ratio(p75 - p25, p75 + p25)


def energy(s: Sample) -> float:
    r"""Energy: :math:`\sum_k X_k^2` (not scaled by voxel volume)."""
    return float(np.sum(s.x * s.x)) if s.n else np.nan


def root_mean_square(s: Sample) -> float:
    r"""Root mean square: :math:`\sqrt{\frac{1}{N_v}\sum_k X_k^2}`."""
    return float(np.sqrt(np.sum(s.x * s.x) / s.n)) if s.n else np.nan


FEATURES: tuple[Feature, ...] = (
    Feature("mean", mean, ibsi="Q4LE", unit="intensity"),
    Feature("variance", variance, ibsi="ECT3", unit="intensity^2"),
    Feature("skewness", skewness, ibsi="KE2A", unit=""),
    Feature("kurtosis", kurtosis, ibsi="IPH6", unit=""),
    Feature("median", median, ibsi="Y12H", unit="intensity"),
    Feature("minimum", minimum, ibsi="1GSF", unit="intensity"),
    Feature("percentile_10", percentile_10, ibsi="QG58", unit="intensity"),
    Feature("percentile_90", percentile_90, ibsi="8DWT", unit="intensity"),
    Feature("maximum", maximum, ibsi="84IY", unit="intensity"),
    Feature("interquartile_range", interquartile_range, ibsi="SALO", unit="intensity"),
    Feature("range", range_, ibsi="2OJQ", unit="intensity"),
    Feature("mean_absolute_deviation", mean_absolute_deviation, ibsi="4FUA", unit="intensity"),
    Feature("robust_mean_absolute_deviation", robust_mean_absolute_deviation, ibsi="1128", unit="intensity"),
    Feature("median_absolute_deviation", median_absolute_deviation, ibsi="N72L", unit="intensity"),
    Feature("coefficient_of_variation", coefficient_of_variation, ibsi="7TET", unit=""),
    Feature("quartile_coefficient_of_dispersion", quartile_coefficient_of_dispersion, ibsi="9S40", unit=""),
    Feature("energy", energy, ibsi="N8CA", unit="intensity^2"),
    Feature("root_mean_square", root_mean_square, ibsi="5ZWQ", unit="intensity"),
)


def compute(roi: RoiData):
    """All statistics of the intensities inside the intensity mask (3D, IBSI DHQ4; no aggregation)."""
    with np.errstate(all="ignore"):
        return run_features(FEATURES, Sample.of(roi.values))


FAMILY = Family("statistics", "UHIW", FEATURES, compute)
