r"""Grey-level run-length matrix features (IBSI 3.7, family TP0I).

The family counts runs for every direction in one pass (``kernels.glrlm_kernels``), aggregates the matrices as IBSI
prescribes (``kernels.texture_common.aggregate_directional``) and evaluates the 16 features below on each matrix.
Symbols as in IBSI 3.7: :math:`r_{ij}` the number of runs of grey level i (1..Ng, Ng = ``roi.n_levels``) and length j
(1..Nr), :math:`N_s = \sum r_{ij}` the number of runs, :math:`r_{i.}` / :math:`r_{.j}` the marginal counts per grey
level / run length, :math:`p_{ij} = r_{ij}/N_s`, and :math:`N_v` the number of voxels. Every voxel of the ROI is in
exactly one run per direction, so :math:`N_v = \sum_{ij} j\, r_{ij}`; for a merged matrix this is the number of ROI
voxels times the number of merged matrices, as IBSI requires for the run percentage.

Degenerate inputs: only an empty matrix (no ROI voxel in that slice) is degenerate; it is left out of averages, and an
aggregation without any non-empty matrix gives NaN for every feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from radiomix.features.base import Family, Feature, RoiData, roi_memo
from radiomix.kernels.glrlm_kernels import glrlm_counts
from radiomix.kernels.texture_common import aggregate_directional, level_volume


@dataclass(frozen=True, eq=False)
class RunLength:
    """Run-length count matrix ``r`` (Ng x Nr, float) with its cached marginals and totals."""

    r: np.ndarray

    @classmethod
    def from_counts(cls, counts: np.ndarray) -> RunLength:
        """Wrap a count matrix; raises ``ValueError`` for an empty one (the family skips those)."""
        r = np.asarray(counts, dtype=np.float64)
        if not r.sum() > 0:
            raise ValueError("an empty run-length matrix has no features")
        return cls(r)

    @cached_property
    def i(self) -> np.ndarray:
        """Grey levels 1..Ng as a column."""
        return np.arange(1, self.r.shape[0] + 1, dtype=np.float64)[:, None]

    @cached_property
    def j(self) -> np.ndarray:
        """Run lengths 1..Nr as a row."""
        return np.arange(1, self.r.shape[1] + 1, dtype=np.float64)[None, :]

    @cached_property
    def n_s(self) -> float:
        return float(self.r.sum())

    @cached_property
    def n_v(self) -> float:
        return float(np.sum(self.r * self.j))

    @cached_property
    def r_i(self) -> np.ndarray:
        """Runs per grey level :math:`r_{i.}`."""
        return self.r.sum(axis=1)

    @cached_property
    def r_j(self) -> np.ndarray:
        """Runs per run length :math:`r_{.j}`."""
        return self.r.sum(axis=0)

    @cached_property
    def p(self) -> np.ndarray:
        return self.r / self.n_s


def _weighted(m: RunLength, w: np.ndarray) -> float:
    return float(np.sum(m.r * w) / m.n_s)


def short_runs_emphasis(m: RunLength) -> float:
    r"""Short runs emphasis (IBSI 22OV): :math:`F = \frac{1}{N_s}\sum_{i,j} r_{ij} / j^2`."""
    return float(np.dot(m.r_j, 1.0 / m.j[0] ** 2) / m.n_s)


def long_runs_emphasis(m: RunLength) -> float:
    r"""Long runs emphasis (IBSI W4KF): :math:`F = \frac{1}{N_s}\sum_{i,j} j^2 r_{ij}`."""
    return float(np.dot(m.r_j, m.j[0] ** 2) / m.n_s)


def low_grey_level_run_emphasis(m: RunLength) -> float:
    r"""Low grey level run emphasis (IBSI V3SW): :math:`F = \frac{1}{N_s}\sum_{i,j} r_{ij} / i^2`."""
    return float(np.dot(m.r_i, 1.0 / m.i[:, 0] ** 2) / m.n_s)


def high_grey_level_run_emphasis(m: RunLength) -> float:
    r"""High grey level run emphasis (IBSI G3QZ): :math:`F = \frac{1}{N_s}\sum_{i,j} i^2 r_{ij}`."""
    return float(np.dot(m.r_i, m.i[:, 0] ** 2) / m.n_s)


def short_run_low_grey_level_emphasis(m: RunLength) -> float:
    r"""Short run low grey level emphasis (IBSI HTZT): :math:`F = \frac{1}{N_s}\sum_{i,j} r_{ij} / (i^2 j^2)`."""
    return _weighted(m, 1.0 / (m.i**2 * m.j**2))


def short_run_high_grey_level_emphasis(m: RunLength) -> float:
    r"""Short run high grey level emphasis (IBSI GD3A): :math:`F = \frac{1}{N_s}\sum_{i,j} i^2 r_{ij} / j^2`."""
    return _weighted(m, m.i**2 / m.j**2)


def long_run_low_grey_level_emphasis(m: RunLength) -> float:
    r"""Long run low grey level emphasis (IBSI IVPO): :math:`F = \frac{1}{N_s}\sum_{i,j} j^2 r_{ij} / i^2`."""
    return _weighted(m, m.j**2 / m.i**2)


def long_run_high_grey_level_emphasis(m: RunLength) -> float:
    r"""Long run high grey level emphasis (IBSI 3KUM): :math:`F = \frac{1}{N_s}\sum_{i,j} i^2 j^2 r_{ij}`."""
    return _weighted(m, m.i**2 * m.j**2)


def grey_level_non_uniformity(m: RunLength) -> float:
    r"""Grey level non-uniformity (IBSI R5YN): :math:`F = \frac{1}{N_s}\sum_i r_{i.}^2`."""
    return float(np.sum(m.r_i**2) / m.n_s)


def normalised_grey_level_non_uniformity(m: RunLength) -> float:
    r"""Normalised grey level non-uniformity (IBSI OVBL): :math:`F = \frac{1}{N_s^2}\sum_i r_{i.}^2`."""
    return float(np.sum(m.r_i**2) / m.n_s**2)


def run_length_non_uniformity(m: RunLength) -> float:
    r"""Run length non-uniformity (IBSI W92Y): :math:`F = \frac{1}{N_s}\sum_j r_{.j}^2`."""
    return float(np.sum(m.r_j**2) / m.n_s)


def normalised_run_length_non_uniformity(m: RunLength) -> float:
    r"""Normalised run length non-uniformity (IBSI IC23): :math:`F = \frac{1}{N_s^2}\sum_j r_{.j}^2`."""
    return float(np.sum(m.r_j**2) / m.n_s**2)


def run_percentage(m: RunLength) -> float:
    r"""Run percentage (IBSI 9ZK5): :math:`F = N_s / N_v`, with :math:`N_v = \sum_{i,j} j\, r_{ij}` (for merged
    matrices the number of voxels times the number of merged matrices)."""
    return m.n_s / m.n_v


def grey_level_variance(m: RunLength) -> float:
    r"""Grey level variance (IBSI 8CE5): :math:`F = \sum_{i,j} (i - \mu)^2 p_{ij}`, :math:`\mu = \sum_{i,j} i p_{ij}`."""
    pi = m.r_i / m.n_s
    g = m.i[:, 0]
    mu = np.dot(g, pi)
    return float(np.dot((g - mu) ** 2, pi))


def run_length_variance(m: RunLength) -> float:
    r"""Run length variance (IBSI SXLW): :math:`F = \sum_{i,j} (j - \mu)^2 p_{ij}`, :math:`\mu = \sum_{i,j} j p_{ij}`."""
    pj = m.r_j / m.n_s
    n = m.j[0]
    mu = np.dot(n, pj)
    return float(np.dot((n - mu) ** 2, pj))


def run_entropy(m: RunLength) -> float:
    r"""Run entropy (IBSI HJ9O): :math:`F = -\sum_{i,j} p_{ij} \log_2 p_{ij}`."""
    q = m.p[m.p > 0]
    return float(-np.sum(q * np.log2(q)))


FEATURES: tuple[Feature, ...] = (
    Feature("short_runs_emphasis", short_runs_emphasis, ibsi="22OV"),
    Feature("long_runs_emphasis", long_runs_emphasis, ibsi="W4KF"),
    Feature("low_grey_level_run_emphasis", low_grey_level_run_emphasis, ibsi="V3SW"),
    Feature("high_grey_level_run_emphasis", high_grey_level_run_emphasis, ibsi="G3QZ"),
    Feature("short_run_low_grey_level_emphasis", short_run_low_grey_level_emphasis, ibsi="HTZT"),
    Feature("short_run_high_grey_level_emphasis", short_run_high_grey_level_emphasis, ibsi="GD3A"),
    Feature("long_run_low_grey_level_emphasis", long_run_low_grey_level_emphasis, ibsi="IVPO"),
    Feature("long_run_high_grey_level_emphasis", long_run_high_grey_level_emphasis, ibsi="3KUM"),
    Feature("grey_level_non_uniformity", grey_level_non_uniformity, ibsi="R5YN"),
    Feature("normalised_grey_level_non_uniformity", normalised_grey_level_non_uniformity, ibsi="OVBL"),
    Feature("run_length_non_uniformity", run_length_non_uniformity, ibsi="W92Y"),
    Feature("normalised_run_length_non_uniformity", normalised_run_length_non_uniformity, ibsi="IC23"),
    Feature("run_percentage", run_percentage, ibsi="9ZK5"),
    Feature("grey_level_variance", grey_level_variance, ibsi="8CE5"),
    Feature("run_length_variance", run_length_variance, ibsi="SXLW"),
    Feature("run_entropy", run_entropy, ibsi="HJ9O", unit="bits"),
)


def evaluate(counts: np.ndarray) -> np.ndarray | None:
    """Every feature of one run-length count matrix, in ``FEATURES`` order; ``None`` for an empty matrix."""
    if not counts.any():
        return None
    m = RunLength.from_counts(counts)
    return np.array([f.func(m) for f in FEATURES], dtype=np.float64)


def evaluate_batch(stack: np.ndarray) -> np.ndarray:
    """Every feature of each run-length count matrix of ``stack`` (K, Ng, Nr): (K, 16) in ``FEATURES`` order, a row
    of NaN for an empty matrix. The formulas of the feature functions above on all matrices at once; equal to the
    one-matrix :func:`evaluate` within round-off (sums taken in another order)."""
    r_all = np.asarray(stack, dtype=np.float64)
    out = np.full((r_all.shape[0], len(FEATURES)), np.nan)
    n_s_all = r_all.sum(axis=(1, 2))
    ok = n_s_all > 0
    if not ok.any():
        return out
    r, n_s = r_all[ok], n_s_all[ok]
    g = np.arange(1, r.shape[1] + 1, dtype=np.float64)  # grey levels i
    n = np.arange(1, r.shape[2] + 1, dtype=np.float64)  # run lengths j
    r_i, r_j = r.sum(axis=2), r.sum(axis=1)
    g2, n2 = g * g, n * n

    def weighted(w):  # sum_ij w_ij r_ij / N_s
        return np.sum(r * w, axis=(1, 2)) / n_s

    p_i, p_j = r_i / n_s[:, None], r_j / n_s[:, None]
    mu_i, mu_j = np.sum(g * p_i, axis=1), np.sum(n * p_j, axis=1)
    p = r / n_s[:, None, None]
    pos = p > 0
    gi2, nj2 = g2[:, None], n2[None, :]
    values = [
        np.sum(r_j / n2, axis=1) / n_s, np.sum(r_j * n2, axis=1) / n_s,
        np.sum(r_i / g2, axis=1) / n_s, np.sum(r_i * g2, axis=1) / n_s,
        weighted(1.0 / (gi2 * nj2)), weighted(gi2 / nj2), weighted(nj2 / gi2), weighted(gi2 * nj2),
        np.sum(r_i ** 2, axis=1) / n_s, np.sum(r_i ** 2, axis=1) / n_s ** 2,
        np.sum(r_j ** 2, axis=1) / n_s, np.sum(r_j ** 2, axis=1) / n_s ** 2,
        n_s / np.sum(r_j * n, axis=1),
        np.sum((g - mu_i[:, None]) ** 2 * p_i, axis=1), np.sum((n - mu_j[:, None]) ** 2 * p_j, axis=1),
        -np.sum(np.where(pos, p * np.log2(np.where(pos, p, 1.0)), 0.0), axis=(1, 2)),
    ]
    out[ok] = np.column_stack(values)
    return out


def max_run_length(lv: np.ndarray, three_d: bool) -> int:
    """The longest possible run in ``lv``: its largest side (in-plane sides only for 2D runs)."""
    sides = lv.shape if three_d else lv.shape[1:]
    return max(1, *sides) if len(sides) else 1


def count_matrices(lv: np.ndarray, directions: np.ndarray, n_levels: int, max_run: int | None = None,
                   z_start: int = 0, z_stop: int | None = None, per_slice: bool = False) -> np.ndarray:
    """Run-length counts of ``lv`` (see ``texture_common.level_volume``) for every direction, one numba pass."""
    z_stop = lv.shape[0] if z_stop is None else z_stop
    if max_run is None:
        max_run = max_run_length(lv, True)
    return glrlm_counts(np.ascontiguousarray(lv, dtype=np.int32), np.ascontiguousarray(directions, dtype=np.int64),
                        int(n_levels), int(max_run), int(z_start), int(z_stop), bool(per_slice))


def compute(roi: RoiData):
    """GLRLM features for each requested directional aggregation: ``[(feature, aggregation, value), ...]``."""
    n_g = int(roi.n_levels)
    # shared with the other directional family (GLCM / GLRLM) through the per-ROI memo; the kernels only read it
    lv = roi_memo(roi, ("level_volume", n_g), lambda: level_volume(roi.levels, roi.mask_int, n_g))
    n_r = max_run_length(lv, True)

    def build(lv_, directions, z0, z1, per_slice):
        return count_matrices(lv_, directions, n_g, n_r, z0, z1, per_slice)

    results = aggregate_directional(roi.settings.texture.aggregations, lv, build, evaluate_batch,
                                    len(FEATURES), 8 * n_g * n_r)
    return [(f.name, agg, float(vals[k])) for agg, vals in results.items() for k, f in enumerate(FEATURES)]


FAMILY = Family("glrlm", "TP0I", FEATURES, compute)
