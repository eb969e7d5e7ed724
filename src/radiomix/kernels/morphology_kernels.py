"""Hot loops of the morphology and local intensity families (IBSI 3.1, 3.2).

Moran's I / Geary's C live in :mod:`radiomix.kernels.moran_kernels`.

The local means of the intensity peaks live in :mod:`radiomix.kernels.sphere_kernels` (re-exported here).
"""

from __future__ import annotations

import numba
import numpy as np


#: Work (elements) below which kernels run single-threaded: starting a parallel region costs ~0.1 ms on an idle
#: machine but milliseconds when the cores are busy (other families, other processes, spinning BLAS threads).
PARALLEL_MIN_WORK = 1_000_000

# --- minimum-volume enclosing ellipsoid ---------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _mvee_m(q, u):  # pragma: no cover - compiled
    n, d1 = q.shape
    x = np.zeros((d1, d1))
    for k in range(n):
        for a in range(d1):
            for b in range(d1):
                x[a, b] += u[k] * q[k, a] * q[k, b]
    xi = np.linalg.inv(x)
    m = np.empty(n)
    for k in range(n):
        t = 0.0
        for a in range(d1):
            for b in range(d1):
                t += q[k, a] * xi[a, b] * q[k, b]
        m[k] = t
    return xi, m


@numba.njit(cache=True, nogil=True)
def _mvee_extremes(u, m):  # pragma: no cover - compiled
    """(argmax m (the first; a NaN counts as the maximum, as in ``np.argmax``), argmin of m over u > 0 (the first))."""
    j_up = 0
    j_dn = -1
    for k in range(m.size):
        if k > 0 and (m[k] > m[j_up] or (m[k] != m[k] and m[j_up] == m[j_up])):
            j_up = k
        if u[k] > 0 and (j_dn < 0 or m[k] < m[j_dn]):
            j_dn = k
    return j_up, j_dn


@numba.njit(cache=True, nogil=True)
def mvee_weights(p, tol, max_iter, refresh):  # pragma: no cover - compiled
    """Dual weights ``u`` and the final ``m_k = q_k^T X(u)^{-1} q_k`` of Khachiyan's algorithm with the
    Wolfe-Atwood away steps of Todd and Yildirim (2007), for the points ``p`` (n, dim) (centred); the loop of
    ``features.morphology._mvee``. ``X(u)^{-1}`` and ``m`` are updated by the Sherman-Morrison formula after each step
    (O(n d) instead of O(n d^2) and a solve) and recomputed from ``u`` every ``refresh`` steps and before each
    convergence decision that would stop the loop. Returns (u, m, iterations)."""
    n, dim = p.shape
    d1 = dim + 1
    q = np.empty((n, d1))
    q[:, :dim] = p
    q[:, dim] = 1.0
    u = np.full(n, 1.0 / n)
    xi, m = _mvee_m(q, u)
    j_up, j_dn = _mvee_extremes(u, m)
    fresh = True
    it = 0
    while it < max_iter:
        eps_up = m[j_up] / d1 - 1.0
        eps_dn = 1.0 - m[j_dn] / d1
        if max(eps_up, eps_dn) <= tol:
            if fresh:
                break
            xi, m = _mvee_m(q, u)  # decide on exact values
            j_up, j_dn = _mvee_extremes(u, m)
            fresh = True
            continue
        if eps_up >= eps_dn:
            j = j_up
            step = (m[j] - d1) / (d1 * (m[j] - 1.0))
        else:
            j = j_dn
            step = max((m[j] - d1) / (d1 * (m[j] - 1.0)), -u[j] / (1.0 - u[j]))
        clipped = False
        for k in range(n):  # u <- (1 - s) u + s e_j, clipped at 0
            u[k] *= 1.0 - step
            if k == j:
                u[k] += step
            if u[k] < 0:
                u[k] = 0.0
                clipped = True
        it += 1
        if clipped or it % refresh == 0:
            xi, m = _mvee_m(q, u)
            j_up, j_dn = _mvee_extremes(u, m)
            fresh = True
            continue
        # X' = (1 - s) X + s q_j q_j^T  ->  X'^-1 = (X^-1 - c v v^T / (1 + c m_j)) / (1 - s), c = s / (1 - s)
        v = xi @ q[j]
        c = step / (1.0 - step)
        den = 1.0 + c * m[j]
        xi = (xi - (c / den) * np.outer(v, v)) / (1.0 - step)
        # update m and find the next step's extremes in the same pass (as _mvee_extremes would)
        j_up = 0
        j_dn = -1
        for k in range(n):
            t = 0.0
            for a in range(d1):
                t += q[k, a] * v[a]
            m[k] = (m[k] - c * t * t / den) / (1.0 - step)
            if k > 0 and (m[k] > m[j_up] or (m[k] != m[k] and m[j_up] == m[j_up])):
                j_up = k
            if u[k] > 0 and (j_dn < 0 or m[k] < m[j_dn]):
                j_dn = k
        fresh = False
    return u, m, it


# --- convex hull candidates ---------------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _line_end_points(g, lo, shape):  # pragma: no cover - compiled
    n = g.shape[0]
    keep = np.ones(n, dtype=np.bool_)
    for ax in range(3):
        a1 = (ax + 1) % 3
        a2 = (ax + 2) % 3
        n1 = shape[a1]
        n2 = shape[a2]
        big = np.iinfo(np.int64).max
        vmin = np.full(n1 * n2, big, dtype=np.int64)
        vmax = np.full(n1 * n2, -big, dtype=np.int64)
        for i in range(n):
            key = (g[i, a1] - lo[a1]) * n2 + (g[i, a2] - lo[a2])
            v = g[i, ax]
            vmin[key] = min(vmin[key], v)
            vmax[key] = max(vmax[key], v)
        for i in range(n):
            key = (g[i, a1] - lo[a1]) * n2 + (g[i, a2] - lo[a2])
            v = g[i, ax]
            if v != vmin[key] and v != vmax[key]:
                keep[i] = False
    return keep


def line_end_points(grid_points: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the integer points (n, 3) that are an end point of their line along each of the three
    axes (lowest or highest coordinate among the points sharing the other two coordinates). Every other point lies
    between two points of the set on a line, so it is not an extreme point: the convex hull of the kept points is the
    convex hull of all of them."""
    g = np.ascontiguousarray(grid_points, dtype=np.int64)
    if g.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    lo = g.min(axis=0)
    shape = g.max(axis=0) - lo + 1
    return np.flatnonzero(_line_end_points(g, lo, shape))


# --- oriented minimum bounding box ------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _hull2d(x, y):  # pragma: no cover - compiled
    """Indices of the 2D convex hull of (x, y), counter-clockwise, collinear points left out (monotone chain)."""
    n = x.size
    order = np.argsort(x, kind="mergesort")
    # ties in x: order by y (insertion sort inside each run of equal x)
    i = 0
    while i < n:
        j = i + 1
        while j < n and x[order[j]] == x[order[i]]:
            j += 1
        for a in range(i + 1, j):
            key = order[a]
            b = a - 1
            while b >= i and y[order[b]] > y[key]:
                order[b + 1] = order[b]
                b -= 1
            order[b + 1] = key
        i = j
    hull = np.empty(2 * n + 1, np.int64)
    k = 0
    for t in range(n):  # lower hull
        p = order[t]
        while k >= 2 and ((x[hull[k - 1]] - x[hull[k - 2]]) * (y[p] - y[hull[k - 2]])
                          - (y[hull[k - 1]] - y[hull[k - 2]]) * (x[p] - x[hull[k - 2]])) <= 0:
            k -= 1
        hull[k] = p
        k += 1
    lower = k + 1
    for t in range(n - 2, -1, -1):  # upper hull
        p = order[t]
        while k >= lower and ((x[hull[k - 1]] - x[hull[k - 2]]) * (y[p] - y[hull[k - 2]])
                              - (y[hull[k - 1]] - y[hull[k - 2]]) * (x[p] - x[hull[k - 2]])) <= 0:
            k -= 1
        hull[k] = p
        k += 1
    return hull[:max(k - 1, 0)]


@numba.njit(cache=True, nogil=True)
def _hull2d_filtered(x, y):  # pragma: no cover - compiled
    """:func:`_hull2d` after dropping the points strictly inside the octagon of the extreme points along x, y, x + y
    and x - y (Akl-Toussaint), with a safety margin. Those points are not on the hull, and the kept points keep their
    relative order, so the result (indices into ``x``, ``y``) is the one of :func:`_hull2d` on all points."""
    n = x.size
    if n < 16:
        return _hull2d(x, y)
    ext = np.empty(8, np.int64)  # counter-clockwise: min x, min x+y, min y, max x-y, max x, max x+y, max y, min x-y
    for k in range(8):
        ext[k] = 0
    for i in range(1, n):
        if x[i] < x[ext[0]]:
            ext[0] = i
        if x[i] + y[i] < x[ext[1]] + y[ext[1]]:
            ext[1] = i
        if y[i] < y[ext[2]]:
            ext[2] = i
        if x[i] - y[i] > x[ext[3]] - y[ext[3]]:
            ext[3] = i
        if x[i] > x[ext[4]]:
            ext[4] = i
        if x[i] + y[i] > x[ext[5]] + y[ext[5]]:
            ext[5] = i
        if y[i] > y[ext[6]]:
            ext[6] = i
        if x[i] - y[i] < x[ext[7]] - y[ext[7]]:
            ext[7] = i
    span = max(x[ext[4]] - x[ext[0]], y[ext[6]] - y[ext[2]])
    if not span > 0:
        return _hull2d(x, y)
    margin = 1e-9 * span * span
    keep = np.empty(n, np.int64)
    nk = 0
    for i in range(n):
        inside = True
        n_edges = 0
        for k in range(8):
            a = ext[k]
            b = ext[(k + 1) % 8]
            if x[a] == x[b] and y[a] == y[b]:
                continue
            n_edges += 1
            cross = (x[b] - x[a]) * (y[i] - y[a]) - (y[b] - y[a]) * (x[i] - x[a])
            if cross <= margin:
                inside = False
                break
        if not inside or n_edges < 3:
            keep[nk] = i
            nk += 1
    if nk == n:
        return _hull2d(x, y)
    sub = keep[:nk]
    h = _hull2d(x[sub], y[sub])
    out = np.empty(h.size, np.int64)
    for t in range(h.size):
        out[t] = sub[h[t]]
    return out


@numba.njit(cache=True, nogil=True)
def _face_box(f, pts, normals, us, vs, out):  # pragma: no cover - compiled
    """One row of :func:`face_boxes`."""
    n = pts.shape[0]
    half_pi = np.pi / 2
    x = np.empty(n)
    y = np.empty(n)
    hmin = np.inf
    hmax = -np.inf
    for i in range(n):
        x[i] = pts[i, 0] * us[f, 0] + pts[i, 1] * us[f, 1] + pts[i, 2] * us[f, 2]
        y[i] = pts[i, 0] * vs[f, 0] + pts[i, 1] * vs[f, 1] + pts[i, 2] * vs[f, 2]
        h = pts[i, 0] * normals[f, 0] + pts[i, 1] * normals[f, 1] + pts[i, 2] * normals[f, 2]
        hmin = min(hmin, h)
        hmax = max(hmax, h)
    height = hmax - hmin
    hull = _hull2d_filtered(x, y)
    m = hull.size
    if m < 3:
        out[f, 3] = 0.0
        return
    areas = np.empty(m)
    perims = np.empty(m)
    wus = np.empty(m)
    wvs = np.empty(m)
    for e in range(m):
        a = hull[e]
        b = hull[(e + 1) % m]
        ang = np.arctan2(y[b] - y[a], x[b] - x[a]) % half_pi
        c = np.cos(ang)
        s = np.sin(ang)
        umin = np.inf
        umax = -np.inf
        vmin = np.inf
        vmax = -np.inf
        for t in range(m):
            px = x[hull[t]]
            py = y[hull[t]]
            pu = px * c + py * s
            pv = -px * s + py * c
            umin = min(umin, pu)
            umax = max(umax, pu)
            vmin = min(vmin, pv)
            vmax = max(vmax, pv)
        wus[e] = umax - umin
        wvs[e] = vmax - vmin
        areas[e] = wus[e] * wvs[e]
        perims[e] = wus[e] + wvs[e]
    amin = areas.min()
    best = -1
    for e in range(m):
        if areas[e] <= amin * (1 + 1e-9) and (best < 0 or perims[e] < perims[best]):
            best = e
    rect = wus[best] * wvs[best]
    out[f, 0] = rect * height
    out[f, 1] = 2 * (rect + wus[best] * height + wvs[best] * height)
    out[f, 2] = rect
    out[f, 3] = 1.0


@numba.njit(cache=True, nogil=True, parallel=True)
def _face_boxes_parallel(pts, normals, us, vs, out):  # pragma: no cover - compiled
    for f in numba.prange(normals.shape[0]):
        _face_box(f, pts, normals, us, vs, out)


@numba.njit(cache=True, nogil=True)
def _face_boxes_serial(pts, normals, us, vs, out):  # pragma: no cover - compiled
    for f in range(normals.shape[0]):
        _face_box(f, pts, normals, us, vs, out)


def face_boxes(pts, normals, us, vs, out) -> None:
    """For each face normal f (unit, with in-plane unit axes us[f], vs[f]): the box with one axis along the normal and
    the minimum-area rectangle (one side flush with a 2D hull edge; among equal areas the smallest perimeter) of the
    projection onto the plane. out[f] = (volume, area, rectangle area, ok); ok = 0 when the projection's hull has
    fewer than 3 vertices (the caller handles those)."""
    if normals.shape[0] * pts.shape[0] > PARALLEL_MIN_WORK // 4:
        _face_boxes_parallel(pts, normals, us, vs, out)
    else:
        _face_boxes_serial(pts, normals, us, vs, out)


# --- local intensity: moved to kernels.sphere_kernels, names kept here for existing imports ----------------------------
from radiomix.kernels.sphere_kernels import (  # noqa: F401
    sphere_means_at,
    sphere_means_in_mask,
    sphere_means_reference,
    sphere_offsets,
    sphere_runs,
)
