r"""Neighbouring grey level dependence matrix features (IBSI 3.11, family REK0).

For every voxel :math:`k` in the ROI intensity mask, the dependence :math:`j_k` is 1 plus the number of voxels within
Chebyshev distance :math:`\delta` (``settings.texture.ngldm_distance``; in-plane only in 2D) that are in the ROI and
whose grey level differs from :math:`X_d(k)` by at most :math:`\alpha` (``settings.texture.ngldm_alpha``). The NGLDM
:math:`s_{ij}` counts voxels of grey level :math:`i` with dependence :math:`j`; every ROI voxel has a neighbourhood, so
:math:`N_s = N_v`; :math:`p_{ij} = s_{ij}/N_s`.

Aggregation: ``"2d"`` (8QNN), ``"2.5d"`` (62GR: slice matrices summed), ``"3d"`` (KOBO). An ROI without voxels gives
NaN.
"""

from __future__ import annotations

import numpy as np

from radiomix.features.base import Family, Feature, RoiData
from radiomix.features.glszm import (
    CountMatrix,
    aggregate,
    column_non_uniformity,
    column_variance,
    emphasis,
    entropy,
    percentage,
    requested_aggregations,
    row_non_uniformity,
    row_variance,
)
from radiomix.kernels.neighbourhood_kernels import ngldm_counts

#: The NGLDM: a :class:`CountMatrix` over (grey level, dependence count).
DependenceMatrix = CountMatrix


def low_dependence_emphasis(m: CountMatrix) -> float:
    r"""Low dependence emphasis (IBSI SODN): :math:`F = \frac{1}{N_s}\sum_j s_{.j}/j^2`."""
    return emphasis(m, 0, -2)


def high_dependence_emphasis(m: CountMatrix) -> float:
    r"""High dependence emphasis (IBSI IMOQ): :math:`F = \frac{1}{N_s}\sum_j j^2 s_{.j}`."""
    return emphasis(m, 0, 2)


def low_grey_level_count_emphasis(m: CountMatrix) -> float:
    r"""Low grey level count emphasis (IBSI TL9H): :math:`F = \frac{1}{N_s}\sum_i s_{i.}/i^2`."""
    return emphasis(m, -2, 0)


def high_grey_level_count_emphasis(m: CountMatrix) -> float:
    r"""High grey level count emphasis (IBSI OAE7): :math:`F = \frac{1}{N_s}\sum_i i^2 s_{i.}`."""
    return emphasis(m, 2, 0)


def low_dependence_low_grey_level_emphasis(m: CountMatrix) -> float:
    r"""Low dependence low grey level emphasis (IBSI EQ3F): :math:`F = \frac{1}{N_s}\sum_{ij} s_{ij}/(i^2 j^2)`."""
    return emphasis(m, -2, -2)


def low_dependence_high_grey_level_emphasis(m: CountMatrix) -> float:
    r"""Low dependence high grey level emphasis (IBSI JA6D): :math:`F = \frac{1}{N_s}\sum_{ij} i^2 s_{ij}/j^2`."""
    return emphasis(m, 2, -2)


def high_dependence_low_grey_level_emphasis(m: CountMatrix) -> float:
    r"""High dependence low grey level emphasis (IBSI NBZI): :math:`F = \frac{1}{N_s}\sum_{ij} j^2 s_{ij}/i^2`."""
    return emphasis(m, -2, 2)


def high_dependence_high_grey_level_emphasis(m: CountMatrix) -> float:
    r"""High dependence high grey level emphasis (IBSI 9QMG): :math:`F = \frac{1}{N_s}\sum_{ij} i^2 j^2 s_{ij}`."""
    return emphasis(m, 2, 2)


def grey_level_non_uniformity(m: CountMatrix) -> float:
    r"""Grey level non-uniformity (IBSI FP8K): :math:`F = \frac{1}{N_s}\sum_i s_{i.}^2`."""
    return row_non_uniformity(m, False)


def normalised_grey_level_non_uniformity(m: CountMatrix) -> float:
    r"""Normalised grey level non-uniformity (IBSI 5SPA): :math:`F = \frac{1}{N_s^2}\sum_i s_{i.}^2`."""
    return row_non_uniformity(m, True)


def dependence_count_non_uniformity(m: CountMatrix) -> float:
    r"""Dependence count non-uniformity (IBSI Z87G): :math:`F = \frac{1}{N_s}\sum_j s_{.j}^2`."""
    return column_non_uniformity(m, False)


def normalised_dependence_count_non_uniformity(m: CountMatrix) -> float:
    r"""Normalised dependence count non-uniformity (IBSI OKJI): :math:`F = \frac{1}{N_s^2}\sum_j s_{.j}^2`."""
    return column_non_uniformity(m, True)


def dependence_count_percentage(m: CountMatrix) -> float:
    r"""Dependence count percentage (IBSI 6XV8): :math:`F = N_s / N_v` (1 with IBSI's definition)."""
    return percentage(m)


def grey_level_variance(m: CountMatrix) -> float:
    r"""Grey level variance (IBSI 1PFV): :math:`F = \sum_{ij} (i-\mu)^2 p_{ij}`, :math:`\mu = \sum_{ij} i p_{ij}`."""
    return row_variance(m)


def dependence_count_variance(m: CountMatrix) -> float:
    r"""Dependence count variance (IBSI DNX2): :math:`F = \sum_{ij} (j-\mu)^2 p_{ij}`, :math:`\mu = \sum_{ij} j p_{ij}`."""
    return column_variance(m)


def dependence_count_entropy(m: CountMatrix) -> float:
    r"""Dependence count entropy (IBSI FCBV): :math:`F = -\sum_{ij} p_{ij}\log_2 p_{ij}` (bits)."""
    return entropy(m)


def dependence_count_energy(m: CountMatrix) -> float:
    r"""Dependence count energy (IBSI CAS9): :math:`F = \sum_{ij} p_{ij}^2`."""
    return float(np.sum(m.p ** 2))


FEATURES: tuple[Feature, ...] = (
    Feature("low_dependence_emphasis", low_dependence_emphasis, ibsi="SODN"),
    Feature("high_dependence_emphasis", high_dependence_emphasis, ibsi="IMOQ"),
    Feature("low_grey_level_count_emphasis", low_grey_level_count_emphasis, ibsi="TL9H"),
    Feature("high_grey_level_count_emphasis", high_grey_level_count_emphasis, ibsi="OAE7"),
    Feature("low_dependence_low_grey_level_emphasis", low_dependence_low_grey_level_emphasis, ibsi="EQ3F"),
    Feature("low_dependence_high_grey_level_emphasis", low_dependence_high_grey_level_emphasis, ibsi="JA6D"),
    Feature("high_dependence_low_grey_level_emphasis", high_dependence_low_grey_level_emphasis, ibsi="NBZI"),
    Feature("high_dependence_high_grey_level_emphasis", high_dependence_high_grey_level_emphasis, ibsi="9QMG"),
    Feature("grey_level_non_uniformity", grey_level_non_uniformity, ibsi="FP8K"),
    Feature("normalised_grey_level_non_uniformity", normalised_grey_level_non_uniformity, ibsi="5SPA"),
    Feature("dependence_count_non_uniformity", dependence_count_non_uniformity, ibsi="Z87G"),
    Feature("normalised_dependence_count_non_uniformity", normalised_dependence_count_non_uniformity, ibsi="OKJI"),
    Feature("dependence_count_percentage", dependence_count_percentage, ibsi="6XV8"),
    Feature("grey_level_variance", grey_level_variance, ibsi="1PFV"),
    Feature("dependence_count_variance", dependence_count_variance, ibsi="DNX2"),
    Feature("dependence_count_entropy", dependence_count_entropy, ibsi="FCBV", unit="bits"),
    Feature("dependence_count_energy", dependence_count_energy, ibsi="CAS9"),
)


def _matrices(roi: RoiData):
    t = roi.settings.texture
    cache = {}

    def planar():
        if "2d" not in cache:
            cache["2d"] = ngldm_counts(roi.levels, roi.mask_int, roi.n_levels, t.ngldm_distance, t.ngldm_alpha,
                                       planar=True)
        return cache["2d"]

    def n_voxels(counts):
        return int(counts.sum())

    def slice_matrices():
        c = planar()
        return [CountMatrix.from_dense(c[k], n_voxels(c[k])) for k in range(c.shape[0]) if c[k].any()]

    def merged():
        c = planar().sum(axis=0)
        return CountMatrix.from_dense(c, n_voxels(c))

    def volume():
        c = ngldm_counts(roi.levels, roi.mask_int, roi.n_levels, t.ngldm_distance, t.ngldm_alpha, planar=False)[0]
        return CountMatrix.from_dense(c, n_voxels(c))

    return slice_matrices, merged, volume


def compute(roi: RoiData):
    aggs = requested_aggregations(roi)
    if not aggs:
        return []
    return aggregate(FEATURES, aggs, *_matrices(roi), is_empty=lambda m: m.is_empty)


FAMILY = Family("ngldm", "REK0", FEATURES, compute)
