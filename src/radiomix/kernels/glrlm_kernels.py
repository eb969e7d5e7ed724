"""Grey-level run-length counts (IBSI 3.7): a numba kernel and the plain NumPy reference it is tested against.

``lv`` is int32 (z, y, x), grey level 1..Ng inside the intensity mask and 0 outside (``texture_common.level_volume``).
A run is a maximal line of consecutive voxels along a direction vector (dz, dy, dx) with the same grey level, all in
the mask. Entry ``[k, i - 1, j - 1]`` counts runs of level ``i`` and length ``j`` in direction ``k``.
"""

from __future__ import annotations

import numpy as np

from radiomix.kernels._jit import njit
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


@njit(cache=True, nogil=True)
def _glrlm_volume_counts(lp, shape, flat_off, dirs, n_levels, max_run, len_dtype):  # pragma: no cover - jit
    """Run-length counts over the whole volume for unit directions pointing "forward" in raster order (``dirs[k]`` in
    {-1, 0, 1}^3 with (dz, dy, dx) > (0, 0, 0) lexicographically, dz in {0, 1}), in one raster pass for all directions.

    ``lp`` is the level volume of ``shape`` padded with one zero voxel on every side, flattened; ``flat_off[k]`` the
    flat offset of ``dirs[k]`` in it. Every ROI voxel gets, per direction, its position ``l`` in its run (1 at the
    first voxel: ``l = 1 + l(predecessor)`` if the predecessor has the same level, else 1), kept for the current and
    the previous slice only. ``h[g, l, k]`` counts voxels of level g at position l; the number of runs of length
    exactly n is then ``h[g, n] - h[g, n + 1]`` (every run of length >= n has one voxel at position n). No branch
    depends on the run structure, so the pass costs the same for short and long runs."""
    nz, ny, nx = shape
    nd = dirs.shape[0]
    nxp = nx + 2
    plane = (ny + 2) * nxp
    pos = np.empty((2 * plane, nd), dtype=len_dtype)  # run positions of the current and the previous slice
    h = np.zeros((n_levels, max_run + 1, nd), dtype=np.int64)
    src = np.empty(nd, dtype=np.int64)
    for z in range(nz):
        cur = (z & 1) * plane
        prev = ((z + 1) & 1) * plane
        for k in range(nd):
            src[k] = (prev if dirs[k, 0] else cur) - (dirs[k, 1] * nxp + dirs[k, 2])
        for y in range(ny):
            base = (z + 1) * plane + (y + 1) * nxp + 1
            row = (y + 1) * nxp + 1
            for x in range(nx):
                f = base + x
                g = lp[f]
                if g == 0:
                    continue
                li = row + x
                for k in range(nd):
                    # pos[] of the predecessor is only read when it is an ROI voxel of the same level, which the
                    # raster order has already visited (so ``pos`` needs no initialisation)
                    same = lp[f - flat_off[k]] == g
                    n = 1 + same * np.int64(pos[src[k] + li, k])
                    pos[cur + li, k] = n
                    h[g - 1, n - 1, k] += 1
    out = np.empty((1, nd, n_levels, max_run), dtype=np.int64)
    for k in range(nd):
        for g in range(n_levels):
            for n in range(max_run):
                out[0, k, g, n] = h[g, n, k] - h[g, n + 1, k]
    return out


def _forward_unit_directions(offsets: np.ndarray) -> np.ndarray | None:
    """``offsets`` with each direction replaced by its opposite where needed so that it points forward in raster order
    (runs along d and -d are the same runs); None unless every component is in {-1, 0, 1} and none is zero."""
    if offsets.size == 0 or np.abs(offsets).max() > 1:
        return None
    out = offsets.copy()
    for k, (dz, dy, dx) in enumerate(offsets):
        if (dz, dy, dx) == (0, 0, 0):
            return None
        if (dz, dy, dx) < (0, 0, 0):
            out[k] = -offsets[k]
    return np.ascontiguousarray(out)


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
    fwd = _forward_unit_directions(offsets)
    if fwd is not None and not per_slice and z_start == 0 and z_stop == lv.shape[0] and lv.size:
        # whole volume, unit directions (all 3D aggregations): one branch-light raster pass, uint8 levels if they fit
        lp = np.pad(lv.astype(np.uint8 if n_levels < 256 else np.int32, copy=False), 1)
        _, nyp, nxp = lp.shape
        flat = np.ascontiguousarray(fwd[:, 0] * (nyp * nxp) + fwd[:, 1] * nxp + fwd[:, 2])
        len_dtype = np.uint16 if max_run < 2**16 else np.int64
        return _glrlm_volume_counts(lp.ravel(), tuple(int(n) for n in lv.shape), flat, fwd, int(n_levels),
                                    int(max_run), len_dtype)
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
