r"""Gabor filter (IBSI 2): a 2D complex kernel, applied in-plane, with the modulus of the complex response.

.. math:: h(x, y) = \exp\left(-\frac{\tilde x^2 + \gamma^2 \tilde y^2}{2\sigma^2}\right)
          \exp\left(i \frac{2\pi \tilde x}{\lambda}\right),\quad
          \tilde x = x\cos\theta + y\sin\theta,\ \tilde y = -x\sin\theta + y\cos\theta

* ``x`` runs along the array's column axis (x, axis 2) and ``y`` along its row axis (y, axis 1, increasing with the
  row index), in mm (voxel offsets times spacing); :math:`\sigma`, :math:`\lambda` are in mm, :math:`\theta` in
  radians. The kernel is not normalised (its centre value is 1), as in the IBSI 2 reference maps.
* The kernel is truncated at ``truncate`` times the larger of the two envelope widths
  (:math:`\sigma` and :math:`\sigma/\gamma`).
* ``dimensions='2d'``: slice-wise in the axial (y, x) plane. ``dimensions='3d'``: the response is averaged over the
  three orthogonal planes (y, x), (z, x) and (z, y), each filtered with the same 2D kernel.
* Rotation invariance: the modulus responses for ``theta = 0, step, 2 step, ...`` below pi (the modulus is the same
  for theta and theta + pi) are pooled (mean by default).
"""

from __future__ import annotations

import numpy as np

from radiomix.filters._core import pad, pool

#: planes of the 3D variant as (array axis of kernel x, array axis of kernel y)
PLANES_3D = ((2, 1), (2, 0), (1, 0))


def gabor_kernel(sigma_mm: float, lambda_mm: float, gamma: float, theta: float, spacing_xy: tuple[float, float],
                 truncate: float = 4.0) -> np.ndarray:
    """Complex 2D kernel indexed [y, x] (odd sizes, centred). ``spacing_xy`` is (sx, sy) in mm."""
    sx, sy = spacing_xy
    width = truncate * max(sigma_mm, sigma_mm / gamma)
    rx, ry = int(np.ceil(width / sx)), int(np.ceil(width / sy))
    x = np.arange(-rx, rx + 1)[np.newaxis, :] * sx
    y = np.arange(-ry, ry + 1)[:, np.newaxis] * sy
    xt = x * np.cos(theta) + y * np.sin(theta)
    yt = -x * np.sin(theta) + y * np.cos(theta)
    return np.exp(-(xt**2 + gamma**2 * yt**2) / (2 * sigma_mm**2)) * np.exp(2j * np.pi * xt / lambda_mm)


def orientations(theta: float, theta_step: float | None) -> list[float]:
    """``[theta]``, or ``theta, theta + step, ...`` up to (not including) theta + pi when ``theta_step`` is given."""
    if theta_step is None:
        return [float(theta)]
    if theta_step <= 0:
        raise ValueError(f"theta_step must be positive, got {theta_step}")
    n = int(np.round(np.pi / theta_step))
    if not np.isclose(n * theta_step, np.pi, rtol=1e-6):
        n = int(np.ceil(np.pi / theta_step - 1e-9))
    return [float(theta + k * theta_step) for k in range(n)]


def _wrap_centred(kernel: np.ndarray, shape) -> np.ndarray:
    """Place a centred odd-sized kernel on a periodic grid of ``shape`` with its centre at index 0."""
    out = np.zeros(shape, dtype=kernel.dtype)
    ry, rx = kernel.shape[0] // 2, kernel.shape[1] // 2
    yi = np.arange(-ry, ry + 1) % shape[0]
    xi = np.arange(-rx, rx + 1) % shape[1]
    out[np.ix_(yi, xi)] = kernel
    return out


def _plane_responses(array, spacing, plane, thetas, sigma_mm, lambda_mm, gamma, boundary, truncate):
    ax_x, ax_y = plane
    kernels = [gabor_kernel(sigma_mm, lambda_mm, gamma, t, (spacing[ax_x], spacing[ax_y]), truncate) for t in thetas]
    ky, kx = kernels[0].shape
    widths = [(0, 0)] * 3
    widths[ax_y] = (ky // 2, ky // 2)
    widths[ax_x] = (kx // 2, kx // 2)
    xp = pad(array, widths, boundary)
    axes = (ax_y, ax_x)
    # circular convolution on the padded grid: the central crop equals the linear convolution (pad >= radius)
    P = (xp.shape[ax_y], xp.shape[ax_x])
    import scipy.fft  # here: a filter bank without Gabor never imports SciPy

    X = scipy.fft.fft2(xp, axes=axes, workers=-1)
    sl = [slice(None)] * 3
    sl[ax_y] = slice(ky // 2, ky // 2 + array.shape[ax_y])
    sl[ax_x] = slice(kx // 2, kx // 2 + array.shape[ax_x])
    kshape = [1, 1, 1]
    kshape[ax_y], kshape[ax_x] = P
    for k in kernels:
        K = scipy.fft.fft2(_wrap_centred(k, P), workers=-1)
        K = (K if ax_y < ax_x else K.T).reshape(kshape)
        yield np.abs(scipy.fft.ifft2(X * K, axes=axes, workers=-1)[tuple(sl)])


def gabor_filter(array: np.ndarray, spacing, sigma_mm: float, lambda_mm: float, gamma: float, theta: float,
                 boundary: str, dimensions: str = "3d", theta_step: float | None = None, pooling: str = "mean",
                 truncate: float = 4.0) -> np.ndarray:
    if sigma_mm <= 0 or lambda_mm <= 0 or gamma <= 0:
        raise ValueError("Gabor sigma, lambda and gamma must be positive")
    array = np.asarray(array, dtype=float)
    thetas = orientations(theta, theta_step)
    planes = ((2, 1),) if dimensions == "2d" else PLANES_3D
    per_plane = [pool(_plane_responses(array, spacing, p, thetas, sigma_mm, lambda_mm, gamma, boundary, truncate),
                      pooling) for p in planes]
    return per_plane[0] if len(per_plane) == 1 else sum(per_plane) / len(per_plane)


def gabor_margin(spacing, sigma_mm: float, gamma: float, dimensions: str = "3d", truncate: float = 4.0):
    width = truncate * max(sigma_mm, sigma_mm / gamma)
    m = tuple(int(np.ceil(width / s)) for s in spacing)
    return (0, m[1], m[2]) if dimensions == "2d" else m
