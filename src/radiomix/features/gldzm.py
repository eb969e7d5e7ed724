r"""Grey level distance zone matrix features (IBSI 3.9, family VMDZ).

The GLDZM :math:`d_{ij}` counts zones (as for the GLSZM: 26-connected in 3D, 8-connected in 2D, on the ROI intensity
mask) with grey level :math:`i` and distance :math:`j` to the ROI edge. The distance of a voxel is the number of
6-connected (3D) or 4-connected (2D, per slice) steps needed to leave the ROI **morphological** mask, 1 for a voxel
on the edge (IBSI 3.9: "the distance map is determined using the morphological ROI mask, whereas the intensity mask is
used for determining the zones"); the distance of a zone is the minimum over its voxels. :math:`N_s` is the number of
zones, :math:`N_v` the number of voxels in the intensity mask, :math:`p_{ij} = d_{ij}/N_s`.

Aggregation as for the GLSZM (see :mod:`radiomix.features.glszm`): ``"2d"`` (8QNN), ``"2.5d"`` (62GR), ``"3d"``
(KOBO). An ROI without voxels gives NaN.
"""

from __future__ import annotations

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
    zone_matrices,
)

#: The GLDZM: a :class:`CountMatrix` over (grey level, zone distance).
DistanceZoneMatrix = CountMatrix


def small_distance_emphasis(m: CountMatrix) -> float:
    r"""Small distance emphasis (IBSI 0GBI): :math:`F = \frac{1}{N_s}\sum_j d_{.j}/j^2`."""
    return emphasis(m, 0, -2)


def large_distance_emphasis(m: CountMatrix) -> float:
    r"""Large distance emphasis (IBSI MB4I): :math:`F = \frac{1}{N_s}\sum_j j^2 d_{.j}`."""
    return emphasis(m, 0, 2)


def low_grey_level_zone_emphasis(m: CountMatrix) -> float:
    r"""Low grey level zone emphasis (IBSI S1RA): :math:`F = \frac{1}{N_s}\sum_i d_{i.}/i^2`."""
    return emphasis(m, -2, 0)


def high_grey_level_zone_emphasis(m: CountMatrix) -> float:
    r"""High grey level zone emphasis (IBSI K26C): :math:`F = \frac{1}{N_s}\sum_i i^2 d_{i.}`."""
    return emphasis(m, 2, 0)


def small_distance_low_grey_level_emphasis(m: CountMatrix) -> float:
    r"""Small distance low grey level emphasis (IBSI RUVG): :math:`F = \frac{1}{N_s}\sum_{ij} d_{ij}/(i^2 j^2)`."""
    return emphasis(m, -2, -2)


def small_distance_high_grey_level_emphasis(m: CountMatrix) -> float:
    r"""Small distance high grey level emphasis (IBSI DKNJ): :math:`F = \frac{1}{N_s}\sum_{ij} i^2 d_{ij}/j^2`."""
    return emphasis(m, 2, -2)


def large_distance_low_grey_level_emphasis(m: CountMatrix) -> float:
    r"""Large distance low grey level emphasis (IBSI A7WM): :math:`F = \frac{1}{N_s}\sum_{ij} j^2 d_{ij}/i^2`."""
    return emphasis(m, -2, 2)


def large_distance_high_grey_level_emphasis(m: CountMatrix) -> float:
    r"""Large distance high grey level emphasis (IBSI KLTH): :math:`F = \frac{1}{N_s}\sum_{ij} i^2 j^2 d_{ij}`."""
    return emphasis(m, 2, 2)


def grey_level_non_uniformity(m: CountMatrix) -> float:
    r"""Grey level non-uniformity (IBSI VFT7): :math:`F = \frac{1}{N_s}\sum_i d_{i.}^2`."""
    return row_non_uniformity(m, False)


def normalised_grey_level_non_uniformity(m: CountMatrix) -> float:
    r"""Normalised grey level non-uniformity (IBSI 7HP3): :math:`F = \frac{1}{N_s^2}\sum_i d_{i.}^2`."""
    return row_non_uniformity(m, True)


def zone_distance_non_uniformity(m: CountMatrix) -> float:
    r"""Zone distance non-uniformity (IBSI V294): :math:`F = \frac{1}{N_s}\sum_j d_{.j}^2`."""
    return column_non_uniformity(m, False)


def normalised_zone_distance_non_uniformity(m: CountMatrix) -> float:
    r"""Normalised zone distance non-uniformity (IBSI IATH): :math:`F = \frac{1}{N_s^2}\sum_j d_{.j}^2`."""
    return column_non_uniformity(m, True)


def zone_percentage(m: CountMatrix) -> float:
    r"""Zone percentage (IBSI VIWW): :math:`F = N_s / N_v`."""
    return percentage(m)


def grey_level_variance(m: CountMatrix) -> float:
    r"""Grey level variance (IBSI QK93): :math:`F = \sum_{ij} (i-\mu)^2 p_{ij}`, :math:`\mu = \sum_{ij} i p_{ij}`."""
    return row_variance(m)


def zone_distance_variance(m: CountMatrix) -> float:
    r"""Zone distance variance (IBSI 7WT1): :math:`F = \sum_{ij} (j-\mu)^2 p_{ij}`, :math:`\mu = \sum_{ij} j p_{ij}`."""
    return column_variance(m)


def zone_distance_entropy(m: CountMatrix) -> float:
    r"""Zone distance entropy (IBSI GBDU): :math:`F = -\sum_{ij} p_{ij}\log_2 p_{ij}` (bits)."""
    return entropy(m)


FEATURES: tuple[Feature, ...] = (
    Feature("small_distance_emphasis", small_distance_emphasis, ibsi="0GBI"),
    Feature("large_distance_emphasis", large_distance_emphasis, ibsi="MB4I", unit="voxels^2"),
    Feature("low_grey_level_zone_emphasis", low_grey_level_zone_emphasis, ibsi="S1RA"),
    Feature("high_grey_level_zone_emphasis", high_grey_level_zone_emphasis, ibsi="K26C"),
    Feature("small_distance_low_grey_level_emphasis", small_distance_low_grey_level_emphasis, ibsi="RUVG"),
    Feature("small_distance_high_grey_level_emphasis", small_distance_high_grey_level_emphasis, ibsi="DKNJ"),
    Feature("large_distance_low_grey_level_emphasis", large_distance_low_grey_level_emphasis, ibsi="A7WM"),
    Feature("large_distance_high_grey_level_emphasis", large_distance_high_grey_level_emphasis, ibsi="KLTH"),
    Feature("grey_level_non_uniformity", grey_level_non_uniformity, ibsi="VFT7", unit="zones"),
    Feature("normalised_grey_level_non_uniformity", normalised_grey_level_non_uniformity, ibsi="7HP3"),
    Feature("zone_distance_non_uniformity", zone_distance_non_uniformity, ibsi="V294", unit="zones"),
    Feature("normalised_zone_distance_non_uniformity", normalised_zone_distance_non_uniformity, ibsi="IATH"),
    Feature("zone_percentage", zone_percentage, ibsi="VIWW"),
    Feature("grey_level_variance", grey_level_variance, ibsi="QK93"),
    Feature("zone_distance_variance", zone_distance_variance, ibsi="7WT1", unit="voxels^2"),
    Feature("zone_distance_entropy", zone_distance_entropy, ibsi="GBDU", unit="bits"),
)


def compute(roi: RoiData):
    aggs = requested_aggregations(roi)
    if not aggs:
        return []
    return aggregate(FEATURES, aggs, *zone_matrices(roi, "distance", aggs), is_empty=lambda m: m.is_empty)


FAMILY = Family("gldzm", "VMDZ", FEATURES, compute)
