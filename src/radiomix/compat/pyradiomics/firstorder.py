"""PyRadiomics first-order features (``firstorder`` class).

:math:`X` are the intensities of the :math:`N_p` ROI voxels, :math:`c` is ``voxelArrayShift`` (added for the energy
features only), :math:`V_{voxel}` the voxel volume, :math:`p(i)` the normalised histogram of the discretised
intensities (PyRadiomics' binning, see :mod:`.features`) and :math:`\\epsilon` the machine epsilon. Where PyRadiomics
differs from IBSI: Kurtosis is :math:`\\mu_4/\\sigma^4` (IBSI's excess kurtosis plus 3), Energy and RootMeanSquared
include the shift :math:`c`, Entropy and Uniformity use PyRadiomics' bin edges, Variance and the moments divide by
:math:`N_p`.
"""

from __future__ import annotations

import numpy as np

from radiomix.compat.pyradiomics.features import bin_edges

EPS = np.spacing(1)

NAMES: tuple[str, ...] = (
    "Energy", "TotalEnergy", "Entropy", "Minimum", "10Percentile", "90Percentile", "Maximum", "Mean", "Median",
    "InterquartileRange", "Range", "MeanAbsoluteDeviation", "RobustMeanAbsoluteDeviation", "RootMeanSquared",
    "Skewness", "Kurtosis", "Variance", "Uniformity",
)


def feature_names(cls: str = "firstorder") -> tuple[str, ...]:
    """PyRadiomics first-order feature names."""
    return NAMES


def compute(cls, image: np.ndarray, mask: np.ndarray, spacing, setting) -> dict[str, float]:
    r"""All first-order features.

    Energy :math:`\sum (X + c)^2`; TotalEnergy :math:`V_{voxel}\sum (X + c)^2`; Entropy
    :math:`-\sum_i p(i)\log_2(p(i)+\epsilon)`; Uniformity :math:`\sum_i p(i)^2`; percentiles and median by linear
    interpolation (``numpy.percentile``); MeanAbsoluteDeviation :math:`\frac1{N_p}\sum|X-\bar X|`;
    RobustMeanAbsoluteDeviation the same over the voxels between the 10th and 90th percentile (inclusive);
    RootMeanSquared :math:`\sqrt{\frac1{N_p}\sum (X+c)^2}`; Variance :math:`\frac1{N_p}\sum(X-\bar X)^2`; Skewness
    :math:`\mu_3/\mu_2^{3/2}` and Kurtosis :math:`\mu_4/\mu_2^2` (both 0 for a flat ROI).
    """
    x = image[mask].astype(np.float64)
    n = x.size
    shift = float(setting.get("voxelArrayShift") or 0)
    xs = x + shift
    energy = float(np.sum(xs * xs))
    voxel_volume = float(np.prod(spacing))
    edges = bin_edges(x, setting)
    levels = np.digitize(x, edges)
    counts = np.bincount(levels)
    p = counts[counts > 0] / n
    mean = float(np.mean(x))
    dev = x - mean
    m2 = float(np.mean(dev ** 2))
    m3 = float(np.mean(dev ** 3))
    m4 = float(np.mean(dev ** 4))
    p10, p25, p75, p90 = np.percentile(x, [10, 25, 75, 90])
    robust = x[(x >= p10) & (x <= p90)]
    return {
        "Energy": energy,
        "TotalEnergy": voxel_volume * energy,
        "Entropy": float(-np.sum(p * np.log2(p + EPS))),
        "Minimum": float(x.min()),
        "10Percentile": float(p10),
        "90Percentile": float(p90),
        "Maximum": float(x.max()),
        "Mean": mean,
        "Median": float(np.median(x)),
        "InterquartileRange": float(p75 - p25),
        "Range": float(x.max() - x.min()),
        "MeanAbsoluteDeviation": float(np.mean(np.abs(dev))),
        "RobustMeanAbsoluteDeviation": float(np.mean(np.abs(robust - robust.mean()))),
        "RootMeanSquared": float(np.sqrt(energy / n)),
        "Skewness": 0.0 if m2 == 0 else m3 / m2 ** 1.5,
        "Kurtosis": 0.0 if m2 == 0 else m4 / m2 ** 2,
        "Variance": m2,
        "Uniformity": float(np.sum(p * p)),
    }
