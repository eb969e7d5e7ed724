"""Separable undecimated (stationary, "a trous") wavelets (IBSI 2) from PyWavelets filter banks.

* Filters: the decomposition low-pass and high-pass filters of ``pywt.Wavelet(name)`` (haar, db*, sym*, coif*, ...),
  used as convolution kernels. At level ``j`` they are dilated by inserting ``2**(j-1) - 1`` zeros between taps; level
  ``j`` filters the low-pass-only (L...L) response of level ``j-1`` (level 1 filters the image).
* A sub-band name lists one letter per axis in IBSI order x, y(, z): ``LHL`` = low-pass along x, high-pass along y,
  low-pass along z. 2D names (``LH``) are slice-wise. Our arrays are (z, y, x), so letter 0 acts on axis 2.
* Kernel alignment (even-length filters have no centre voxel): see ``_centre``.
* Rotation invariance: the response is pooled (mean by default) over the image transformed by every right-angle
  rotation of the grid (24 in 3D, 4 in 2D; see ``ROTATIONS``), filtered, and transformed back; this equals filtering
  with every rotated kernel.
"""

from __future__ import annotations

import numpy as np
import pywt

from radiomix.filters._core import convolve1d, pool, shared_pass, signed_permutations, spatial_axes


def filter_bank(wavelet: str) -> tuple[np.ndarray, np.ndarray]:
    """(low-pass, high-pass) decomposition filters of a PyWavelets discrete wavelet."""
    try:
        w = pywt.Wavelet(wavelet)
    except ValueError:
        raise ValueError(f"unknown wavelet {wavelet!r}; use a PyWavelets discrete wavelet such as haar, db2, coif1, "
                         f"sym4") from None
    return np.asarray(w.dec_lo, float), np.asarray(w.dec_hi, float)


def dilate(kernel: np.ndarray, level: int) -> np.ndarray:
    step = 2 ** (level - 1)
    out = np.zeros((kernel.size - 1) * step + 1)
    out[::step] = kernel
    return out


def _centre(n: int, level: int) -> int:
    """Centre index of a filter of original length ``n`` dilated to ``level``: ``(n // 2) * 2**(level - 1)``, i.e. the
    level-1 centre tap (the later of the two middle taps for even lengths) dilated with the filter. Checked against the
    IBSI 2 maps 5.a.1 (db2) and 6.a.1 (coif1), which fail with ``(n - 1) // 2``, and 7.a.1/7.a.2 (haar, level 2),
    which fail with the middle of the dilated filter."""
    return (n // 2) * 2 ** (level - 1)


def parse_subband(subband: str, dimensions: str) -> str:
    sb = subband.upper()
    n = len(spatial_axes(dimensions))
    if len(sb) != n or set(sb) - {"L", "H"}:
        raise ValueError(f"wavelet sub-band {subband!r} must be {n} letters L/H for a {dimensions} filter")
    return sb


def _decompose(array, lo, hi, subband, level, axes, boundary):
    """The sub-band's response: the approximation of level ``level - 1``, then one pass per letter. Every pass but the
    last is an intermediate shared with the other sub-bands of the same image (``_core.shared_passes``)."""
    order = tuple(reversed(axes))   # array axis for letter 0 (x), 1 (y), 2 (z)
    base = (lo.tobytes(), hi.tobytes(), level, boundary, order)

    def approximation():
        approx = array
        for j in range(1, level):
            lo_j = dilate(lo, j)
            for ax in order:
                approx = convolve1d(approx, lo_j, ax, boundary, _centre(lo.size, j))
        return approx

    out = shared_pass(array, (*base, ""), approximation) if level > 1 else array
    for i, (letter, ax) in enumerate(zip(subband, order)):
        k = lo if letter == "L" else hi

        def one_pass(src=out, k=k, ax=ax):
            return convolve1d(src, dilate(k, level), ax, boundary, _centre(k.size, level))

        out = one_pass() if i == len(subband) - 1 else shared_pass(array, (*base, subband[:i + 1]), one_pass)
    return out


def _transform(a, perm, flips, axes):
    """Apply a signed permutation of ``axes`` to the array (flip after permuting)."""
    full = list(range(a.ndim))
    for dst, src in zip(axes, perm):
        full[dst] = axes[src]
    b = np.transpose(a, full)
    for ax, f in zip(axes, flips):
        if f:
            b = np.flip(b, ax)
    return b


def _inverse(b, perm, flips, axes):
    for ax, f in zip(axes, flips):
        if f:
            b = np.flip(b, ax)
    full = list(range(b.ndim))
    inv = np.argsort(perm)
    for dst, src in zip(axes, inv):
        full[dst] = axes[src]
    return np.transpose(b, full)


def wavelet_filter(array: np.ndarray, wavelet: str, subband: str, level: int, boundary: str,
                   dimensions: str = "3d", rotation_invariant: bool = False, pooling: str = "mean",
                   proper_rotations: bool = True) -> np.ndarray:
    if level < 1:
        raise ValueError(f"wavelet level must be >= 1, got {level}")
    array = np.asarray(array, dtype=float)
    axes = spatial_axes(dimensions)
    sb = parse_subband(subband, dimensions)
    lo, hi = filter_bank(wavelet)
    if not rotation_invariant:
        return _decompose(array, lo, hi, sb, level, axes, boundary)
    transforms = signed_permutations(len(axes), proper_only=proper_rotations)
    return pool((_inverse(_decompose(np.ascontiguousarray(_transform(array, p, f, axes)), lo, hi, sb, level, axes,
                                     boundary), p, f, axes) for p, f in transforms), pooling)


def wavelet_margin(wavelet: str, level: int) -> int:
    """Voxels on each side the decomposition reaches: per level the longer side of the (possibly flipped) filter."""
    lo, _ = filter_bank(wavelet)
    c = lo.size // 2
    return sum(max(c, lo.size - 1 - c) * 2 ** (j - 1) for j in range(1, level + 1))
