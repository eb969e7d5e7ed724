"""Neighbourhood kernels for the NGTDM and NGLDM (IBSI 3.10, 3.11): one pass over the ROI's bounding box.

The neighbourhood of a voxel ``k`` is every voxel ``k + m`` with Chebyshev norm ``0 < ||m|| <= delta`` (only in-plane
offsets when ``planar``) that lies in the ROI mask. Voxels outside the mask, or beyond the array, never take part.

* NGTDM: for every ROI voxel with at least one neighbour (``W_k > 0``), ``n[i] += 1`` and
  ``s[i] += |i - mean(neighbour grey levels)|``.
* NGLDM: for every ROI voxel, ``j_k = 1 + #{neighbours m : |X(k) - X(k + m)| <= alpha}`` and ``counts[i, j_k] += 1``.

Results are accumulated per slice (axis 0) when ``planar`` (the IBSI 2D approach; merge by summing over slices), else
into one 3D matrix. Fast numba kernels and plain NumPy references return identical arrays.
"""

from __future__ import annotations

import numpy as np

from radiomix.kernels._jit import njit
from radiomix.kernels.texture_common import bounding_box


def _offsets(delta: int, planar: bool) -> np.ndarray:
    r = range(-delta, delta + 1)
    zs = [0] if planar else list(r)
    off = [(dz, dy, dx) for dz in zs for dy in r for dx in r if (dz, dy, dx) != (0, 0, 0)]
    return np.array(off, dtype=np.int64).reshape(-1, 3)


def _padded(levels: np.ndarray, mask: np.ndarray, delta: int):
    """Grey levels of the mask's bounding box, 0 outside the mask, zero-padded by ``delta`` on every side, flattened;
    with the padded shape and the first slice of the box."""
    box = bounding_box(mask)
    m = mask[box]
    lv = levels[box]
    if (m & (lv < 1)).any():
        raise ValueError("grey levels inside the mask must be >= 1")
    lab = np.zeros(tuple(n + 2 * delta for n in m.shape), dtype=np.int32)
    inner = tuple(slice(delta, delta + n) for n in m.shape)
    np.copyto(lab[inner], lv, where=m, casting="unsafe")
    return lab, box[0].start


def _flat_offsets(shape, delta: int, planar: bool) -> np.ndarray:
    _, ny, nx = shape
    return np.array([dz * ny * nx + dy * nx + dx for dz, dy, dx in _offsets(delta, planar)], dtype=np.int64)


# --- numba kernels -----------------------------------------------------------------------------------------------------
# Both kernels go a row (fixed z, y) of the box at a time: per neighbour offset, one contiguous pass over the row (so
# the loops vectorise), then one pass in raster order that adds each voxel's result to the matrices, in the same order
# and with the same arithmetic as a voxel-by-voxel loop.


@njit(cache=True, nogil=True)
def _ngtdm_kernel(lab, shape, offsets, n_levels, delta, n_out, planar):  # pragma: no cover - compiled
    """``lab``: flat grey levels (0 = outside the ROI) of the box of ``shape`` padded by ``delta`` on every side;
    ``offsets``: flat neighbour offsets in the padded array."""
    nz, ny, nx = shape
    nyp = ny + 2 * delta
    nxp = nx + 2 * delta
    plane = nyp * nxp
    s = np.zeros((n_out, n_levels + 1), dtype=np.float64)
    n = np.zeros((n_out, n_levels + 1), dtype=np.float64)
    total = np.empty(nx, dtype=np.int64)
    w = np.empty(nx, dtype=np.int64)
    for z in range(nz):
        k = z if planar else 0
        for y in range(ny):
            f0 = (z + delta) * plane + (y + delta) * nxp + delta
            centre = lab[f0:f0 + nx]
            total[:] = 0
            w[:] = 0
            for o in range(offsets.size):
                a = f0 + offsets[o]
                nb = lab[a:a + nx]
                for x in range(nx):
                    v = nb[x]
                    total[x] += v  # 0 outside the ROI
                    w[x] += v > 0
            for x in range(nx):
                g = centre[x]
                if g > 0 and w[x] > 0:
                    s[k, g] += abs(g - total[x] / w[x])
                    n[k, g] += 1.0
    return s, n


@njit(cache=True, nogil=True)
def _ngldm_kernel(lab, shape, offsets, n_levels, alpha, delta, n_out, planar):  # pragma: no cover - compiled
    """Dependence counts; arguments as :func:`_ngtdm_kernel`."""
    nz, ny, nx = shape
    nyp = ny + 2 * delta
    nxp = nx + 2 * delta
    plane = nyp * nxp
    n_off = offsets.size
    counts = np.zeros((n_out, n_levels + 1, n_off + 2), dtype=np.int64)
    j = np.empty(nx, dtype=np.int64)
    for z in range(nz):
        k = z if planar else 0
        for y in range(ny):
            f0 = (z + delta) * plane + (y + delta) * nxp + delta
            centre = lab[f0:f0 + nx]
            j[:] = 1
            for o in range(n_off):
                a = f0 + offsets[o]
                nb = lab[a:a + nx]
                for x in range(nx):
                    v = nb[x]
                    j[x] += (v > 0) & (abs(v - centre[x]) <= alpha)
            for x in range(nx):
                g = centre[x]
                if g > 0:
                    counts[k, g, j[x]] += 1
    return counts


def _expand(arr: np.ndarray, n_slices: int, z_off: int, planar: bool) -> np.ndarray:
    """Put per-slice results of the cropped box back at their slice index of the full array."""
    if not planar:
        return arr
    out = np.zeros((n_slices,) + arr.shape[1:], dtype=arr.dtype)
    out[z_off:z_off + arr.shape[0]] = arr
    return out


def _box_shape(lab: np.ndarray, delta: int) -> tuple[int, int, int]:
    return tuple(int(n) - 2 * delta for n in lab.shape)


def _run(levels, mask, delta, planar):
    lab, z_off = _padded(np.asarray(levels), mask, delta)
    # planar: no z offsets, so a z padding of delta is harmless; slice k of the box is padded slice k + delta
    plane = lab.shape[1] * lab.shape[2]
    n_out = lab.shape[0] - 2 * delta if planar else 1
    return lab, z_off, plane, n_out, _flat_offsets(lab.shape, delta, planar)


def ngtdm_arrays(levels: np.ndarray, mask: np.ndarray, n_levels: int, delta: int = 1, *,
                 planar: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(s, n)``, each of shape ``(n_slices or 1, n_levels + 1)`` indexed by grey level (column 0 unused)."""
    mask = np.asarray(mask, dtype=bool)
    n_all = mask.shape[0] if planar else 1
    if not mask.any():
        z = np.zeros((n_all, n_levels + 1))
        return z, z.copy()
    lab, z_off, _, n_out, offs = _run(levels, mask, delta, planar)
    s, n = _ngtdm_kernel(lab.ravel(), _box_shape(lab, delta), offs, int(n_levels), int(delta), n_out, planar)
    return _expand(s, mask.shape[0], z_off, planar), _expand(n, mask.shape[0], z_off, planar)


def ngldm_counts(levels: np.ndarray, mask: np.ndarray, n_levels: int, delta: int = 1, alpha: int = 0, *,
                 planar: bool = False) -> np.ndarray:
    """Dependence counts of shape ``(n_slices or 1, n_levels + 1, n_neighbours + 2)``: ``[k, i, j]`` is the number of
    voxels (in slice ``k``) with grey level ``i`` and dependence ``j`` (>= 1; index 0 unused)."""
    mask = np.asarray(mask, dtype=bool)
    n_off = len(_offsets(delta, planar))
    n_all = mask.shape[0] if planar else 1
    if not mask.any():
        return np.zeros((n_all, n_levels + 1, n_off + 2), dtype=np.int64)
    lab, z_off, _, n_out, offs = _run(levels, mask, delta, planar)
    c = _ngldm_kernel(lab.ravel(), _box_shape(lab, delta), offs, int(n_levels), int(alpha), int(delta), n_out, planar)
    return _expand(c, mask.shape[0], z_off, planar)


# --- NumPy references --------------------------------------------------------------------------------------------------
def _shifted(a: np.ndarray, off, fill):
    """``out[k] = a[k + off]``, ``fill`` where ``k + off`` leaves the array."""
    out = np.full(a.shape, fill, dtype=a.dtype)
    if any(abs(o) >= n for o, n in zip(off, a.shape)):
        return out
    src, dst = [], []
    for o, n in zip(off, a.shape):
        src.append(slice(max(o, 0), n + min(o, 0)))
        dst.append(slice(max(-o, 0), n + min(-o, 0)))
    out[tuple(dst)] = a[tuple(src)]
    return out


def _per_slice(values_by_voxel, levels, sel, n_levels, planar):
    nz = levels.shape[0]
    return np.stack([np.bincount(levels[k][sel[k]], weights=values_by_voxel[k][sel[k]], minlength=n_levels + 1)
                     for k in range(nz)]) if planar else \
        np.bincount(levels[sel], weights=values_by_voxel[sel], minlength=n_levels + 1)[np.newaxis]


def ngtdm_arrays_reference(levels, mask, n_levels, delta=1, *, planar=False):
    levels = np.asarray(levels).astype(np.int64)
    mask = np.asarray(mask, dtype=bool)
    total = np.zeros(levels.shape, dtype=np.float64)
    w = np.zeros(levels.shape, dtype=np.float64)
    for off in _offsets(delta, planar):
        m = _shifted(mask, off, False)
        total += np.where(m, _shifted(levels, off, 0), 0)
        w += m
    ok = mask & (w > 0)
    diff = np.abs(levels - np.divide(total, w, out=np.zeros_like(total), where=w > 0))
    lv = np.where(ok, levels, 0)
    s = _per_slice(diff, lv, ok, n_levels, planar)
    n = _per_slice(np.ones(levels.shape), lv, ok, n_levels, planar)
    return s, n


def ngldm_counts_reference(levels, mask, n_levels, delta=1, alpha=0, *, planar=False):
    levels = np.asarray(levels).astype(np.int64)
    mask = np.asarray(mask, dtype=bool)
    offs = _offsets(delta, planar)
    j = np.ones(levels.shape, dtype=np.int64)
    for off in offs:
        j += _shifted(mask, off, False) & (np.abs(_shifted(levels, off, 0) - levels) <= alpha)
    n_out = levels.shape[0] if planar else 1
    out = np.zeros((n_out, n_levels + 1, len(offs) + 2), dtype=np.int64)
    zs = np.nonzero(mask)[0] if planar else np.zeros(int(mask.sum()), dtype=np.int64)
    np.add.at(out, (zs, levels[mask], j[mask]), 1)
    return out
