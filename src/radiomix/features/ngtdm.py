r"""Neighbourhood grey tone difference matrix features (IBSI 3.10, family IPET).

For every voxel :math:`k` in the ROI intensity mask, the neighbourhood is the set of voxels within Chebyshev distance
:math:`\delta` (``settings.texture.ngtdm_distance``; in-plane only in 2D) that are in the ROI, :math:`W_k` its size and
:math:`\overline{X}_k` the mean grey level over it. Voxels with :math:`W_k = 0` are left out. Then
:math:`n_i` is the number of voxels of grey level :math:`i` with :math:`W_k > 0`,
:math:`s_i = \sum_k |i - \overline{X}_k|` over those voxels, :math:`N_{v,c} = \sum_i n_i`,
:math:`p_i = n_i / N_{v,c}` and :math:`N_{g,p}` the number of grey levels with :math:`p_i > 0`.

Degenerate values, as IBSI defines them: coarseness is :math:`10^6` when :math:`\sum_i p_i s_i = 0`; contrast and
busyness are 0 when :math:`N_{g,p} = 1`; strength is 0 when :math:`\sum_i s_i = 0`. Busyness whose denominator
vanishes with :math:`N_{g,p} > 1` is NaN. A matrix without any voxel that has a neighbour (:math:`N_{v,c} = 0`, e.g. a
single-voxel ROI or slice) gives NaN for every feature; such slices are left out of the 2D average.

Aggregation: ``"2d"`` (8QNN) per-slice matrices, features averaged over slices; ``"2.5d"`` (62GR) :math:`s_i` and
:math:`n_i` summed over slices; ``"3d"`` (KOBO) one 3D matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from radiomix.features.base import Family, Feature, RoiData
from radiomix.features.glszm import aggregate, requested_aggregations
from radiomix.kernels.neighbourhood_kernels import ngtdm_arrays

#: IBSI's stand-in for infinite coarseness.
MAX_COARSENESS = 1.0e6


@dataclass(frozen=True, eq=False)
class GreyToneDifferenceMatrix:
    """NGTDM restricted to the grey levels ``i`` with :math:`n_i > 0`: counts ``n`` and differences ``s``."""

    i: np.ndarray
    n: np.ndarray
    s: np.ndarray

    @classmethod
    def from_dense(cls, s: np.ndarray, n: np.ndarray) -> GreyToneDifferenceMatrix:
        """From arrays indexed by grey level (index 0 unused)."""
        keep = np.nonzero(n > 0)[0]
        return cls(keep.astype(np.float64), n[keep].astype(np.float64), s[keep].astype(np.float64))

    @cached_property
    def n_vc(self) -> float:
        return float(self.n.sum())

    @property
    def is_empty(self) -> bool:
        return self.n_vc == 0

    @cached_property
    def p(self) -> np.ndarray:
        return self.n / self.n_vc

    @property
    def n_gp(self) -> int:
        return int(self.i.size)


def coarseness(m: GreyToneDifferenceMatrix) -> float:
    r"""Coarseness (IBSI QCDE): :math:`F = 1 / \sum_i p_i s_i`; :math:`10^6` when the sum is 0."""
    d = float(np.sum(m.p * m.s))
    return MAX_COARSENESS if d == 0 else 1.0 / d


def contrast(m: GreyToneDifferenceMatrix) -> float:
    r"""Contrast (IBSI 65HE): :math:`F = \Big(\frac{1}{N_{g,p}(N_{g,p}-1)}\sum_{i_1,i_2} p_{i_1}p_{i_2}(i_1-i_2)^2\Big)
    \Big(\frac{1}{N_{v,c}}\sum_i s_i\Big)`; 0 when :math:`N_{g,p}=1`."""
    if m.n_gp <= 1:
        return 0.0
    d2 = (m.i[:, None] - m.i[None, :]) ** 2
    spread = float(np.sum(m.p[:, None] * m.p[None, :] * d2)) / (m.n_gp * (m.n_gp - 1))
    return spread * float(m.s.sum()) / m.n_vc


def busyness(m: GreyToneDifferenceMatrix) -> float:
    r"""Busyness (IBSI NQ30): :math:`F = \sum_i p_i s_i \big/ \sum_{i_1,i_2} |i_1 p_{i_1} - i_2 p_{i_2}|` over
    :math:`p_{i_1}, p_{i_2} > 0`; 0 when :math:`N_{g,p}=1`."""
    if m.n_gp <= 1:
        return 0.0
    ip = m.i * m.p
    den = float(np.sum(np.abs(ip[:, None] - ip[None, :])))
    return float(np.sum(m.p * m.s)) / den if den > 0 else float("nan")


def complexity(m: GreyToneDifferenceMatrix) -> float:
    r"""Complexity (IBSI HDEZ): :math:`F = \frac{1}{N_{v,c}}\sum_{i_1,i_2} |i_1-i_2|
    \frac{p_{i_1}s_{i_1} + p_{i_2}s_{i_2}}{p_{i_1}+p_{i_2}}` over :math:`p_{i_1}, p_{i_2} > 0`."""
    ps = m.p * m.s
    term = np.abs(m.i[:, None] - m.i[None, :]) * (ps[:, None] + ps[None, :]) / (m.p[:, None] + m.p[None, :])
    return float(term.sum()) / m.n_vc


def strength(m: GreyToneDifferenceMatrix) -> float:
    r"""Strength (IBSI 1X9X): :math:`F = \sum_{i_1,i_2} (p_{i_1}+p_{i_2})(i_1-i_2)^2 \big/ \sum_i s_i` over
    :math:`p_{i_1}, p_{i_2} > 0`; 0 when :math:`\sum_i s_i = 0`."""
    total = float(m.s.sum())
    if total == 0:
        return 0.0
    return float(np.sum((m.p[:, None] + m.p[None, :]) * (m.i[:, None] - m.i[None, :]) ** 2)) / total


FEATURES: tuple[Feature, ...] = (
    Feature("coarseness", coarseness, ibsi="QCDE"),
    Feature("contrast", contrast, ibsi="65HE"),
    Feature("busyness", busyness, ibsi="NQ30"),
    Feature("complexity", complexity, ibsi="HDEZ"),
    Feature("strength", strength, ibsi="1X9X"),
)


def _matrices(roi: RoiData):
    delta = roi.settings.texture.ngtdm_distance
    cache = {}

    def planar():
        if "2d" not in cache:
            cache["2d"] = ngtdm_arrays(roi.levels, roi.mask_int, roi.n_levels, delta, planar=True)
        return cache["2d"]

    def slice_matrices():
        s, n = planar()
        return [GreyToneDifferenceMatrix.from_dense(s[k], n[k]) for k in range(s.shape[0])]

    def merged():
        s, n = planar()
        return GreyToneDifferenceMatrix.from_dense(s.sum(axis=0), n.sum(axis=0))

    def volume():
        s, n = ngtdm_arrays(roi.levels, roi.mask_int, roi.n_levels, delta, planar=False)
        return GreyToneDifferenceMatrix.from_dense(s[0], n[0])

    return slice_matrices, merged, volume


def compute(roi: RoiData):
    aggs = requested_aggregations(roi)
    if not aggs:
        return []
    return aggregate(FEATURES, aggs, *_matrices(roi), is_empty=lambda m: m.is_empty)


FAMILY = Family("ngtdm", "IPET", FEATURES, compute)
