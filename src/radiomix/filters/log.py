r"""Laplacian of Gaussian (IBSI 2).

The kernel is the continuous LoG sampled at voxel centres, truncated at ``truncate`` standard deviations:

.. math:: h(\mathbf{x}) = -\frac{1}{\sigma^2}\left(\frac{1}{2\pi\sigma^2}\right)^{d/2}
          \left(d - \frac{\lVert\mathbf{x}\rVert^2}{\sigma^2}\right) \exp\left(-\frac{\lVert\mathbf{x}\rVert^2}{2\sigma^2}\right)

with :math:`\sigma` given in mm and converted to voxels per axis (:math:`\sigma_i = \sigma / s_i`; IBSI expresses the
kernel in voxel coordinates, so for isotropic spacing :math:`s` the response equals :math:`s^2` times the physical
Laplacian of the Gaussian-smoothed image). It is computed separably as
:math:`\sum_i g''_i \otimes \prod_{j \ne i} g_j` with un-normalised sampled 1D Gaussians, which equals the formula above
(in 3D with 7 one-dimensional passes, sharing the partial products).
The kernel radius per axis is ``int(truncate * sigma_i + 0.5)`` voxels.
"""

from __future__ import annotations

import numpy as np

from radiomix.filters._core import convolve1d, spatial_axes


def _radius(sigma_vox: float, truncate: float) -> int:
    return int(truncate * sigma_vox + 0.5)


def gaussian_1d(sigma_vox: float, truncate: float) -> tuple[np.ndarray, np.ndarray]:
    """Sampled 1D Gaussian g and its second derivative g'' (voxel units), radius ``int(truncate*sigma+0.5)``."""
    r = _radius(sigma_vox, truncate)
    x = np.arange(-r, r + 1, dtype=float)
    g = np.exp(-(x**2) / (2 * sigma_vox**2)) / np.sqrt(2 * np.pi * sigma_vox**2)
    g2 = g * (x**2 - sigma_vox**2) / sigma_vox**4
    return g, g2


def log_filter(array: np.ndarray, spacing, sigma_mm: float, boundary: str, dimensions: str = "3d",
               truncate: float = 4.0) -> np.ndarray:
    """Laplacian-of-Gaussian response of ``array`` (z, y, x; ``spacing`` in mm) at ``sigma_mm`` with an IBSI boundary
    condition, 3D or slice-wise 2D (see the module docstring)."""
    if sigma_mm <= 0:
        raise ValueError(f"LoG sigma must be positive, got {sigma_mm} mm")
    array = np.asarray(array, dtype=float)
    axes = spatial_axes(dimensions)
    g, g2 = {}, {}
    for ax in axes:
        g[ax], g2[ax] = gaussian_1d(sigma_mm / spacing[ax], truncate)
    if len(axes) == 2:  # g2 g + g g2, sharing the pass along the first axis
        a0, a1 = axes
        return (convolve1d(convolve1d(array, g[a0], a0, boundary), g2[a1], a1, boundary)
                + convolve1d(convolve1d(array, g2[a0], a0, boundary), g[a1], a1, boundary))
    # g2 g g + g g2 g + g g g2 with 7 one-dimensional passes instead of 9: the axis with the shortest kernel goes in
    # the middle (three passes), the others first and last (two passes each)
    mid = min(axes, key=lambda a: g[a].size)
    first, last = [a for a in axes if a != mid]
    f = convolve1d(array, g[first], first, boundary)
    f2 = convolve1d(array, g2[first], first, boundary)
    m = convolve1d(f, g[mid], mid, boundary)
    m2 = convolve1d(f, g2[mid], mid, boundary)
    m2 += convolve1d(f2, g[mid], mid, boundary)
    del f, f2
    out = convolve1d(m, g2[last], last, boundary)
    out += convolve1d(m2, g[last], last, boundary)
    return out


def log_margin(spacing, sigma_mm: float, truncate: float = 4.0) -> tuple[int, int, int]:
    return tuple(_radius(sigma_mm / s, truncate) for s in spacing)  # type: ignore[return-value]
