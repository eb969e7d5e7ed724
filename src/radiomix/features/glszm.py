r"""Grey level size zone matrix features (IBSI 3.8, family 9SAK).

The GLSZM :math:`s_{ij}` counts zones (groups of 26-connected voxels in 3D, 8-connected in 2D, of the same discretised
grey level) with grey level :math:`i` and size :math:`j` voxels. :math:`N_s = \sum_{ij} s_{ij}` is the number of
zones, :math:`N_v` the number of voxels in the ROI intensity mask, :math:`p_{ij} = s_{ij}/N_s`, and
:math:`s_{i.}`, :math:`s_{.j}` the marginal sums.

Aggregation (owned here, shared with the GLDZM and NGLDM): ``"2d"`` (8QNN) computes one matrix per slice and averages
each feature over the slices that hold ROI voxels; ``"2.5d"`` (62GR) sums the slice matrices (and :math:`N_v`) into one;
``"3d"`` (KOBO) builds one matrix from the volume. A feature that is undefined on a slice (NaN) is left out of that
slice average. An ROI without voxels gives NaN for every feature.

This module also holds :class:`CountMatrix`, the matrix shape common to the GLSZM, GLDZM and NGLDM: a table of counts
over (grey level, size / distance / dependence) with the grey level and column values kept beside it, so memory is
proportional to the zones found rather than to the largest zone size.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from radiomix.features.base import Family, Feature, RoiData, roi_memo
from radiomix.kernels.zone_kernels import ZoneTable, zone_table

#: Aggregations that single-matrix families compute; other names (GLCM-style) are ignored here.
SINGLE_MATRIX_AGGREGATIONS = ("2d", "2.5d", "3d")


@dataclass(frozen=True, eq=False)
class CountMatrix:
    """Counts ``s[a, b]`` of (grey level ``i[a]``, column value ``j[b]``) with ``n_voxels`` ROI voxels.

    Only grey levels and column values that occur are stored (rows and columns of zeros change no IBSI feature)."""

    s: np.ndarray
    i: np.ndarray
    j: np.ndarray
    n_voxels: int

    @classmethod
    def from_pairs(cls, i_values: np.ndarray, j_values: np.ndarray, n_voxels: int, weights=None):
        """Matrix from one (grey level, column value) pair per zone / neighbourhood."""
        ui, ii = np.unique(np.asarray(i_values), return_inverse=True)
        uj, jj = np.unique(np.asarray(j_values), return_inverse=True)
        flat = np.bincount(ii.ravel() * len(uj) + jj.ravel(), weights=weights, minlength=len(ui) * len(uj))
        return cls(flat.reshape(len(ui), len(uj)).astype(np.float64), ui.astype(np.float64), uj.astype(np.float64),
                   int(n_voxels))

    @classmethod
    def from_dense(cls, dense: np.ndarray, n_voxels: int):
        """Matrix from dense counts ``dense[i, j]`` indexed by grey level and column value themselves."""
        rows = np.nonzero(dense.any(axis=1))[0]
        cols = np.nonzero(dense.any(axis=0))[0]
        return cls(dense[np.ix_(rows, cols)].astype(np.float64), rows.astype(np.float64), cols.astype(np.float64),
                   int(n_voxels))

    @cached_property
    def n_s(self) -> float:
        return float(self.s.sum())

    @property
    def is_empty(self) -> bool:
        return self.n_s == 0

    @cached_property
    def p(self) -> np.ndarray:
        return self.s / self.n_s

    @cached_property
    def s_i(self) -> np.ndarray:
        """Row marginal :math:`s_{i.}`."""
        return self.s.sum(axis=1)

    @cached_property
    def s_j(self) -> np.ndarray:
        """Column marginal :math:`s_{.j}`."""
        return self.s.sum(axis=0)


# --- feature building blocks shared with gldzm / ngldm -----------------------------------------------------------------
def emphasis(m: CountMatrix, a: int, b: int) -> float:
    r""":math:`\frac{1}{N_s}\sum_{ij} i^a j^b s_{ij}`."""
    return float(np.sum((m.i[:, None] ** a) * (m.j[None, :] ** b) * m.s) / m.n_s)


def row_non_uniformity(m: CountMatrix, normalised: bool) -> float:
    return float(np.sum(m.s_i ** 2) / (m.n_s ** 2 if normalised else m.n_s))


def column_non_uniformity(m: CountMatrix, normalised: bool) -> float:
    return float(np.sum(m.s_j ** 2) / (m.n_s ** 2 if normalised else m.n_s))


def row_variance(m: CountMatrix) -> float:
    pi = m.p.sum(axis=1)
    mu = float(np.sum(m.i * pi))
    return float(np.sum((m.i - mu) ** 2 * pi))


def column_variance(m: CountMatrix) -> float:
    pj = m.p.sum(axis=0)
    mu = float(np.sum(m.j * pj))
    return float(np.sum((m.j - mu) ** 2 * pj))


def entropy(m: CountMatrix) -> float:
    p = m.p[m.p > 0]
    return float(-np.sum(p * np.log2(p)))


def percentage(m: CountMatrix) -> float:
    return m.n_s / m.n_voxels


# --- GLSZM features ----------------------------------------------------------------------------------------------------
def small_zone_emphasis(m: CountMatrix) -> float:
    r"""Small zone emphasis (IBSI 5QRC): :math:`F = \frac{1}{N_s}\sum_j s_{.j}/j^2`."""
    return emphasis(m, 0, -2)


def large_zone_emphasis(m: CountMatrix) -> float:
    r"""Large zone emphasis (IBSI 48P8): :math:`F = \frac{1}{N_s}\sum_j j^2 s_{.j}`."""
    return emphasis(m, 0, 2)


def low_grey_level_zone_emphasis(m: CountMatrix) -> float:
    r"""Low grey level zone emphasis (IBSI XMSY): :math:`F = \frac{1}{N_s}\sum_i s_{i.}/i^2`."""
    return emphasis(m, -2, 0)


def high_grey_level_zone_emphasis(m: CountMatrix) -> float:
    r"""High grey level zone emphasis (IBSI 5GN9): :math:`F = \frac{1}{N_s}\sum_i i^2 s_{i.}`."""
    return emphasis(m, 2, 0)


def small_zone_low_grey_level_emphasis(m: CountMatrix) -> float:
    r"""Small zone low grey level emphasis (IBSI 5RAI): :math:`F = \frac{1}{N_s}\sum_{ij} s_{ij}/(i^2 j^2)`."""
    return emphasis(m, -2, -2)


def small_zone_high_grey_level_emphasis(m: CountMatrix) -> float:
    r"""Small zone high grey level emphasis (IBSI HW1V): :math:`F = \frac{1}{N_s}\sum_{ij} i^2 s_{ij}/j^2`."""
    return emphasis(m, 2, -2)


def large_zone_low_grey_level_emphasis(m: CountMatrix) -> float:
    r"""Large zone low grey level emphasis (IBSI YH51): :math:`F = \frac{1}{N_s}\sum_{ij} j^2 s_{ij}/i^2`."""
    return emphasis(m, -2, 2)


def large_zone_high_grey_level_emphasis(m: CountMatrix) -> float:
    r"""Large zone high grey level emphasis (IBSI J17V): :math:`F = \frac{1}{N_s}\sum_{ij} i^2 j^2 s_{ij}`."""
    return emphasis(m, 2, 2)


def grey_level_non_uniformity(m: CountMatrix) -> float:
    r"""Grey level non-uniformity (IBSI JNSA): :math:`F = \frac{1}{N_s}\sum_i s_{i.}^2`."""
    return row_non_uniformity(m, False)


def normalised_grey_level_non_uniformity(m: CountMatrix) -> float:
    r"""Normalised grey level non-uniformity (IBSI Y1RO): :math:`F = \frac{1}{N_s^2}\sum_i s_{i.}^2`."""
    return row_non_uniformity(m, True)


def zone_size_non_uniformity(m: CountMatrix) -> float:
    r"""Zone size non-uniformity (IBSI 4JP3): :math:`F = \frac{1}{N_s}\sum_j s_{.j}^2`."""
    return column_non_uniformity(m, False)


def normalised_zone_size_non_uniformity(m: CountMatrix) -> float:
    r"""Normalised zone size non-uniformity (IBSI VB3A): :math:`F = \frac{1}{N_s^2}\sum_j s_{.j}^2`."""
    return column_non_uniformity(m, True)


def zone_percentage(m: CountMatrix) -> float:
    r"""Zone percentage (IBSI P30P): :math:`F = N_s / N_v`."""
    return percentage(m)


def grey_level_variance(m: CountMatrix) -> float:
    r"""Grey level variance (IBSI BYLV): :math:`F = \sum_{ij} (i-\mu)^2 p_{ij}`, :math:`\mu = \sum_{ij} i p_{ij}`."""
    return row_variance(m)


def zone_size_variance(m: CountMatrix) -> float:
    r"""Zone size variance (IBSI 3NSA): :math:`F = \sum_{ij} (j-\mu)^2 p_{ij}`, :math:`\mu = \sum_{ij} j p_{ij}`."""
    return column_variance(m)


def zone_size_entropy(m: CountMatrix) -> float:
    r"""Zone size entropy (IBSI GU8N): :math:`F = -\sum_{ij} p_{ij}\log_2 p_{ij}` (bits)."""
    return entropy(m)


FEATURES: tuple[Feature, ...] = (
    Feature("small_zone_emphasis", small_zone_emphasis, ibsi="5QRC"),
    Feature("large_zone_emphasis", large_zone_emphasis, ibsi="48P8", unit="voxels^2"),
    Feature("low_grey_level_zone_emphasis", low_grey_level_zone_emphasis, ibsi="XMSY"),
    Feature("high_grey_level_zone_emphasis", high_grey_level_zone_emphasis, ibsi="5GN9"),
    Feature("small_zone_low_grey_level_emphasis", small_zone_low_grey_level_emphasis, ibsi="5RAI"),
    Feature("small_zone_high_grey_level_emphasis", small_zone_high_grey_level_emphasis, ibsi="HW1V"),
    Feature("large_zone_low_grey_level_emphasis", large_zone_low_grey_level_emphasis, ibsi="YH51"),
    Feature("large_zone_high_grey_level_emphasis", large_zone_high_grey_level_emphasis, ibsi="J17V"),
    Feature("grey_level_non_uniformity", grey_level_non_uniformity, ibsi="JNSA", unit="zones"),
    Feature("normalised_grey_level_non_uniformity", normalised_grey_level_non_uniformity, ibsi="Y1RO"),
    Feature("zone_size_non_uniformity", zone_size_non_uniformity, ibsi="4JP3", unit="zones"),
    Feature("normalised_zone_size_non_uniformity", normalised_zone_size_non_uniformity, ibsi="VB3A"),
    Feature("zone_percentage", zone_percentage, ibsi="P30P"),
    Feature("grey_level_variance", grey_level_variance, ibsi="BYLV"),
    Feature("zone_size_variance", zone_size_variance, ibsi="3NSA", unit="voxels^2"),
    Feature("zone_size_entropy", zone_size_entropy, ibsi="GU8N", unit="bits"),
)


# --- aggregation (shared with gldzm / ngldm / ngtdm) -------------------------------------------------------------------
def requested_aggregations(roi: RoiData) -> list[str]:
    return [a for a in roi.settings.texture.aggregations if a in SINGLE_MATRIX_AGGREGATIONS]


def evaluate(features: Iterable[Feature], m, is_empty: bool) -> np.ndarray:
    """Feature values of one matrix; NaN for every feature of an empty matrix. Degenerate divisions give NaN
    silently (documented per family)."""
    features = tuple(features)
    if is_empty:
        return np.full(len(features), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.array([float(f.func(m)) for f in features])


def aggregate(features: tuple[Feature, ...], aggregations: list[str],
              slice_matrices: Callable[[], list], merged: Callable[[], object], volume: Callable[[], object],
              is_empty: Callable[[object], bool]) -> list[tuple[str, str, float]]:
    """Run ``features`` for each requested aggregation.

    ``slice_matrices()`` gives the matrices of the slices holding ROI voxels, ``merged()`` their sum and ``volume()``
    the 3D matrix; each is only built when an aggregation needs it."""
    out: list[tuple[str, str, float]] = []
    for agg in aggregations:
        if agg == "2d":
            mats = [m for m in slice_matrices() if not is_empty(m)]
            if mats:
                vals = np.stack([evaluate(features, m, False) for m in mats])
                ok = np.isfinite(vals)
                cnt = ok.sum(axis=0)
                values = np.where(cnt > 0, np.where(ok, vals, 0).sum(axis=0) / np.maximum(cnt, 1), np.nan)
            else:
                values = np.full(len(features), np.nan)
        elif agg == "2.5d":
            m = merged()
            values = evaluate(features, m, is_empty(m))
        else:  # "3d"
            m = volume()
            values = evaluate(features, m, is_empty(m))
        out += [(f.name, agg, float(v)) for f, v in zip(features, values)]
    return out


def roi_zone_table(roi: RoiData, planar: bool) -> ZoneTable:
    """The zone table (with distances) of ``roi``'s intensity mask, built once per ROI and ``planar`` and shared by
    the GLSZM and GLDZM (thread-safe, :func:`radiomix.features.base.roi_memo`)."""
    return roi_memo(roi, ("zone_table", planar),
                    lambda: zone_table(roi.levels, roi.mask_int, roi.mask_morph, planar=planar))


def zone_matrices(roi: RoiData, column: str, aggregations: list[str]):
    """Lazy builders ``(slice_matrices, merged, volume)`` of zone-count matrices over ``column`` ('size' or
    'distance') of the zone table (:func:`roi_zone_table`)."""

    def table(planar: bool) -> ZoneTable:
        return roi_zone_table(roi, planar)

    def slice_matrices():
        t = table(True)
        col = getattr(t, column)
        # one sort for all slices: unique (slice, level, column value) triples with their counts
        base_l, base_c = int(t.level.max(initial=0)) + 1, int(col.max(initial=0)) + 1
        keys, counts = np.unique((t.slice * base_l + t.level) * base_c + col, return_counts=True)
        sl, rest = np.divmod(keys, base_l * base_c)
        lev, val = np.divmod(rest, base_c)
        bounds = np.searchsorted(sl, np.arange(len(t.n_voxels) + 1))
        return [CountMatrix.from_pairs(lev[a:b], val[a:b], t.n_voxels[k], weights=counts[a:b])
                for k, (a, b) in enumerate(itertools.pairwise(bounds)) if t.n_voxels[k] > 0]

    def merged():
        t = table(True)
        return CountMatrix.from_pairs(t.level, getattr(t, column), int(t.n_voxels.sum()))

    def volume():
        t = table(False)
        return CountMatrix.from_pairs(t.level, getattr(t, column), int(t.n_voxels.sum()))

    return slice_matrices, merged, volume


def compute(roi: RoiData):
    aggs = requested_aggregations(roi)
    if not aggs:
        return []
    return aggregate(FEATURES, aggs, *zone_matrices(roi, "size", aggs), is_empty=lambda m: m.is_empty)


FAMILY = Family("glszm", "9SAK", FEATURES, compute)
