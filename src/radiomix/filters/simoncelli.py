r"""Simoncelli non-separable, isotropic wavelet (IBSI 2), defined by its transfer function:

.. math:: \hat\psi_j(\boldsymbol\omega) = \cos\left(\frac{\pi}{2}\log_2\frac{2^{j}\lVert\boldsymbol\omega\rVert}{\pi}
          \right) \ \text{for}\ \frac{\pi}{2^{j+1}} < \lVert\boldsymbol\omega\rVert \le \frac{\pi}{2^{j-1}},
          \ 0 \ \text{otherwise}

(:math:`\boldsymbol\omega` in rad/voxel, sampled on the IBSI grid of
:func:`radiomix.filters._core.frequency_grid`; level ``j = 1`` is the band around half the Nyquist frequency, each
further level halves the band's frequencies). The response is the real inverse Fourier transform of the product with the
image spectrum. Periodic boundaries filter the image's own DFT; other boundaries pad the image first
(``margin`` voxels per side, see :func:`simoncelli_margin`).
"""

from __future__ import annotations

import numpy as np

from radiomix.filters._core import frequency_filter, spatial_axes


def simoncelli_transfer(level: int):
    def transfer(omegas):
        nu = np.sqrt(sum(w**2 for w in omegas)) * 2.0 ** (level - 1)
        out = np.zeros(nu.shape)
        band = (nu > np.pi / 4) & (nu <= np.pi)
        out[band] = np.cos(np.pi / 2 * np.log2(2 * nu[band] / np.pi))
        return out
    return transfer


def simoncelli_margin(level: int) -> int:
    """Padding (and crop margin) for non-periodic boundaries, ``8 * 2**level`` voxels: the wavelet is band-limited, so
    its spatial kernel is infinite, but it decays within a few times ``2**level`` voxels."""
    return 8 * 2 ** level


def simoncelli_filter(array: np.ndarray, level: int, boundary: str, dimensions: str = "3d",
                      grid: str = "ibsi") -> np.ndarray:
    if level < 1:
        raise ValueError(f"Simoncelli level must be >= 1, got {level}")
    array = np.asarray(array, dtype=float)
    return frequency_filter(array, simoncelli_transfer(level), spatial_axes(dimensions), boundary,
                            simoncelli_margin(level), grid).real
