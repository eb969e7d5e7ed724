r"""PyRadiomics ``shape2D`` features: marching squares on a mask one voxel thick along ``force2Ddimension``.

The 2D mask is padded with one pixel of zeros; each 2x2 square of pixel centres contributes line segments between
the midpoints of its edges (the marching-squares lookup; in both diagonal configurations the two inside pixels
stay apart, as in PyRadiomics). With segments :math:`(a_k, b_k)` in mm:

* Perimeter :math:`P = \sum_k |b_k - a_k|`; MeshSurface :math:`A = |\sum_k \frac12 a_k \times b_k|`;
* PixelSurface :math:`N_p A_{pixel}`; PerimeterSurfaceRatio :math:`P/A`; Sphericity :math:`2\sqrt{\pi A}/P`;
* MaximumDiameter the largest distance between segment vertices; Major / MinorAxisLength :math:`4\sqrt{\lambda}`
  (eigenvalues of the pixel-centre covariance, divisor :math:`N_p`); Elongation
  :math:`\sqrt{\lambda_{minor}/\lambda_{major}}`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from radiomix.errors import InputError

# Square corners (r, c): 0 (0,0), 1 (0,1), 2 (1,1), 3 (1,0); edges 0: 0-1, 1: 1-2, 2: 2-3, 3: 3-0.
_EDGE_MID = np.array([(0.0, 0.5), (0.5, 1.0), (1.0, 0.5), (0.5, 0.0)])
# Segments (edge from, edge to) for configurations 1..7 (bit k = corner k inside), inside on a fixed side. Both
# diagonal configurations (5 and 10) keep their two inside pixels apart (two corner cuts), as PyRadiomics does.
_SEGMENTS = {
    1: [(0, 3)], 2: [(1, 0)], 3: [(1, 3)], 4: [(2, 1)], 5: [(0, 3), (2, 1)], 6: [(2, 0)], 7: [(2, 3)],
}


def _table() -> np.ndarray:
    """Segments of all 16 configurations: 1..7 as listed, 8..14 their complements reversed, 10 separated too."""
    t = -np.ones((16, 4), dtype=np.int64)
    for k in range(1, 15):
        if k < 8:
            segs = _SEGMENTS[k]
        elif k == 10:
            segs = [(1, 0), (3, 2)]
        else:
            segs = [(b, a) for a, b in _SEGMENTS[15 - k]]
        flat = [e for seg in segs for e in seg]
        t[k, : len(flat)] = flat
    return t


SQUARE_TABLE = _table()


@njit(cache=True)
def _squares(m, table, mid, spacing):  # pragma: no cover - jit
    """(perimeter, signed area, vertices) of the marching-squares contour of the padded 2D mask ``m``."""
    nr, nc = m.shape
    perim = 0.0
    area = 0.0
    vbuf = np.empty((4 * (nr - 1) * (nc - 1) + 1, 2))
    nv = 0
    for r in range(nr - 1):
        for c in range(nc - 1):
            idx = 0
            if m[r, c]:
                idx |= 1
            if m[r, c + 1]:
                idx |= 2
            if m[r + 1, c + 1]:
                idx |= 4
            if m[r + 1, c]:
                idx |= 8
            if idx == 0 or idx == 15:
                continue
            t = 0
            while t < 4 and table[idx, t] >= 0:
                ea = table[idx, t]
                eb = table[idx, t + 1]
                ar = (r + mid[ea, 0]) * spacing[0]
                ac = (c + mid[ea, 1]) * spacing[1]
                br = (r + mid[eb, 0]) * spacing[0]
                bc = (c + mid[eb, 1]) * spacing[1]
                perim += np.sqrt((ar - br) ** 2 + (ac - bc) ** 2)
                area += 0.5 * (ar * bc - ac * br)
                vbuf[nv, 0] = ar
                vbuf[nv, 1] = ac
                vbuf[nv + 1, 0] = br
                vbuf[nv + 1, 1] = bc
                nv += 2
                t += 2
    return perim, area, vbuf[:nv]


def contour(mask2d: np.ndarray, spacing2d, table: np.ndarray = SQUARE_TABLE):
    """(perimeter, area, unique vertices in mm) of the marching-squares contour of a 2D mask."""
    mask2d = np.asarray(mask2d, dtype=bool)
    idx = np.nonzero(mask2d)
    box = tuple(slice(int(i.min()), int(i.max()) + 1) for i in idx)
    m = np.pad(mask2d[box], 1)
    perim, area, verts = _squares(m, table, _EDGE_MID, np.asarray(spacing2d, dtype=np.float64))
    return float(perim), abs(float(area)), np.unique(verts, axis=0)


@njit(cache=True)
def _max_distance(v):  # pragma: no cover - jit
    best = 0.0
    for i in range(v.shape[0]):
        for j in range(i + 1, v.shape[0]):
            d = (v[i, 0] - v[j, 0]) ** 2 + (v[i, 1] - v[j, 1]) ** 2
            best = max(best, d)
    return np.sqrt(best)


def shape2d(mask: np.ndarray, spacing, setting) -> dict[str, float]:
    """All shape2D features; the mask must be one voxel thick along ``force2Ddimension`` and ``force2D`` set."""
    dim = int(setting["force2Ddimension"])
    if not setting["force2D"]:
        raise InputError("shape2D: PyRadiomics computes shape2D only with force2D = True")
    extent = np.nonzero(np.asarray(mask).any(axis=tuple(a for a in range(3) if a != dim)))[0]
    if extent.max() != extent.min():
        raise InputError(f"shape2D: the mask spans {extent.max() - extent.min() + 1} slices along dimension {dim}; "
                         "shape2D needs a mask one voxel thick there")
    m2 = np.take(mask, int(extent[0]), axis=dim)
    sp2 = tuple(float(s) for a, s in enumerate(spacing) if a != dim)
    perim, area, verts = contour(m2, sp2)
    coords = np.argwhere(m2) * np.asarray(sp2)[None, :]
    c = coords - coords.mean(axis=0)
    minor, major = np.clip(np.linalg.eigvalsh(c.T @ c / len(c)), 0, None)
    n = int(np.count_nonzero(m2))
    return {
        "MeshSurface": area,
        "PixelSurface": n * sp2[0] * sp2[1],
        "Perimeter": perim,
        "PerimeterSurfaceRatio": perim / area if area else np.nan,
        "Sphericity": 2 * np.sqrt(np.pi * area) / perim,
        "MaximumDiameter": float(_max_distance(verts)),
        "MajorAxisLength": 4 * np.sqrt(major),
        "MinorAxisLength": 4 * np.sqrt(minor),
        "Elongation": np.sqrt(minor / major) if major > 0 else np.nan,
    }
