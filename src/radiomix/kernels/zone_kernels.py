"""Zone kernels for the GLSZM and GLDZM (IBSI 3.8, 3.9): one pass over the ROI's bounding box.

A *zone* is a group of voxels of the same discretised grey level that are linked with full connectivity (26 in 3D,
8 in 2D). The *distance* of a voxel is the number of 6-connected (3D) or 4-connected (2D) steps needed to leave the
ROI, counting a voxel on the ROI edge as 1 (IBSI 3.9: iterative erosion with the cross structure element); this is the
city-block distance to the nearest voxel outside the (morphological) mask, with everything beyond the array outside.
The distance of a zone is the smallest distance of its voxels.

``zone_table`` (numba) and ``zone_table_reference`` (plain NumPy/SciPy, the definition written out) return the same
:class:`ZoneTable`: one row per zone with its grey level, size, distance and slice. ``planar=True`` works slice by
slice along axis 0 (the IBSI 2D approach: zones and distances never cross slices).

Memory: the kernels crop to the bounding box of the mask, then hold one label array (int8 for up to 127 grey levels) and
one int32 distance array of the box, plus per-zone output arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from radiomix.kernels._jit import njit
from radiomix.kernels.texture_common import bounding_box


@dataclass(frozen=True, eq=False)
class ZoneTable:
    """One row per zone: grey ``level``, ``size`` (voxels), ``distance`` (to the ROI edge, >= 1) and ``slice``
    (index along axis 0 of the cropped box for planar tables, 0 for 3D tables). ``n_voxels[k]`` is the number of ROI
    voxels in slice ``k`` (planar) or in the volume (``n_voxels[0]``, 3D)."""

    level: np.ndarray
    size: np.ndarray
    distance: np.ndarray
    slice: np.ndarray
    n_voxels: np.ndarray

    def sorted(self) -> ZoneTable:
        """Rows in a canonical order (slice, level, size, distance), for comparisons."""
        order = np.lexsort((self.distance, self.size, self.level, self.slice))
        return ZoneTable(self.level[order], self.size[order], self.distance[order], self.slice[order], self.n_voxels)


def _crop(levels: np.ndarray, mask: np.ndarray, distance_mask: np.ndarray):
    """Crop to the bounding box of ``mask | distance_mask``; keep one empty voxel margin for the distance map."""
    both = mask | distance_mask
    if not both.any():
        return None
    box = bounding_box(both)
    return levels[box], mask[box], distance_mask[box], box[0].start


# --- numba kernels -----------------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _cityblock_distance(mask, planar):
    """City-block distance (in voxels) to the nearest voxel outside ``mask``; outside the array counts as outside.
    Two raster passes with the half-neighbourhoods are exact for the city-block metric."""
    nz, ny, nx = mask.shape
    big = nz + ny + nx + 2
    d = np.zeros((nz, ny, nx), dtype=np.int32)
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                if not mask[z, y, x]:
                    continue
                best = big
                # predecessors: z-1, y-1, x-1 (0 when outside the array)
                if not planar:
                    v = d[z - 1, y, x] if z > 0 else 0
                    best = min(best, v)
                v = d[z, y - 1, x] if y > 0 else 0
                best = min(best, v)
                v = d[z, y, x - 1] if x > 0 else 0
                best = min(best, v)
                d[z, y, x] = best + 1
    for z in range(nz - 1, -1, -1):
        for y in range(ny - 1, -1, -1):
            for x in range(nx - 1, -1, -1):
                if not mask[z, y, x]:
                    continue
                best = d[z, y, x] - 1
                if not planar:
                    v = d[z + 1, y, x] if z < nz - 1 else 0
                    best = min(best, v)
                v = d[z, y + 1, x] if y < ny - 1 else 0
                best = min(best, v)
                v = d[z, y, x + 1] if x < nx - 1 else 0
                best = min(best, v)
                d[z, y, x] = best + 1
    return d


@njit(cache=True, nogil=True)
def _zones(lab, dist, offsets, plane):
    """Flood-fill zones in the padded, flattened grey-level array ``lab`` (0 outside the ROI; grey levels >= 1).
    ``offsets`` are the flat offsets of the 26 (or 8) neighbours; the one-voxel zero padding makes bounds checks
    unnecessary. Visited voxels are marked by negating their level. Returns per-zone level, size, minimum distance
    and flat index of the first voxel (its slice is ``index // plane``)."""
    n = lab.size
    n_roi = 0
    for f in range(n):
        if lab[f] > 0:
            n_roi += 1
    stack = np.empty(max(n_roi, 1), dtype=np.int64)
    z_level = np.empty(n_roi, dtype=np.int64)
    z_size = np.empty(n_roi, dtype=np.int64)
    z_dist = np.empty(n_roi, dtype=np.int64)
    z_slice = np.empty(n_roi, dtype=np.int64)
    n_off = offsets.size
    nzones = 0
    for f0 in range(n):
        g = lab[f0]
        if g <= 0:
            continue
        lab[f0] = -g
        stack[0] = f0
        top = 1
        size = 0
        dmin = dist[f0]
        while top > 0:
            top -= 1
            f = stack[top]
            size += 1
            dmin = min(dmin, dist[f])
            for o in range(n_off):
                nf = f + offsets[o]
                if lab[nf] == g:
                    lab[nf] = -g
                    stack[top] = nf
                    top += 1
        z_level[nzones] = g
        z_size[nzones] = size
        z_dist[nzones] = dmin
        z_slice[nzones] = f0 // plane
        nzones += 1
    return z_level[:nzones].copy(), z_size[:nzones].copy(), z_dist[:nzones].copy(), z_slice[:nzones].copy()


def _flat_offsets(shape: tuple[int, int, int], planar: bool) -> np.ndarray:
    _, ny, nx = shape
    zs = (0,) if planar else (-1, 0, 1)
    return np.array([dz * ny * nx + dy * nx + dx for dz in zs for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                     if (dz, dy, dx) != (0, 0, 0)], dtype=np.int64)


def _n_voxels(mask: np.ndarray, planar: bool) -> np.ndarray:
    return mask.sum(axis=(1, 2)).astype(np.int64) if planar else np.array([int(mask.sum())], dtype=np.int64)


def _empty_table(mask: np.ndarray, planar: bool) -> ZoneTable:
    e = np.zeros(0, dtype=np.int64)
    return ZoneTable(e, e, e, e, _n_voxels(mask, planar))


def zone_table(levels: np.ndarray, mask: np.ndarray, distance_mask: np.ndarray | None = None, *,
               planar: bool = False) -> ZoneTable:
    """Zones of ``levels`` inside ``mask`` (fast path). The distance map is taken on ``distance_mask`` (the IBSI
    morphological mask; default ``mask``), united with ``mask`` so that every zone voxel has a distance >= 1.
    Slice indices refer to axis 0 of the arrays passed in."""
    mask = np.asarray(mask, dtype=bool)
    dmask = mask if distance_mask is None else (np.asarray(distance_mask, dtype=bool) | mask)
    cropped = _crop(np.asarray(levels), mask, dmask)
    if cropped is None:
        return _empty_table(mask, planar)
    lv, m, dm, z_off = cropped
    if (m & (lv < 1)).any():
        raise ValueError("grey levels inside the mask must be >= 1")
    # one voxel of zero padding: neighbours of any box voxel are valid flat indices, 0 means outside the ROI
    dist = np.pad(_cityblock_distance(np.ascontiguousarray(dm), planar), 1)
    # the smallest signed type holding the levels (visited voxels are negated): less memory traffic in the fill
    top = int(lv.max(initial=0))
    lab = np.zeros(dist.shape, dtype=np.int8 if top < 2**7 else np.int16 if top < 2**15 else np.int32)
    np.copyto(lab[1:-1, 1:-1, 1:-1], lv, where=m, casting="unsafe")
    plane = lab.shape[1] * lab.shape[2]
    lev, size, d, sl = _zones(lab.ravel(), dist.ravel(), _flat_offsets(lab.shape, planar), plane)
    sl = sl - 1 + z_off if planar else np.zeros_like(sl)
    return ZoneTable(lev, size, d, sl, _n_voxels(mask, planar))


# --- NumPy/SciPy reference ---------------------------------------------------------------------------------------------
def distance_map_reference(mask: np.ndarray, planar: bool = False) -> np.ndarray:
    """IBSI 3.9 as written: erode the mask repeatedly with the 6- (4-, planar) connected cross and add 1 to every
    voxel still in the mask. Voxels beyond the array count as outside the ROI."""
    from scipy import ndimage

    mask = np.asarray(mask, dtype=bool)
    if planar:
        cross = ndimage.generate_binary_structure(2, 1)
        out = np.zeros(mask.shape, dtype=np.int32)
        for k in range(mask.shape[0]):
            out[k] = _erode_count(mask[k], cross)
        return out
    return _erode_count(mask, ndimage.generate_binary_structure(3, 1))


def _erode_count(mask: np.ndarray, structure: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    out = np.zeros(mask.shape, dtype=np.int32)
    cur = mask.copy()
    while cur.any():
        out += cur
        cur = ndimage.binary_erosion(cur, structure, border_value=0)
    return out


def zone_table_reference(levels: np.ndarray, mask: np.ndarray, distance_mask: np.ndarray | None = None, *,
                         planar: bool = False) -> ZoneTable:
    """Reference zone table: ``scipy.ndimage.label`` per grey level (and per slice when planar)."""
    from scipy import ndimage

    mask = np.asarray(mask, dtype=bool)
    levels = np.asarray(levels)
    dmask = mask if distance_mask is None else (np.asarray(distance_mask, dtype=bool) | mask)
    rows = []
    if planar:
        dist = distance_map_reference(dmask, planar=True)
        parts = [(k, levels[k], mask[k], dist[k]) for k in range(mask.shape[0])]
        structure = np.ones((3, 3), dtype=bool)
    else:
        parts = [(0, levels, mask, distance_map_reference(dmask))]
        structure = np.ones((3, 3, 3), dtype=bool)
    for k, lv, m, dist in parts:
        for g in np.unique(lv[m]):
            lab, n = ndimage.label(m & (lv == g), structure)
            for zone in range(1, n + 1):
                sel = lab == zone
                rows.append((int(g), int(sel.sum()), int(dist[sel].min()), k))
    if not rows:
        return _empty_table(mask, planar)
    a = np.array(rows, dtype=np.int64)
    return ZoneTable(a[:, 0], a[:, 1], a[:, 2], a[:, 3], _n_voxels(mask, planar))
