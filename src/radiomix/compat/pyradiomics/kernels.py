"""numba kernels for the PyRadiomics-compatible texture matrices that radiomix's IBSI kernels do not give.

All take ``lv`` (int32 (z, y, x), grey level >= 1 inside the ROI, 0 outside) and ``nbrs`` (int64 (n, 3) neighbour
offsets (dz, dy, dx), both signs of every PyRadiomics angle). A neighbour outside the array or the ROI is ignored.
Plain NumPy versions (``*_reference``) are kept for the tests.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def zones(lv, nbrs):  # pragma: no cover - jit
    """Connected zones of equal grey level (connectivity given by ``nbrs``): arrays (level, size), one per zone."""
    nz, ny, nx = lv.shape
    seen = np.zeros(lv.shape, dtype=np.bool_)
    stack = np.empty((lv.size, 3), dtype=np.int64)
    levels = []
    sizes = []
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                g = lv[z, y, x]
                if g <= 0 or seen[z, y, x]:
                    continue
                seen[z, y, x] = True
                top = 0
                stack[0, 0] = z
                stack[0, 1] = y
                stack[0, 2] = x
                top = 1
                n = 0
                while top > 0:
                    top -= 1
                    cz = stack[top, 0]
                    cy = stack[top, 1]
                    cx = stack[top, 2]
                    n += 1
                    for k in range(nbrs.shape[0]):
                        qz = cz + nbrs[k, 0]
                        qy = cy + nbrs[k, 1]
                        qx = cx + nbrs[k, 2]
                        if qz < 0 or qz >= nz or qy < 0 or qy >= ny or qx < 0 or qx >= nx:
                            continue
                        if seen[qz, qy, qx] or lv[qz, qy, qx] != g:
                            continue
                        seen[qz, qy, qx] = True
                        stack[top, 0] = qz
                        stack[top, 1] = qy
                        stack[top, 2] = qx
                        top += 1
                levels.append(g)
                sizes.append(n)
    out_l = np.empty(len(levels), dtype=np.int64)
    out_s = np.empty(len(sizes), dtype=np.int64)
    for i in range(len(levels)):
        out_l[i] = levels[i]
        out_s[i] = sizes[i]
    return out_l, out_s


@njit(cache=True)
def neighbour_stats(lv, nbrs, alpha):  # pragma: no cover - jit
    """Per ROI voxel (in C order): its level, the number of ROI neighbours, the sum of their levels and the number of
    ROI neighbours whose level differs from its own by at most ``alpha``."""
    nz, ny, nx = lv.shape
    n = 0
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                if lv[z, y, x] > 0:
                    n += 1
    level = np.empty(n, dtype=np.int64)
    count = np.zeros(n, dtype=np.int64)
    total = np.zeros(n, dtype=np.float64)
    dep = np.zeros(n, dtype=np.int64)
    i = 0
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                g = lv[z, y, x]
                if g <= 0:
                    continue
                level[i] = g
                for k in range(nbrs.shape[0]):
                    qz = z + nbrs[k, 0]
                    qy = y + nbrs[k, 1]
                    qx = x + nbrs[k, 2]
                    if qz < 0 or qz >= nz or qy < 0 or qy >= ny or qx < 0 or qx >= nx:
                        continue
                    h = lv[qz, qy, qx]
                    if h <= 0:
                        continue
                    count[i] += 1
                    total[i] += h
                    if abs(h - g) <= alpha:
                        dep[i] += 1
                i += 1
    return level, count, total, dep


def neighbour_stats_reference(lv: np.ndarray, nbrs: np.ndarray, alpha: float):
    """Plain NumPy version of :func:`neighbour_stats` (slow; for tests)."""
    inside = lv > 0
    count = np.zeros(lv.shape, np.int64)
    total = np.zeros(lv.shape, np.float64)
    dep = np.zeros(lv.shape, np.int64)
    pad = int(np.abs(nbrs).max()) if len(nbrs) else 0
    p = np.pad(lv, pad)
    for off in nbrs:
        sl = tuple(slice(pad + o, pad + o + n) for o, n in zip(off, lv.shape))
        nb = p[sl]
        ok = inside & (nb > 0)
        count += ok
        total += np.where(ok, nb, 0)
        dep += ok & (np.abs(nb - lv) <= alpha)
    return lv[inside].astype(np.int64), count[inside], total[inside], dep[inside]
