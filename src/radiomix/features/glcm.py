r"""Grey-level co-occurrence matrix features (IBSI 3.6, family LFYI).

The family builds co-occurrence count matrices for every direction in one pass (``kernels.glcm_kernels``), aggregates
them as IBSI prescribes (``kernels.texture_common.aggregate_directional``) and evaluates the 25 features below on each
normalised matrix. Symbols as in IBSI 3.6: :math:`p_{ij}` the normalised Ng x Ng matrix (grey levels 1..Ng, Ng the
number of discretised levels, ``roi.n_levels``; levels absent from the ROI give empty rows and columns),
:math:`p_{i.}` / :math:`p_{.j}` its row / column marginals, :math:`p_{x+y}(k)` (k = 2..2Ng) and :math:`p_{x-y}(k)`
(k = 0..Ng-1) its diagonal and cross-diagonal marginals. Logarithms are base 2.

Degenerate inputs: a matrix without any pair (a one-voxel slice, a ROI without neighbours in a direction) is left out
of averages; an aggregation without any non-empty matrix gives NaN for every feature. Correlation and information
correlation 1 are NaN for a matrix with one grey level (zero variance / zero marginal entropy); averages then run over
the matrices where the feature is defined.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from radiomix.features.base import Family, Feature, RoiData, roi_memo
from radiomix.kernels.glcm_kernels import glcm_counts
from radiomix.kernels.texture_common import aggregate_directional, level_volume


@dataclass(frozen=True)
class _Index:
    """Index vectors of an Ng x Ng matrix (read-only, cached per Ng by :func:`_index`)."""

    levels: np.ndarray  # 1..Ng
    k_diff: np.ndarray  # 0..Ng-1, the values of |i - j|
    k_sum: np.ndarray  # 2..2Ng, the values of i + j
    diff_of: np.ndarray  # |i - j| of each entry of the flattened matrix
    sum_of: np.ndarray  # i + j - 2 of each entry of the flattened matrix


@lru_cache(maxsize=64)
def _index(n_g: int) -> _Index:
    a = np.arange(n_g)
    out = _Index(a + 1.0, a * 1.0, np.arange(2, 2 * n_g + 1, dtype=np.float64),
                 np.abs(np.subtract.outer(a, a)).ravel(), np.add.outer(a, a).ravel())
    for v in vars(out).values():
        v.setflags(write=False)
    return out


def _entropy(p: np.ndarray) -> float:
    q = p[p > 0]
    return float(-np.sum(q * np.log2(q)))


@dataclass(frozen=True, eq=False)
class Cooccurrence:
    """Normalised grey-level co-occurrence matrix ``p`` (Ng x Ng, sums to 1) with its cached marginals."""

    p: np.ndarray

    @classmethod
    def from_counts(cls, counts: np.ndarray) -> Cooccurrence:
        """Normalise a count matrix; raises ``ValueError`` for an empty one (the family skips those)."""
        counts = np.asarray(counts, dtype=np.float64)
        total = counts.sum()
        if not total > 0:
            raise ValueError("an empty co-occurrence matrix has no normalised form")
        return cls(counts / total)

    @property
    def n_g(self) -> int:
        return self.p.shape[0]

    @cached_property
    def index(self) -> _Index:
        return _index(self.n_g)

    @cached_property
    def p_x(self) -> np.ndarray:
        """Row marginal :math:`p_{i.}`."""
        return self.p.sum(axis=1)

    @cached_property
    def p_y(self) -> np.ndarray:
        """Column marginal :math:`p_{.j}`."""
        return self.p.sum(axis=0)

    @cached_property
    def p_sum(self) -> np.ndarray:
        """Diagonal marginal :math:`p_{x+y}(k)`, index ``k - 2`` for k = 2..2Ng."""
        return np.bincount(self.index.sum_of, weights=self.p.ravel(), minlength=2 * self.n_g - 1)

    @cached_property
    def p_diff(self) -> np.ndarray:
        """Cross-diagonal marginal :math:`p_{x-y}(k)`, index ``k`` for k = 0..Ng-1."""
        return np.bincount(self.index.diff_of, weights=self.p.ravel(), minlength=self.n_g)

    @property
    def levels(self) -> np.ndarray:
        return self.index.levels

    @cached_property
    def mu_x(self) -> float:
        return float(np.dot(self.levels, self.p_x))

    @cached_property
    def mu_y(self) -> float:
        return float(np.dot(self.levels, self.p_y))

    @cached_property
    def var_x(self) -> float:
        return float(np.dot((self.levels - self.mu_x) ** 2, self.p_x))

    @cached_property
    def var_y(self) -> float:
        return float(np.dot((self.levels - self.mu_y) ** 2, self.p_y))

    @cached_property
    def sum_ij(self) -> float:
        r"""The second moment :math:`\sum_{i,j} i\, j\, p_{ij}`."""
        return float(self.levels @ self.p @ self.levels)

    @cached_property
    def hxy(self) -> float:
        return _entropy(self.p)

    @cached_property
    def hx(self) -> float:
        return _entropy(self.p_x)

    @cached_property
    def hy(self) -> float:
        return _entropy(self.p_y)


# --- features ----------------------------------------------------------------------------------------------------------
def joint_maximum(m: Cooccurrence) -> float:
    r"""Joint maximum (IBSI GYBY): :math:`F = \max_{i,j} p_{ij}`."""
    return float(m.p.max())


def joint_average(m: Cooccurrence) -> float:
    r"""Joint average (IBSI 60VM): :math:`\mu = \sum_{i,j} i\, p_{ij}`."""
    return m.mu_x


def joint_variance(m: Cooccurrence) -> float:
    r"""Joint variance (IBSI UR99): :math:`F = \sum_{i,j} (i - \mu)^2 p_{ij}`, :math:`\mu` the joint average."""
    return m.var_x


def joint_entropy(m: Cooccurrence) -> float:
    r"""Joint entropy (IBSI TU9B): :math:`F = -\sum_{i,j} p_{ij} \log_2 p_{ij}`."""
    return m.hxy


def difference_average(m: Cooccurrence) -> float:
    r"""Difference average (IBSI TF7R): :math:`\mu_{x-y} = \sum_{k=0}^{N_g-1} k\, p_{x-y}(k)`."""
    return float(np.dot(m.index.k_diff, m.p_diff))


def difference_variance(m: Cooccurrence) -> float:
    r"""Difference variance (IBSI D3YU): :math:`F = \sum_{k=0}^{N_g-1} (k - \mu_{x-y})^2 p_{x-y}(k)`."""
    k = m.index.k_diff
    mu = np.dot(k, m.p_diff)
    return float(np.dot((k - mu) ** 2, m.p_diff))


def difference_entropy(m: Cooccurrence) -> float:
    r"""Difference entropy (IBSI NTRS): :math:`F = -\sum_{k=0}^{N_g-1} p_{x-y}(k) \log_2 p_{x-y}(k)`."""
    return _entropy(m.p_diff)


def sum_average(m: Cooccurrence) -> float:
    r"""Sum average (IBSI ZGXS): :math:`\mu_{x+y} = \sum_{k=2}^{2N_g} k\, p_{x+y}(k)`."""
    return float(np.dot(m.index.k_sum, m.p_sum))


def sum_variance(m: Cooccurrence) -> float:
    r"""Sum variance (IBSI OEEB): :math:`F = \sum_{k=2}^{2N_g} (k - \mu_{x+y})^2 p_{x+y}(k)`."""
    k = m.index.k_sum
    mu = np.dot(k, m.p_sum)
    return float(np.dot((k - mu) ** 2, m.p_sum))


def sum_entropy(m: Cooccurrence) -> float:
    r"""Sum entropy (IBSI P6QZ): :math:`F = -\sum_{k=2}^{2N_g} p_{x+y}(k) \log_2 p_{x+y}(k)`."""
    return _entropy(m.p_sum)


def angular_second_moment(m: Cooccurrence) -> float:
    r"""Angular second moment, energy (IBSI 8ZQL): :math:`F = \sum_{i,j} p_{ij}^2`."""
    return float(np.sum(m.p * m.p))


def contrast(m: Cooccurrence) -> float:
    r"""Contrast (IBSI ACUI): :math:`F = \sum_{i,j} (i - j)^2 p_{ij} = \sum_k k^2 p_{x-y}(k)`."""
    return float(np.dot(m.index.k_diff ** 2, m.p_diff))


def dissimilarity(m: Cooccurrence) -> float:
    r"""Dissimilarity (IBSI 8S9J): :math:`F = \sum_{i,j} |i - j|\, p_{ij} = \sum_k k\, p_{x-y}(k)`."""
    return float(np.dot(m.index.k_diff, m.p_diff))


def inverse_difference(m: Cooccurrence) -> float:
    r"""Inverse difference (IBSI IB1Z): :math:`F = \sum_{i,j} p_{ij} / (1 + |i - j|)`."""
    return float(np.dot(1.0 / (1.0 + m.index.k_diff), m.p_diff))


def normalised_inverse_difference(m: Cooccurrence) -> float:
    r"""Normalised inverse difference (IBSI NDRX): :math:`F = \sum_{i,j} p_{ij} / (1 + |i - j| / N_g)`, with
    :math:`N_g` the number of discretised grey levels (the matrix size)."""
    return float(np.dot(1.0 / (1.0 + m.index.k_diff / m.n_g), m.p_diff))


def inverse_difference_moment(m: Cooccurrence) -> float:
    r"""Inverse difference moment (IBSI WF0Z): :math:`F = \sum_{i,j} p_{ij} / (1 + (i - j)^2)`."""
    return float(np.dot(1.0 / (1.0 + m.index.k_diff ** 2.0), m.p_diff))


def normalised_inverse_difference_moment(m: Cooccurrence) -> float:
    r"""Normalised inverse difference moment (IBSI 1QCO): :math:`F = \sum_{i,j} p_{ij} / (1 + (i - j)^2 / N_g^2)`."""
    return float(np.dot(1.0 / (1.0 + (m.index.k_diff / m.n_g) ** 2), m.p_diff))


def inverse_variance(m: Cooccurrence) -> float:
    r"""Inverse variance (IBSI E8JP): :math:`F = \sum_{k=1}^{N_g-1} p_{x-y}(k) / k^2` (the sum over :math:`i \ne j`
    of :math:`p_{ij}/(i-j)^2`); 0 when every pair has equal grey levels."""
    k = m.index.k_diff[1:]
    return float(np.dot(1.0 / k**2, m.p_diff[1:]))


def correlation(m: Cooccurrence) -> float:
    r"""Correlation (IBSI NI2N): :math:`F = (\sum_{i,j} i j p_{ij} - \mu_{i.}\mu_{.j}) / (\sigma_{i.}\sigma_{.j})`,
    with :math:`\mu_{i.}, \sigma_{i.}` the mean and standard deviation of the row marginal (likewise for columns).
    NaN when a marginal has zero variance (one grey level)."""
    den = np.sqrt(m.var_x * m.var_y)
    if not den > 0:
        return float("nan")
    return float((m.sum_ij - m.mu_x * m.mu_y) / den)


def autocorrelation(m: Cooccurrence) -> float:
    r"""Autocorrelation (IBSI QWB0): :math:`F = \sum_{i,j} i\, j\, p_{ij}`."""
    return m.sum_ij


def _cluster_moment(m: Cooccurrence, order: int) -> float:
    # sum over (i, j) of f(i + j) p_ij is the sum over k = i + j of f(k) p_{x+y}(k)
    k = m.index.k_sum
    return float(np.dot((k - m.mu_x - m.mu_y) ** order, m.p_sum))


def cluster_tendency(m: Cooccurrence) -> float:
    r"""Cluster tendency (IBSI DG8W): :math:`F = \sum_{i,j} (i + j - \mu_{i.} - \mu_{.j})^2 p_{ij}`."""
    return _cluster_moment(m, 2)


def cluster_shade(m: Cooccurrence) -> float:
    r"""Cluster shade (IBSI 7NFM): :math:`F = \sum_{i,j} (i + j - \mu_{i.} - \mu_{.j})^3 p_{ij}`."""
    return _cluster_moment(m, 3)


def cluster_prominence(m: Cooccurrence) -> float:
    r"""Cluster prominence (IBSI AE86): :math:`F = \sum_{i,j} (i + j - \mu_{i.} - \mu_{.j})^4 p_{ij}`."""
    return _cluster_moment(m, 4)


def information_correlation_1(m: Cooccurrence) -> float:
    r"""Information correlation 1 (IBSI R8DG): :math:`F = (HXY - HXY_1) / \max(HX, HY)` with :math:`HXY` the joint
    entropy, :math:`HX, HY` the entropies of the marginals and
    :math:`HXY_1 = -\sum_{i,j} p_{ij} \log_2(p_{i.} p_{.j})`, which equals :math:`HX + HY` (sum over j, resp. i, of
    the two log terms) and is computed so. NaN when :math:`\max(HX, HY) = 0` (one grey level)."""
    den = max(m.hx, m.hy)
    if not den > 0:
        return float("nan")
    return (m.hxy - (m.hx + m.hy)) / den


def information_correlation_2(m: Cooccurrence) -> float:
    r"""Information correlation 2 (IBSI JN9H): :math:`F = \sqrt{1 - \exp(-2 (HXY_2 - HXY))}` with
    :math:`HXY_2 = -\sum_{i,j} p_{i.} p_{.j} \log_2(p_{i.} p_{.j})`, the entropy of the product of the marginals,
    which equals :math:`HX + HY` and is computed so; 0 for one grey level."""
    return float(np.sqrt(max(0.0, 1.0 - np.exp(-2.0 * (m.hx + m.hy - m.hxy)))))


FEATURES: tuple[Feature, ...] = (
    Feature("joint_maximum", joint_maximum, ibsi="GYBY"),
    Feature("joint_average", joint_average, ibsi="60VM"),
    Feature("joint_variance", joint_variance, ibsi="UR99"),
    Feature("joint_entropy", joint_entropy, ibsi="TU9B", unit="bits"),
    Feature("difference_average", difference_average, ibsi="TF7R"),
    Feature("difference_variance", difference_variance, ibsi="D3YU"),
    Feature("difference_entropy", difference_entropy, ibsi="NTRS", unit="bits"),
    Feature("sum_average", sum_average, ibsi="ZGXS"),
    Feature("sum_variance", sum_variance, ibsi="OEEB"),
    Feature("sum_entropy", sum_entropy, ibsi="P6QZ", unit="bits"),
    Feature("angular_second_moment", angular_second_moment, ibsi="8ZQL"),
    Feature("contrast", contrast, ibsi="ACUI"),
    Feature("dissimilarity", dissimilarity, ibsi="8S9J"),
    Feature("inverse_difference", inverse_difference, ibsi="IB1Z"),
    Feature("normalised_inverse_difference", normalised_inverse_difference, ibsi="NDRX"),
    Feature("inverse_difference_moment", inverse_difference_moment, ibsi="WF0Z"),
    Feature("normalised_inverse_difference_moment", normalised_inverse_difference_moment, ibsi="1QCO"),
    Feature("inverse_variance", inverse_variance, ibsi="E8JP"),
    Feature("correlation", correlation, ibsi="NI2N"),
    Feature("autocorrelation", autocorrelation, ibsi="QWB0"),
    Feature("cluster_tendency", cluster_tendency, ibsi="DG8W"),
    Feature("cluster_shade", cluster_shade, ibsi="7NFM"),
    Feature("cluster_prominence", cluster_prominence, ibsi="AE86"),
    Feature("information_correlation_1", information_correlation_1, ibsi="R8DG"),
    Feature("information_correlation_2", information_correlation_2, ibsi="JN9H"),
)


def evaluate(counts: np.ndarray) -> np.ndarray | None:
    """Every feature of one co-occurrence count matrix, in ``FEATURES`` order; ``None`` for an empty matrix."""
    if not counts.any():
        return None
    m = Cooccurrence.from_counts(counts)
    return np.array([f.func(m) for f in FEATURES], dtype=np.float64)


def _entropy_rows(q: np.ndarray) -> np.ndarray:
    """Entropy (bits) of each row of ``q`` (K, n), zeros skipped."""
    pos = q > 0
    return -np.sum(np.where(pos, q * np.log2(np.where(pos, q, 1.0)), 0.0), axis=1)


def _dot_rows(w: np.ndarray, q: np.ndarray) -> np.ndarray:
    """sum_k w_k q_k for each row of ``q`` (K, n) (no BLAS call: see ``features.morphology.Shape.covariance_morph``)."""
    return np.sum(w * q, axis=1)


def evaluate_batch(stack: np.ndarray) -> np.ndarray:
    """Every feature of each count matrix of ``stack`` (K, Ng, Ng): (K, 25) in ``FEATURES`` order, a row of NaN for an
    empty matrix. The same formulas as the one-matrix :func:`evaluate` (the feature functions above), evaluated on all
    matrices at once; equal to it within round-off (~1e-15 relative: sums taken in another order)."""
    counts = np.asarray(stack, dtype=np.float64)
    k_all, n_g = counts.shape[0], counts.shape[1]
    out = np.full((k_all, len(FEATURES)), np.nan)
    totals = counts.sum(axis=(1, 2))
    ok = totals > 0
    if not ok.any():
        return out
    p = counts[ok] / totals[ok, None, None]
    k = p.shape[0]
    ix = _index(n_g)
    lev = ix.levels
    flat = p.reshape(k, -1)
    p_x, p_y = p.sum(axis=2), p.sum(axis=1)
    # marginals p_{x+y}, p_{x-y} of all matrices in one bincount each (each matrix its own block of bins)
    rows = np.arange(k)[:, None]
    p_sum = np.bincount((rows * (2 * n_g - 1) + ix.sum_of).ravel(), weights=flat.ravel(),
                        minlength=k * (2 * n_g - 1)).reshape(k, -1)
    p_diff = np.bincount((rows * n_g + ix.diff_of).ravel(), weights=flat.ravel(), minlength=k * n_g).reshape(k, -1)
    mu_x, mu_y = _dot_rows(lev, p_x), _dot_rows(lev, p_y)
    var_x = np.sum((lev - mu_x[:, None]) ** 2 * p_x, axis=1)
    var_y = np.sum((lev - mu_y[:, None]) ** 2 * p_y, axis=1)
    sum_ij = np.sum(np.sum(p * lev[None, None, :], axis=2) * lev, axis=1)
    hxy, hx, hy = _entropy_rows(flat), _entropy_rows(p_x), _entropy_rows(p_y)
    kd, ks = ix.k_diff, ix.k_sum
    mu_d, mu_s = _dot_rows(kd, p_diff), _dot_rows(ks, p_sum)
    centred = ks - (mu_x + mu_y)[:, None]
    den = np.sqrt(var_x * var_y)
    h_max = np.maximum(hx, hy)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.where(den > 0, (sum_ij - mu_x * mu_y) / np.where(den > 0, den, 1.0), np.nan)
        ic1 = np.where(h_max > 0, (hxy - (hx + hy)) / np.where(h_max > 0, h_max, 1.0), np.nan)
    values = [
        flat.max(axis=1), mu_x, var_x, hxy,
        mu_d, np.sum((kd - mu_d[:, None]) ** 2 * p_diff, axis=1), _entropy_rows(p_diff),
        mu_s, np.sum((ks - mu_s[:, None]) ** 2 * p_sum, axis=1), _entropy_rows(p_sum),
        np.sum(flat * flat, axis=1), _dot_rows(kd ** 2, p_diff), mu_d,
        _dot_rows(1.0 / (1.0 + kd), p_diff), _dot_rows(1.0 / (1.0 + kd / n_g), p_diff),
        _dot_rows(1.0 / (1.0 + kd ** 2.0), p_diff), _dot_rows(1.0 / (1.0 + (kd / n_g) ** 2), p_diff),
        _dot_rows(1.0 / kd[1:] ** 2, p_diff[:, 1:]),
        corr, sum_ij,
        np.sum(centred ** 2 * p_sum, axis=1), np.sum(centred ** 3 * p_sum, axis=1), np.sum(centred ** 4 * p_sum, axis=1),
        ic1, np.sqrt(np.maximum(0.0, 1.0 - np.exp(-2.0 * (hx + hy - hxy)))),
    ]
    out[ok] = np.column_stack(values)
    return out


def count_matrices(lv: np.ndarray, directions: np.ndarray, n_levels: int, distance: int = 1,
                   symmetric: bool = True, z_start: int = 0, z_stop: int | None = None,
                   per_slice: bool = False) -> np.ndarray:
    """Co-occurrence counts of ``lv`` (see ``texture_common.level_volume``) for every direction, one numba pass."""
    z_stop = lv.shape[0] if z_stop is None else z_stop
    return glcm_counts(np.ascontiguousarray(lv, dtype=np.int32), np.ascontiguousarray(directions, dtype=np.int64),
                       int(n_levels), int(distance), bool(symmetric), int(z_start), int(z_stop), bool(per_slice))


def compute(roi: RoiData):
    """GLCM features for each requested directional aggregation: ``[(feature, aggregation, value), ...]``."""
    tex = roi.settings.texture
    n_g = int(roi.n_levels)
    # shared with the other directional family (GLCM / GLRLM) through the per-ROI memo; the kernels only read it
    lv = roi_memo(roi, ("level_volume", n_g), lambda: level_volume(roi.levels, roi.mask_int, n_g))

    def build(lv_, directions, z0, z1, per_slice):
        return count_matrices(lv_, directions, n_g, tex.glcm_distance, tex.glcm_symmetric, z0, z1, per_slice)

    results = aggregate_directional(tex.aggregations, lv, build, evaluate_batch, len(FEATURES), 8 * n_g * n_g)
    return [(f.name, agg, float(vals[k])) for agg, vals in results.items() for k, f in enumerate(FEATURES)]


FAMILY = Family("glcm", "LFYI", FEATURES, compute)
