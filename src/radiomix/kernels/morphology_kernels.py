"""Hot loops of the morphology and local intensity families (IBSI 3.1, 3.2).

Two pairwise-sum implementations for Moran's I / Geary's C, which must agree within floating-point tolerance:

* :func:`pair_sums_direct` (numba, parallel): the O(N^2) sum over ROI voxel pairs, the definition itself.
* :func:`pair_sums_fft` (NumPy/SciPy FFT): the same sums written as a convolution with the inverse-distance kernel on
  the voxel grid (weights depend only on the offset between two voxels), O(M log M) in the bounding-box size M.

and two versions of the local mean used by the intensity peaks:

* :func:`sphere_means_at` (numba): mean of the voxels in a sphere around each of a list of voxels.
* :func:`sphere_means_reference` (SciPy ``ndimage.correlate``): the same mean everywhere, as the test reference.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.fft
from scipy import ndimage

# --- Moran's I / Geary's C ---------------------------------------------------------------------------------------------


@numba.njit(cache=True, parallel=True, fastmath=True)
def _pair_sums_direct(coords, d, nthreads):  # pragma: no cover - compiled
    n = coords.shape[0]
    acc = np.zeros((nthreads, 3))
    # interleaved rows balance the triangular loop j > i across threads
    for t in numba.prange(nthreads):
        s_w = 0.0
        s_dd = 0.0
        s_diff = 0.0
        for i in range(t, n, nthreads):
            zi = coords[i, 0]
            yi = coords[i, 1]
            xi = coords[i, 2]
            di = d[i]
            for j in range(i + 1, n):
                dz = coords[j, 0] - zi
                dy = coords[j, 1] - yi
                dx = coords[j, 2] - xi
                w = 1.0 / np.sqrt(dz * dz + dy * dy + dx * dx)
                dj = d[j]
                s_w += w
                s_dd += w * di * dj
                s_diff += w * (di - dj) * (di - dj)
        acc[t, 0] = s_w
        acc[t, 1] = s_dd
        acc[t, 2] = s_diff
    out = np.zeros(3)
    for t in range(nthreads):
        for k in range(3):
            out[k] += acc[t, k]
    return out


def pair_sums_direct(coords_mm: np.ndarray, d: np.ndarray) -> tuple[float, float, float]:
    """Sums over ordered voxel pairs k != k' of ``w``, ``w d_k d_k'`` and ``w (d_k - d_k')^2`` with
    ``w = 1 / ||r_k - r_k'||`` (positions ``coords_mm`` (N, 3) in mm, values ``d`` (N,)). O(N^2), numba parallel."""
    coords = np.ascontiguousarray(coords_mm, dtype=np.float64)
    dd = np.ascontiguousarray(d, dtype=np.float64)
    s = _pair_sums_direct(coords, dd, max(1, 4 * numba.get_num_threads()))
    # the kernel visits unordered pairs once; ordered sums are twice that
    return 2.0 * float(s[0]), 2.0 * float(s[1]), 2.0 * float(s[2])


def _inverse_distance_kernel(shape2, spacing) -> np.ndarray:
    """1/||offset|| (mm) on a circular grid of ``shape2`` = 2 * box shape; offset 0 has weight 0."""
    axes = []
    for n2, s in zip(shape2, spacing):
        o = np.arange(n2, dtype=np.float64)
        o = np.where(o < n2 // 2, o, o - n2) * s  # circular offsets -n..n-1
        axes.append(o)
    r2 = axes[0][:, None, None] ** 2 + axes[1][None, :, None] ** 2 + axes[2][None, None, :] ** 2
    with np.errstate(divide="ignore"):
        w = 1.0 / np.sqrt(r2)
    w[0, 0, 0] = 0.0
    return w


def pair_sums_fft(mask: np.ndarray, d: np.ndarray, spacing) -> tuple[float, float, float]:
    """The sums of :func:`pair_sums_direct` for the voxels of a 3D boolean ``mask`` (``d`` holds their values in mask
    order, i.e. ``d = values[mask]``), as circular convolutions on a grid twice the mask's bounding box (no wrap-around).

    With ``W`` the inverse-distance kernel and ``m`` the mask indicator: ``sum w = <m, W*m>``,
    ``sum w d d' = <d, W*d>``, ``sum w (d - d')^2 = 2 <d^2, W*m> - 2 <d, W*d>``.
    """
    idx = np.argwhere(mask)
    lo, hi = idx.min(0), idx.max(0) + 1
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
    m = mask[box].astype(np.float64)
    dv = np.zeros(m.shape)
    dv[mask[box]] = d
    shape2 = tuple(2 * n for n in m.shape)
    fshape = tuple(scipy.fft.next_fast_len(n, real=True) for n in shape2)
    # the kernel must be laid out on the padded grid itself: offsets wrap at fshape, never reaching across the box
    w_hat = scipy.fft.rfftn(_inverse_distance_kernel(fshape, spacing), workers=-1)
    wm = scipy.fft.irfftn(scipy.fft.rfftn(m, fshape, workers=-1) * w_hat, fshape, workers=-1)
    wd = scipy.fft.irfftn(scipy.fft.rfftn(dv, fshape, workers=-1) * w_hat, fshape, workers=-1)
    sl = tuple(slice(0, n) for n in m.shape)
    wm, wd = wm[sl], wd[sl]
    s_w = float(np.sum(m * wm))
    s_dd = float(np.sum(dv * wd))
    s_diff = 2.0 * float(np.sum(dv * dv * wm)) - 2.0 * s_dd
    return s_w, s_dd, s_diff


def pair_sums(mask: np.ndarray, values: np.ndarray, spacing, *, direct_max_voxels: int = 4000,
              fft_max_elements: int = 128_000_000):
    """Choose the cheaper exact method: direct pairs for small ROIs, FFT convolution otherwise. The FFT grid is 8x the
    bounding box (about 40 bytes per element at peak); beyond ``fft_max_elements`` the direct sum is used instead.

    Timings on the IBSI CT phantom (2 CPU cores): 46k voxels FFT 0.16 s, direct 1.5 s; 115k voxels FFT 0.14 s,
    direct ~7 s. Both agree to ~1e-10 relative."""
    n = int(np.count_nonzero(mask))
    idx = np.argwhere(mask)
    box = idx.max(0) - idx.min(0) + 1
    if n <= direct_max_voxels or 8 * int(np.prod(box)) > fft_max_elements:
        coords = idx * np.asarray(spacing, dtype=np.float64)
        return pair_sums_direct(coords, values)
    return pair_sums_fft(mask, values, spacing)


# --- local intensity ---------------------------------------------------------------------------------------------------


def sphere_offsets(spacing, radius_mm: float) -> np.ndarray:
    """Integer (z, y, x) offsets of the voxels whose centres lie within ``radius_mm`` of a voxel centre (K, 3)."""
    n = [int(np.floor(radius_mm / s + 1e-9)) for s in spacing]
    grids = np.meshgrid(*[np.arange(-k, k + 1) for k in n], indexing="ij")
    off = np.stack([g.ravel() for g in grids], axis=1)
    r = np.sqrt(np.sum((off * np.asarray(spacing, dtype=np.float64)) ** 2, axis=1))
    return np.ascontiguousarray(off[r <= radius_mm * (1 + 1e-9)], dtype=np.int64)


@numba.njit(cache=True, parallel=True)
def _sphere_means_at(image, points, offsets):  # pragma: no cover - compiled
    nz, ny, nx = image.shape
    out = np.empty(points.shape[0])
    for p in numba.prange(points.shape[0]):
        z0 = points[p, 0]
        y0 = points[p, 1]
        x0 = points[p, 2]
        s = 0.0
        c = 0
        for k in range(offsets.shape[0]):
            z = z0 + offsets[k, 0]
            y = y0 + offsets[k, 1]
            x = x0 + offsets[k, 2]
            if 0 <= z < nz and 0 <= y < ny and 0 <= x < nx:
                s += image[z, y, x]
                c += 1
        out[p] = s / c
    return out


def sphere_means_at(image: np.ndarray, points: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Mean of the image voxels at ``points + offsets`` that lie inside the image, for each of ``points`` (M, 3)."""
    return _sphere_means_at(np.ascontiguousarray(image, dtype=np.float64),
                            np.ascontiguousarray(points, dtype=np.int64), np.ascontiguousarray(offsets, dtype=np.int64))


def sphere_means_reference(image: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Reference for :func:`sphere_means_at`: the local mean at every voxel, by ``ndimage.correlate``."""
    half = np.abs(offsets).max(0)
    fp = np.zeros(tuple(2 * h + 1 for h in half))
    fp[tuple((offsets + half).T)] = 1.0
    img = image.astype(np.float64)
    s = ndimage.correlate(img, fp, mode="constant", cval=0.0)
    c = ndimage.correlate(np.ones_like(img), fp, mode="constant", cval=0.0)
    return s / c
