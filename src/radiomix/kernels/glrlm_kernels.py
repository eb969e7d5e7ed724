"""Grey-level run-length counts (IBSI 3.7): a numba kernel and the plain NumPy reference it is tested against.

``lv`` is int32 (z, y, x), grey level 1..Ng inside the intensity mask and 0 outside (``texture_common.level_volume``).
A run is a maximal line of consecutive voxels along a direction vector (dz, dy, dx) with the same grey level, all in
the mask. Entry ``[k, i - 1, j - 1]`` counts runs of level ``i`` and length ``j`` in direction ``k``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from radiomix.kernels.glcm_kernels import shifted


@njit(cache=True, nogil=True)
def _glrlm_direction(k, lp, shape, pad, flat_off, z_start, z_stop, per_slice, out):  # pragma: no cover - jit
    """Runs along direction ``k`` (flat offset ``flat_off[k]``) into ``out[:, k]``; see :func:`_glrlm_counts_flat`."""
    _, ny, nx = shape
    nyp = ny + 2 * pad
    nxp = nx + 2 * pad
    plane = nyp * nxp
    o = flat_off[k]
    for z in range(z_start, z_stop):
        s = z - z_start if per_slice else 0
        for y in range(ny):
            base = (z + pad) * plane + (y + pad) * nxp + pad
            for x in range(nx):
                f = base + x
                g = lp[f]
                if g <= 0 or lp[f - o] == g:
                    continue  # outside the ROI, or not the first voxel of its run
                n = 1
                q = f + o
                while lp[q] == g:
                    n += 1
                    q += o
                out[s, k, g - 1, n - 1] += 1


@njit(cache=True, nogil=True)
def _glrlm_counts_flat(lp, shape, pad, flat_off, n_levels, max_run, z_start, z_stop, per_slice):  # pragma: no cover
    """:func:`glrlm_counts` on ``lp``, the level volume of ``shape`` padded with ``pad`` zero voxels on every side and
    flattened; ``flat_off`` the directions as flat offsets in the padded array. The zero border stops every run, so no
    bounds checks are needed. One pass per direction."""
    nd = flat_off.shape[0]
    n_out = z_stop - z_start if per_slice else 1
    out = np.zeros((n_out, nd, n_levels, max_run), dtype=np.int64)
    for k in range(nd):
        _glrlm_direction(k, lp, shape, pad, flat_off, z_start, z_stop, per_slice, out)
    return out


def glrlm_counts(lv, offsets, n_levels, max_run, z_start, z_stop, per_slice) -> np.ndarray:
    """Run-length counts for all directions in one pass over slices ``z_start..z_stop`` of ``lv``.

    Returns int64 counts of shape ``(z_stop - z_start, n_dir, Ng, max_run)`` when ``per_slice`` (a run belongs to the
    slice of its first voxel) else ``(1, n_dir, Ng, max_run)``. A run is counted at its first voxel (the voxel whose
    predecessor is outside the array, outside the mask or of another level) and followed to its end, so every voxel is
    read at most twice per direction. ``max_run`` must be at least the longest possible run (the largest array side).
    Runs follow the whole array (also beyond ``z_start..z_stop``). The kernel (numba, ``nogil``) works on a copy padded
    with zeros, with flat offsets: no bounds checks in the inner loops.
    """
    lv = np.asarray(lv)
    offsets = np.asarray(offsets, dtype=np.int64).reshape(-1, 3)
    pad = max(1, int(np.abs(offsets).max(initial=0)))
    lp = np.pad(np.asarray(lv, dtype=np.int32), pad)
    _, nyp, nxp = lp.shape
    flat = np.ascontiguousarray(offsets[:, 0] * (nyp * nxp) + offsets[:, 1] * nxp + offsets[:, 2])
    return _glrlm_counts_flat(lp.ravel(), tuple(int(n) for n in lv.shape), pad, flat, int(n_levels), int(max_run),
                              int(z_start), int(z_stop), bool(per_slice))


def glrlm_counts_reference(lv: np.ndarray, offsets, n_levels: int, max_run: int) -> np.ndarray:
    """Plain NumPy run-length counts over the whole volume, shape ``(n_dir, Ng, max_run)`` (slow; for tests).

    Run starts are voxels whose predecessor differs; the length of the run from a start is one plus the number of
    consecutive steps ``t`` for which the voxel ``t`` steps ahead still has the same level.
    """
    offsets = np.asarray(offsets)
    out = np.zeros((len(offsets), n_levels, max_run), dtype=np.int64)
    for k, off in enumerate(offsets):
        start = (lv > 0) & (shifted(lv, -off) != lv)
        length = np.ones(lv.shape, dtype=np.int64)
        alive = start.copy()
        t = 1
        while alive.any():
            alive &= shifted(lv, t * off) == lv
            length += alive
            t += 1
        np.add.at(out[k], (lv[start] - 1, length[start] - 1), 1)
    return out
