r"""PyRadiomics texture classes: glcm, glrlm, glszm, gldm, ngtdm (matrices and features).

Symbols follow PyRadiomics' documentation. Matrices keep only the grey levels present in the ROI and features use
those levels' own values :math:`i` (so an unused level in between does not count, as in PyRadiomics).
:math:`\epsilon` is the machine epsilon added inside every logarithm. Directional classes (glcm, glrlm) compute their
features per angle and average them (``numpy.nanmean``) unless ``weightingNorm`` is set, in which case the angle
matrices are summed with weights :math:`e^{-\|d\|^2}` (:math:`d` the angle's offset in mm under the chosen norm; 1 for
``no_weighting``) into one matrix first. glszm, gldm and ngtdm use the neighbourhood of all angles (26 voxels in 3D,
8 in-plane with ``force2D``).
"""

from __future__ import annotations

import numpy as np

from radiomix.compat.pyradiomics.features import angles, discretise
from radiomix.compat.pyradiomics.kernels import neighbour_stats, zones
from radiomix.kernels.glcm_kernels import glcm_counts
from radiomix.kernels.glrlm_kernels import glrlm_counts

EPS = np.spacing(1)
TEXTURE_CLASSES = ("glcm", "glrlm", "glszm", "gldm", "ngtdm")

NAMES: dict[str, tuple[str, ...]] = {
    "glcm": ("Autocorrelation", "JointAverage", "ClusterProminence", "ClusterShade", "ClusterTendency", "Contrast",
             "Correlation", "DifferenceAverage", "DifferenceEntropy", "DifferenceVariance", "JointEnergy",
             "JointEntropy", "Imc1", "Imc2", "Idm", "MCC", "Idmn", "Id", "Idn", "InverseVariance",
             "MaximumProbability", "SumAverage", "SumEntropy", "SumSquares"),
    "glrlm": ("ShortRunEmphasis", "LongRunEmphasis", "GrayLevelNonUniformity", "GrayLevelNonUniformityNormalized",
              "RunLengthNonUniformity", "RunLengthNonUniformityNormalized", "RunPercentage", "GrayLevelVariance",
              "RunVariance", "RunEntropy", "LowGrayLevelRunEmphasis", "HighGrayLevelRunEmphasis",
              "ShortRunLowGrayLevelEmphasis", "ShortRunHighGrayLevelEmphasis", "LongRunLowGrayLevelEmphasis",
              "LongRunHighGrayLevelEmphasis"),
    "glszm": ("SmallAreaEmphasis", "LargeAreaEmphasis", "GrayLevelNonUniformity", "GrayLevelNonUniformityNormalized",
              "SizeZoneNonUniformity", "SizeZoneNonUniformityNormalized", "ZonePercentage", "GrayLevelVariance",
              "ZoneVariance", "ZoneEntropy", "LowGrayLevelZoneEmphasis", "HighGrayLevelZoneEmphasis",
              "SmallAreaLowGrayLevelEmphasis", "SmallAreaHighGrayLevelEmphasis", "LargeAreaLowGrayLevelEmphasis",
              "LargeAreaHighGrayLevelEmphasis"),
    "gldm": ("SmallDependenceEmphasis", "LargeDependenceEmphasis", "GrayLevelNonUniformity",
             "DependenceNonUniformity", "DependenceNonUniformityNormalized", "GrayLevelVariance",
             "DependenceVariance", "DependenceEntropy", "LowGrayLevelEmphasis", "HighGrayLevelEmphasis",
             "SmallDependenceLowGrayLevelEmphasis", "SmallDependenceHighGrayLevelEmphasis",
             "LargeDependenceLowGrayLevelEmphasis", "LargeDependenceHighGrayLevelEmphasis"),
    "ngtdm": ("Coarseness", "Contrast", "Busyness", "Complexity", "Strength"),
}


def feature_names(cls: str) -> tuple[str, ...]:
    """PyRadiomics feature names of texture class ``cls``."""
    return NAMES[cls]


# ---------------------------------------------------------------------------------------------------------- matrices
class _Prepared:
    """Discretised ROI cropped to its bounding box: ``lv`` (0 outside), present ``levels``, angles, neighbours."""

    def __init__(self, image, mask, spacing, setting):
        lv_full = discretise(image, mask, setting)
        idx = np.nonzero(mask)
        box = tuple(slice(int(i.min()), int(i.max()) + 1) for i in idx)
        self.lv = np.ascontiguousarray(lv_full[box])
        self.levels = np.unique(self.lv[self.lv > 0])
        self.n_levels = int(self.levels.max())
        self.n_voxels = int(np.count_nonzero(self.lv))
        self.angles = angles(setting, self.lv.shape)
        self.nbrs = np.ascontiguousarray(np.concatenate([self.angles, -self.angles]).astype(np.int64))
        self.spacing = spacing
        self.setting = setting


def _angle_weights(prep: _Prepared) -> np.ndarray:
    """PyRadiomics' weights :math:`e^{-\\|d\\|^2}` per angle for ``weightingNorm`` (1 for ``no_weighting``)."""
    norm = prep.setting["weightingNorm"]
    d = np.abs(prep.angles) * np.asarray(prep.spacing)[None, :]
    if norm == "no_weighting":
        return np.ones(len(d))
    dist = {"infinity": d.max(axis=1), "euclidean": np.sqrt((d ** 2).sum(axis=1)), "manhattan": d.sum(axis=1)}[norm]
    return np.exp(-dist ** 2)


def _glcm(prep: _Prepared) -> np.ndarray:
    """Normalised GLCM ``(Ng, Ng, n_angles)`` on the present levels; empty angles dropped."""
    c = glcm_counts(prep.lv, prep.angles, prep.n_levels, 1, bool(prep.setting["symmetricalGLCM"]), 0,
                    prep.lv.shape[0], False)[0].astype(np.float64)  # (A, Ng, Ng)
    p = np.moveaxis(c, 0, -1)
    if prep.setting["weightingNorm"] is not None:
        p = np.sum(p * _angle_weights(prep)[None, None, :], axis=2, keepdims=True)
    keep = prep.levels - 1
    p = p[np.ix_(keep, keep)]
    s = p.sum(axis=(0, 1))
    p = p[:, :, s > 0] / s[s > 0]
    return p


def _glrlm(prep: _Prepared) -> np.ndarray:
    """Run-length counts ``(Ng, Nr, n_angles)``: present levels, run lengths 1..longest run (column ``j - 1``)."""
    max_run = max(prep.lv.shape)
    c = glrlm_counts(prep.lv, prep.angles, prep.n_levels, max_run, 0, prep.lv.shape[0], False)[0].astype(np.float64)
    p = np.moveaxis(c, 0, -1)[prep.levels - 1]
    if prep.setting["weightingNorm"] is not None:
        p = np.sum(p * _angle_weights(prep)[None, None, :], axis=2, keepdims=True)
    used = np.nonzero(p.sum(axis=(0, 2)))[0]
    return p[:, : used.max() + 1, :]


def _glszm(prep: _Prepared) -> tuple[np.ndarray, np.ndarray]:
    """(zone counts ``(Ng, Ns)`` over the zone sizes that occur, those sizes)."""
    lev, size = zones(prep.lv, prep.nbrs)
    sizes, col = np.unique(size, return_inverse=True)
    row = np.searchsorted(prep.levels, lev)
    p = np.zeros((len(prep.levels), len(sizes)))
    np.add.at(p, (row, col), 1)
    return p, sizes.astype(np.float64)


def _neighbours(prep: _Prepared, alpha: float = 0):
    return neighbour_stats(prep.lv, prep.nbrs, alpha)


def _gldm(prep: _Prepared) -> np.ndarray:
    """Dependence counts ``(Ng, Nd)``: column ``j - 1`` counts voxels with ``j - 1`` dependent neighbours."""
    lev, _, _, dep = _neighbours(prep, float(prep.setting["gldm_a"]))
    p = np.zeros((len(prep.levels), int(dep.max()) + 1))
    np.add.at(p, (np.searchsorted(prep.levels, lev), dep), 1)
    return p


def _ngtdm(prep: _Prepared) -> np.ndarray:
    """``(Ng, 3)`` with columns ``[n_i, s_i, i]``; voxels without ROI neighbours do not count."""
    lev, count, total, _ = _neighbours(prep)
    ok = count > 0
    lev, avg = lev[ok], total[ok] / count[ok]
    row = np.searchsorted(prep.levels, lev)
    n = np.bincount(row, minlength=len(prep.levels)).astype(np.float64)
    s = np.bincount(row, weights=np.abs(lev - avg), minlength=len(prep.levels))
    out = np.stack([n, s, prep.levels.astype(np.float64)], axis=1)
    return out[n > 0]


def matrix(cls: str, image, mask, spacing, setting) -> np.ndarray:
    """PyRadiomics' matrix of ``cls`` (see :func:`radiomix.compat.pyradiomics.features.texture_matrix`)."""
    prep = _Prepared(image, mask, spacing, setting)
    if cls == "glszm":
        return _glszm(prep)[0]
    m = {"glcm": _glcm, "glrlm": _glrlm, "gldm": _gldm, "ngtdm": _ngtdm}[cls](prep)
    if cls in ("glrlm", "gldm"):  # PyRadiomics keeps only the run lengths / dependence sizes that occur
        used = m.sum(axis=tuple(a for a in range(m.ndim) if a != 1)) > 0
        m = m[:, used]
    return m


# ---------------------------------------------------------------------------------------------------------- features
def _entropy(p, axis):
    return -np.sum(p * np.log2(p + EPS), axis=axis)


def glcm_features(p: np.ndarray, levels: np.ndarray, n_levels: int) -> dict[str, float]:
    r"""GLCM features of ``p`` ``(Ng, Ng, A)`` (each angle sums to 1), averaged over angles.

    :math:`p_x, p_y` marginals, :math:`\mu_x=\sum i p_x`, :math:`p_{x+y}(k)`, :math:`p_{x-y}(k)` (:math:`k=|i-j|`),
    :math:`HX, HY` marginal entropies, :math:`HXY` joint entropy, :math:`HXY1=-\sum p\log_2(p_xp_y+\epsilon)`,
    :math:`HXY2=-\sum p_xp_y\log_2(p_xp_y+\epsilon)`. Correlation is 1 and Imc1 0 for a flat ROI; Imc2
    :math:`\sqrt{1-e^{-2(HXY2-HXY)}}`; MCC the square root of the second largest eigenvalue of
    :math:`Q_{ij}=\sum_k p_{ik}p_{jk}/(p_x(i)p_y(k))` (1 for one grey level). Idmn and Idn normalise by
    :math:`N_g` (the highest grey level).
    """
    i = levels.astype(np.float64)[:, None, None]
    j = levels.astype(np.float64)[None, :, None]
    ng = float(n_levels)
    px = p.sum(axis=1, keepdims=True)  # (Ng, 1, A)
    py = p.sum(axis=0, keepdims=True)  # (1, Ng, A)
    ux = np.sum(i * px, axis=(0, 1))
    uy = np.sum(j * py, axis=(0, 1))
    sx2 = np.sum((i - ux) ** 2 * px, axis=(0, 1))
    sy2 = np.sum((j - uy) ** 2 * py, axis=(0, 1))
    lv = levels.astype(np.int64)
    ksum = (lv[:, None] + lv[None, :]).ravel()
    kdiff = np.abs(lv[:, None] - lv[None, :]).ravel()
    a = p.shape[2]
    flat = p.reshape(-1, a)
    ks, ks_inv = np.unique(ksum, return_inverse=True)
    kd, kd_inv = np.unique(kdiff, return_inverse=True)
    pxy = np.zeros((len(ks), a))
    np.add.at(pxy, ks_inv, flat)
    pmy = np.zeros((len(kd), a))
    np.add.at(pmy, kd_inv, flat)
    ksf = ks.astype(np.float64)[:, None]
    kdf = kd.astype(np.float64)[:, None]
    diff_avg = np.sum(kdf * pmy, axis=0)
    hx = _entropy(px, (0, 1))
    hy = _entropy(py, (0, 1))
    hxy = _entropy(p, (0, 1))
    pxpy = px * py
    hxy1 = -np.sum(p * np.log2(pxpy + EPS), axis=(0, 1))
    hxy2 = -np.sum(pxpy * np.log2(pxpy + EPS), axis=(0, 1))
    sig = np.sqrt(sx2 * sy2)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.where(sig == 0, 1.0, (np.sum(i * j * p, axis=(0, 1)) - ux * uy) / np.where(sig == 0, 1, sig))
        hmax = np.maximum(hx, hy)
        imc1 = np.where(hmax == 0, 0.0, (hxy - hxy1) / np.where(hmax == 0, 1, hmax))
    imc2 = np.sqrt(np.clip(1 - np.exp(-2 * (hxy2 - hxy)), 0, None))
    imc2 = np.where(hxy2 == hxy, 0.0, imc2)
    inv_var = np.sum(np.where(kdf > 0, pmy / np.maximum(kdf, 1) ** 2, 0), axis=0)
    sum_avg = np.sum(ksf * pxy, axis=0)
    f = {
        "Autocorrelation": np.sum(i * j * p, axis=(0, 1)),
        "JointAverage": ux,
        "ClusterProminence": np.sum((i + j - ux - uy) ** 4 * p, axis=(0, 1)),
        "ClusterShade": np.sum((i + j - ux - uy) ** 3 * p, axis=(0, 1)),
        "ClusterTendency": np.sum((i + j - ux - uy) ** 2 * p, axis=(0, 1)),
        "Contrast": np.sum((i - j) ** 2 * p, axis=(0, 1)),
        "Correlation": corr,
        "DifferenceAverage": diff_avg,
        "DifferenceEntropy": _entropy(pmy, 0),
        "DifferenceVariance": np.sum((kdf - diff_avg) ** 2 * pmy, axis=0),
        "JointEnergy": np.sum(p * p, axis=(0, 1)),
        "JointEntropy": hxy,
        "Imc1": imc1,
        "Imc2": imc2,
        "Idm": np.sum(p / (1 + (i - j) ** 2), axis=(0, 1)),
        "MCC": _mcc(p, px[:, 0, :], py[0, :, :]),
        "Idmn": np.sum(p / (1 + (i - j) ** 2 / ng ** 2), axis=(0, 1)),
        "Id": np.sum(p / (1 + np.abs(i - j)), axis=(0, 1)),
        "Idn": np.sum(p / (1 + np.abs(i - j) / ng), axis=(0, 1)),
        "InverseVariance": inv_var,
        "MaximumProbability": p.max(axis=(0, 1)),
        "SumAverage": sum_avg,
        "SumEntropy": _entropy(pxy, 0),
        "SumSquares": sx2,
    }
    return {k: float(np.nanmean(v)) for k, v in f.items()}


def _mcc(p: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Maximal correlation coefficient per angle (1 where only one grey level is present)."""
    out = np.ones(p.shape[2])
    if p.shape[0] < 2:
        return out
    for a in range(p.shape[2]):
        pa = p[:, :, a]
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(py[:, a] > 0, 1.0 / py[:, a], 0.0)
            q = (pa * w[None, :]) @ pa.T
            q = np.where(px[:, a][:, None] > 0, q / px[:, a][:, None], 0.0)
        ev = np.sort(np.linalg.eigvals(q).real)
        out[a] = np.sqrt(ev[-2]) if ev[-2] >= 0 else np.nan
    return out


def _size_features(p: np.ndarray, i: np.ndarray, j: np.ndarray, n_p, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Shared run/zone/dependence features of counts ``p`` ``(Ng, Nj, A)``; ``names`` in :data:`NAMES` order of the
    16 glrlm/glszm-style features (SE, LE, GLN, GLNN, SN, SNN, percentage, GLV, SV, entropy, LGLE, HGLE, SLGLE,
    SHGLE, LLGLE, LHGLE)."""
    i = i[:, None, None]
    j = j[None, :, None]
    nz = p.sum(axis=(0, 1))
    pg = p.sum(axis=1)
    ps = p.sum(axis=0)
    pn = p / nz
    mu_i = np.sum(pn * i, axis=(0, 1))
    mu_j = np.sum(pn * j, axis=(0, 1))
    vals = (
        np.sum(p / j ** 2, axis=(0, 1)) / nz,
        np.sum(p * j ** 2, axis=(0, 1)) / nz,
        np.sum(pg ** 2, axis=0) / nz,
        np.sum(pg ** 2, axis=0) / nz ** 2,
        np.sum(ps ** 2, axis=0) / nz,
        np.sum(ps ** 2, axis=0) / nz ** 2,
        nz / n_p,
        np.sum(pn * (i - mu_i) ** 2, axis=(0, 1)),
        np.sum(pn * (j - mu_j) ** 2, axis=(0, 1)),
        _entropy(pn, (0, 1)),
        np.sum(p / i ** 2, axis=(0, 1)) / nz,
        np.sum(p * i ** 2, axis=(0, 1)) / nz,
        np.sum(p / (i ** 2 * j ** 2), axis=(0, 1)) / nz,
        np.sum(p * i ** 2 / j ** 2, axis=(0, 1)) / nz,
        np.sum(p * j ** 2 / i ** 2, axis=(0, 1)) / nz,
        np.sum(p * i ** 2 * j ** 2, axis=(0, 1)) / nz,
    )
    return dict(zip(names, vals))


def glrlm_features(p: np.ndarray, levels: np.ndarray) -> dict[str, float]:
    r"""GLRLM features of run counts ``p`` ``(Ng, Nr, A)`` per angle, averaged over angles.

    :math:`N_r(\theta)=\sum P`, :math:`N_p(\theta)=\sum_j j\sum_i P` (voxels), RunPercentage :math:`N_r/N_p`;
    the emphases divide by :math:`N_r`; variances and entropy use :math:`p = P/N_r`.
    """
    j = np.arange(1, p.shape[1] + 1, dtype=np.float64)
    n_p = np.sum(p * j[None, :, None], axis=(0, 1))
    f = _size_features(p, levels.astype(np.float64), j, n_p, NAMES["glrlm"])
    return {k: float(np.nanmean(v)) for k, v in f.items()}


def glszm_features(p: np.ndarray, sizes: np.ndarray, levels: np.ndarray, n_voxels: int) -> dict[str, float]:
    r"""GLSZM features of zone counts ``p`` ``(Ng, Ns)`` over zone ``sizes``; ZonePercentage :math:`N_z/N_p`."""
    f = _size_features(p[:, :, None], levels.astype(np.float64), sizes, n_voxels, NAMES["glszm"])
    return {k: float(v[0]) for k, v in f.items()}


_GLDM_FROM_SIZE = {
    "SmallDependenceEmphasis": "ShortRunEmphasis", "LargeDependenceEmphasis": "LongRunEmphasis",
    "GrayLevelNonUniformity": "GrayLevelNonUniformity", "DependenceNonUniformity": "RunLengthNonUniformity",
    "DependenceNonUniformityNormalized": "RunLengthNonUniformityNormalized",
    "GrayLevelVariance": "GrayLevelVariance", "DependenceVariance": "RunVariance", "DependenceEntropy": "RunEntropy",
    "LowGrayLevelEmphasis": "LowGrayLevelRunEmphasis", "HighGrayLevelEmphasis": "HighGrayLevelRunEmphasis",
    "SmallDependenceLowGrayLevelEmphasis": "ShortRunLowGrayLevelEmphasis",
    "SmallDependenceHighGrayLevelEmphasis": "ShortRunHighGrayLevelEmphasis",
    "LargeDependenceLowGrayLevelEmphasis": "LongRunLowGrayLevelEmphasis",
    "LargeDependenceHighGrayLevelEmphasis": "LongRunHighGrayLevelEmphasis",
}


def gldm_features(p: np.ndarray, levels: np.ndarray) -> dict[str, float]:
    r"""GLDM features of dependence counts ``p`` ``(Ng, Nd)``, dependence sizes :math:`j = 1..N_d` (a voxel with
    :math:`k` dependent neighbours has size :math:`k+1`); :math:`N_z=\sum P` is the number of ROI voxels."""
    j = np.arange(1, p.shape[1] + 1, dtype=np.float64)
    f = _size_features(p[:, :, None], levels.astype(np.float64), j, p.sum(), NAMES["glrlm"])
    return {k: float(f[v][0]) for k, v in _GLDM_FROM_SIZE.items()}


def ngtdm_features(m: np.ndarray) -> dict[str, float]:
    r"""NGTDM features of ``m`` ``(Ng, 3)`` = ``[n_i, s_i, i]``.

    :math:`N_{v,p}=\sum n_i`, :math:`p_i=n_i/N_{v,p}`, :math:`N_{g,p}` levels with :math:`p_i>0`. Coarseness
    :math:`1/\sum p_is_i` (:math:`10^6` if that sum is 0); Contrast
    :math:`\frac{1}{N_{g,p}(N_{g,p}-1)}\sum_{i,j}p_ip_j(i-j)^2\cdot\frac{1}{N_{v,p}}\sum s_i` (0 for one level);
    Busyness :math:`\sum p_is_i/\sum_{i,j}|ip_i-jp_j|` (0 if the denominator is 0); Complexity
    :math:`\frac{1}{N_{v,p}}\sum_{i,j}|i-j|\frac{p_is_i+p_js_j}{p_i+p_j}`; Strength
    :math:`\sum_{i,j}(p_i+p_j)(i-j)^2/\sum s_i` (0 if :math:`\sum s_i=0`).
    """
    n, s, lv = m[:, 0], m[:, 1], m[:, 2]
    nvp = n.sum()
    p = n / nvp
    ngp = len(p)
    ps = p * s
    sum_ps = ps.sum()
    d2 = (lv[:, None] - lv[None, :]) ** 2
    coarseness = 1e6 if sum_ps == 0 else 1.0 / sum_ps
    contrast = 0.0 if ngp == 1 else (np.sum(p[:, None] * p[None, :] * d2) / (ngp * (ngp - 1))) * (s.sum() / nvp)
    busy_den = np.sum(np.abs((lv * p)[:, None] - (lv * p)[None, :]))
    busyness = 0.0 if busy_den == 0 else sum_ps / busy_den
    complexity = np.sum(np.abs(lv[:, None] - lv[None, :]) * (ps[:, None] + ps[None, :]) / (p[:, None] + p[None, :]))
    complexity /= nvp
    strength = 0.0 if s.sum() == 0 else np.sum((p[:, None] + p[None, :]) * d2) / s.sum()
    return {"Coarseness": float(coarseness), "Contrast": float(contrast), "Busyness": float(busyness),
            "Complexity": float(complexity), "Strength": float(strength)}


def compute(cls: str, image, mask, spacing, setting) -> dict[str, float]:
    """All features of texture class ``cls``."""
    prep = _Prepared(image, mask, spacing, setting)
    if cls == "glcm":
        return glcm_features(_glcm(prep), prep.levels, prep.n_levels)
    if cls == "glrlm":
        return glrlm_features(_glrlm(prep), prep.levels)
    if cls == "glszm":
        p, sizes = _glszm(prep)
        return glszm_features(p, sizes, prep.levels, prep.n_voxels)
    if cls == "gldm":
        return gldm_features(_gldm(prep), prep.levels)
    return ngtdm_features(_ngtdm(prep))
