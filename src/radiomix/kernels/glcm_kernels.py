"""Grey-level co-occurrence counts (IBSI 3.6): a numba kernel and the plain NumPy reference it is tested against.

Both take ``lv`` (int32 (z, y, x), grey level 1..Ng inside the intensity mask, 0 outside; see
``texture_common.level_volume``) and integer direction vectors (dz, dy, dx). The neighbour of voxel ``v`` in
direction ``k`` at Chebyshev distance ``d`` is ``v + d * offsets[k]``; a pair counts only when both voxels are in the
mask. Entry ``[k, i - 1, j - 1]`` counts pairs with level ``i`` at ``v`` and ``j`` at the neighbour; the symmetric
matrix also counts the reverse pair (``M + M^T``).
"""

from __future__ import annotations

import numpy as np

from radiomix.kernels._jit import njit


@njit(cache=True, nogil=True)
def _glcm_counts_flat(lp, shape, pad, flat_off, n_levels, z_start, z_stop, per_slice):  # pragma: no cover - jit
    """One-sided co-occurrence counts on ``lp``, the level volume of ``shape`` padded with ``pad`` zero voxels on
    every side and flattened; ``flat_off`` the (distance-scaled) directions as flat offsets in the padded array. A
    neighbour in the zero border is outside the ROI, so no bounds checks are needed."""
    _, ny, nx = shape
    nyp = ny + 2 * pad
    nxp = nx + 2 * pad
    plane = nyp * nxp
    nd = flat_off.shape[0]
    n_out = z_stop - z_start if per_slice else 1
    out = np.zeros((n_out, nd, n_levels, n_levels), dtype=np.int64)
    for z in range(z_start, z_stop):
        s = z - z_start if per_slice else 0
        for y in range(ny):
            base = (z + pad) * plane + (y + pad) * nxp + pad
            for x in range(nx):
                f = base + x
                a = lp[f]
                if a <= 0:
                    continue
                for k in range(nd):
                    b = lp[f + flat_off[k]]
                    if b > 0:
                        out[s, k, a - 1, b - 1] += 1
    return out


def glcm_counts(lv, offsets, n_levels, distance, symmetric, z_start, z_stop, per_slice) -> np.ndarray:
    """Co-occurrence counts for all directions in one pass over slices ``z_start..z_stop`` of ``lv``.

    Returns int64 counts of shape ``(z_stop - z_start, n_dir, Ng, Ng)`` when ``per_slice`` (a pair belongs to the
    slice of its first voxel) else ``(1, n_dir, Ng, Ng)``. Neighbours may lie outside the slice range (3D). The kernel
    (numba, ``nogil``) counts one-sided pairs on a zero-padded copy with flat offsets (no bounds checks); the
    symmetric matrix is ``M + M^T`` of those counts.
    """
    lv = np.asarray(lv)
    offsets = np.asarray(offsets, dtype=np.int64).reshape(-1, 3) * int(distance)
    pad = max(1, int(np.abs(offsets).max(initial=0)))
    lp = np.pad(np.asarray(lv, dtype=np.int32), pad)
    _, nyp, nxp = lp.shape
    flat = np.ascontiguousarray(offsets[:, 0] * (nyp * nxp) + offsets[:, 1] * nxp + offsets[:, 2])
    out = _glcm_counts_flat(lp.ravel(), tuple(int(n) for n in lv.shape), pad, flat, int(n_levels), int(z_start),
                            int(z_stop), bool(per_slice))
    if symmetric:
        out += out.swapaxes(2, 3).copy()
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
