"""Grey-level co-occurrence counts (IBSI 3.6): a numba kernel and the plain NumPy reference it is tested against.

Both take ``lv`` (int32 (z, y, x), grey level 1..Ng inside the intensity mask, 0 outside; see
``texture_common.level_volume``) and integer direction vectors (dz, dy, dx). The neighbour of voxel ``v`` in
direction ``k`` at Chebyshev distance ``d`` is ``v + d * offsets[k]``; a pair counts only when both voxels are in the
mask. Entry ``[k, i - 1, j - 1]`` counts pairs with level ``i`` at ``v`` and ``j`` at the neighbour; the symmetric
matrix also counts the reverse pair (``M + M^T``).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def glcm_counts(lv, offsets, n_levels, distance, symmetric, z_start, z_stop, per_slice):  # pragma: no cover - jit
    """Co-occurrence counts for all directions in one pass over slices ``z_start..z_stop`` of ``lv``.

    Returns int64 counts of shape ``(z_stop - z_start, n_dir, Ng, Ng)`` when ``per_slice`` (a pair belongs to the
    slice of its first voxel) else ``(1, n_dir, Ng, Ng)``. Neighbours may lie outside the slice range (3D).
    """
    nz, ny, nx = lv.shape
    nd = offsets.shape[0]
    n_out = z_stop - z_start if per_slice else 1
    out = np.zeros((n_out, nd, n_levels, n_levels), dtype=np.int64)
    for z in range(z_start, z_stop):
        s = z - z_start if per_slice else 0
        for y in range(ny):
            for x in range(nx):
                a = lv[z, y, x]
                if a <= 0:
                    continue
                for k in range(nd):
                    zz = z + distance * offsets[k, 0]
                    yy = y + distance * offsets[k, 1]
                    xx = x + distance * offsets[k, 2]
                    if zz < 0 or zz >= nz or yy < 0 or yy >= ny or xx < 0 or xx >= nx:
                        continue
                    b = lv[zz, yy, xx]
                    if b <= 0:
                        continue
                    out[s, k, a - 1, b - 1] += 1
                    if symmetric:
                        out[s, k, b - 1, a - 1] += 1
    return out


def shifted(lv: np.ndarray, offset) -> np.ndarray:
    """``out[v] = lv[v + offset]`` where ``v + offset`` lies inside the array, else 0 (reference helper)."""
    out = np.zeros_like(lv)
    src, dst = [], []
    for o, n in zip(offset, lv.shape):
        o = int(o)
        if abs(o) >= n:
            return out
        src.append(slice(max(o, 0), n + min(o, 0)))
        dst.append(slice(max(-o, 0), n - max(o, 0)))
    out[tuple(dst)] = lv[tuple(src)]
    return out


def glcm_counts_reference(lv: np.ndarray, offsets, n_levels: int, distance: int = 1,
                          symmetric: bool = True) -> np.ndarray:
    """Plain NumPy co-occurrence counts over the whole volume, shape ``(n_dir, Ng, Ng)`` (slow; for tests)."""
    offsets = np.asarray(offsets)
    out = np.zeros((len(offsets), n_levels, n_levels), dtype=np.int64)
    for k, off in enumerate(offsets):
        nb = shifted(lv, distance * off)
        ok = (lv > 0) & (nb > 0)
        np.add.at(out[k], (lv[ok] - 1, nb[ok] - 1), 1)
        if symmetric:
            out[k] = out[k] + out[k].T
    return out
