"""Mean filter (IBSI 2, "mean filter"): the average over a cubic (3D) or square (2D, slice-wise) support of
``support`` voxels per side. ``support`` must be odd so that the filter is centred."""

from __future__ import annotations

import numpy as np

from radiomix.filters._core import convolve_separable, spatial_axes


def mean_kernel(support: int) -> np.ndarray:
    if support < 1 or support % 2 == 0:
        raise ValueError(f"the mean filter support must be a positive odd number of voxels, got {support}")
    return np.full(support, 1.0 / support)


def mean_filter(array: np.ndarray, support: int, boundary: str, dimensions: str = "3d") -> np.ndarray:
    k = mean_kernel(support)
    return convolve_separable(np.asarray(array, dtype=float), {ax: k for ax in spatial_axes(dimensions)}, boundary)


def mean_margin(support: int) -> int:
    return support // 2
