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
def glrlm_counts(lv, offsets, n_levels, max_run, z_start, z_stop, per_slice):  # pragma: no cover - jit
    """Run-length counts for all directions in one pass over slices ``z_start..z_stop`` of ``lv``.

    Returns int64 counts of shape ``(z_stop - z_start, n_dir, Ng, max_run)`` when ``per_slice`` (a run belongs to the
    slice of its first voxel) else ``(1, n_dir, Ng, max_run)``. A run is counted at its first voxel (the voxel whose
    predecessor is outside the array, outside the mask or of another level) and followed to its end, so every voxel is
    read at most twice per direction. ``max_run`` must be at least the longest possible run (the largest array side).
    """
    nz, ny, nx = lv.shape
    nd = offsets.shape[0]
    n_out = z_stop - z_start if per_slice else 1
    out = np.zeros((n_out, nd, n_levels, max_run), dtype=np.int64)
    for z in range(z_start, z_stop):
        s = z - z_start if per_slice else 0
        for y in range(ny):
            for x in range(nx):
                g = lv[z, y, x]
                if g <= 0:
                    continue
                for k in range(nd):
                    dz = offsets[k, 0]
                    dy = offsets[k, 1]
                    dx = offsets[k, 2]
                    pz = z - dz
                    py = y - dy
                    px = x - dx
                    if 0 <= pz < nz and 0 <= py < ny and 0 <= px < nx and lv[pz, py, px] == g:
                        continue  # not the first voxel of its run
                    n = 1
                    qz = z + dz
                    qy = y + dy
                    qx = x + dx
                    while 0 <= qz < nz and 0 <= qy < ny and 0 <= qx < nx and lv[qz, qy, qx] == g:
                        n += 1
                        qz += dz
                        qy += dy
                        qx += dx
                    out[s, k, g - 1, n - 1] += 1
    return out


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
