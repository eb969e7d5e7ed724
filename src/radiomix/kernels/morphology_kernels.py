"""Hot loops of the morphology and local intensity families (IBSI 3.1, 3.2).

Moran's I / Geary's C live in :mod:`radiomix.kernels.moran_kernels`.

The local means of the intensity peaks live in :mod:`radiomix.kernels.sphere_kernels` (re-exported here).
"""

from __future__ import annotations

import numpy as np

from radiomix.kernels._jit import njit

#: tolerance at which mvee_weights_active grows its active set before converging to the requested one
LOOSE = 1e-3

# --- minimum-volume enclosing ellipsoid ---------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _inverse(x):  # pragma: no cover - compiled
    """Inverse of a small square matrix by Gauss-Jordan elimination with partial pivoting (a singular matrix gives
    infs or NaNs, like LAPACK's on an exactly singular one). Written out rather than ``np.linalg.inv``: numba's
    linear algebra calls SciPy's LAPACK, and importing SciPy would cost a small ROI's process ~0.2 s."""
    n = x.shape[0]
    a = x.copy()
    xi = np.eye(n)
    for c in range(n):
        p = c
        for r in range(c + 1, n):
            if abs(a[r, c]) > abs(a[p, c]):
                p = r
        if p != c:
            for k in range(n):
                t = a[c, k]
                a[c, k] = a[p, k]
                a[p, k] = t
                t = xi[c, k]
                xi[c, k] = xi[p, k]
                xi[p, k] = t
        inv_pivot = 1.0 / a[c, c]
        for k in range(n):
            a[c, k] *= inv_pivot
            xi[c, k] *= inv_pivot
        for r in range(n):
            if r != c:
                f = a[r, c]
                if f != 0.0:
                    for k in range(n):
                        a[r, k] -= f * a[c, k]
                        xi[r, k] -= f * xi[c, k]
    return xi


@njit(cache=True, nogil=True)
def _mvee_m(q, u):  # pragma: no cover - compiled
    n, d1 = q.shape
    x = np.zeros((d1, d1))
    for k in range(n):
        for a in range(d1):
            for b in range(d1):
                x[a, b] += u[k] * q[k, a] * q[k, b]
    xi = _inverse(x)
    m = np.empty(n)
    for k in range(n):
        t = 0.0
        for a in range(d1):
            for b in range(d1):
                t += q[k, a] * xi[a, b] * q[k, b]
        m[k] = t
    return xi, m


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _mvee_loop(q, u, tol, max_iter, refresh):  # pragma: no cover - compiled
    """The loop of :func:`mvee_weights` on the lifted points ``q`` (n, d + 1) from the weights ``u`` (updated in
    place). Returns (m, iterations)."""
    n, d1 = q.shape
    xi, m = _mvee_m(q, u)
    j_up, j_dn = _mvee_extremes(u, m)
    fresh = True
    it = 0
    v = np.empty(d1)
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
        for a in range(d1):
            t = 0.0
            for b in range(d1):
                t += xi[a, b] * q[j, b]
            v[a] = t
        c = step / (1.0 - step)
        den = 1.0 + c * m[j]
        for a in range(d1):
            for b in range(d1):
                xi[a, b] = (xi[a, b] - (c / den) * v[a] * v[b]) / (1.0 - step)
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
    return m, it


@njit(cache=True, nogil=True)
def mvee_weights(p, tol, max_iter, refresh):  # pragma: no cover - compiled
    """Dual weights ``u`` and the final ``m_k = q_k^T X(u)^{-1} q_k`` of Khachiyan's algorithm with the
    Wolfe-Atwood away steps of Todd and Yildirim (2007), for the points ``p`` (n, dim) (centred), from uniform weights.
    ``X(u)^{-1}`` and ``m`` are updated by the Sherman-Morrison formula after each step (O(n d) instead of O(n d^2)
    and a solve) and recomputed from ``u`` every ``refresh`` steps and before each convergence decision that would
    stop the loop. Returns (u, m, iterations)."""
    n, dim = p.shape
    q = np.empty((n, dim + 1))
    q[:, :dim] = p
    q[:, dim] = 1.0
    u = np.full(n, 1.0 / n)
    m, it = _mvee_loop(q, u, tol, max_iter, refresh)
    return u, m, it


@njit(cache=True, nogil=True)
def mvee_weights_active(p, tol, max_iter, refresh):  # pragma: no cover - compiled
    """:func:`mvee_weights` with an active set: the loop runs on a few points only (the extreme points along the 3
    axes, 6 face diagonals and 4 body diagonals, uniform weights to start), and when it has converged there, every
    point with ``m_k > (d + 1)(1 + tol)`` joins the set and the loop goes on from the current weights. The other
    points keep ``u_k = 0``, so the weights returned meet the stopping rule of :func:`mvee_weights` on all points
    (``m`` is recomputed on all of them), but the path, and so the converged weights, differ within ``tol``.
    Returns (u, m, iterations)."""
    n, dim = p.shape
    d1 = dim + 1
    q = np.empty((n, d1))
    q[:, :dim] = p
    q[:, dim] = 1.0
    active = np.zeros(n, np.bool_)
    dirs = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 1, 0], [1.0, -1, 0], [1.0, 0, 1], [1.0, 0, -1],
                     [0, 1.0, 1], [0, 1.0, -1], [1.0, 1, 1], [1.0, 1, -1], [1.0, -1, 1], [1.0, -1, -1]])
    for t in range(dirs.shape[0]):
        i_lo = 0
        i_hi = 0
        v_lo = np.inf
        v_hi = -np.inf
        for k in range(n):
            s = 0.0
            for a in range(min(dim, 3)):
                s += p[k, a] * dirs[t, a]
            if s < v_lo:
                v_lo = s
                i_lo = k
            if s > v_hi:
                v_hi = s
                i_hi = k
        active[i_lo] = True
        active[i_hi] = True
    u_all = np.zeros(n)
    n_act = 0
    for k in range(n):
        if active[k]:
            n_act += 1
    for k in range(n):
        if active[k]:
            u_all[k] = 1.0 / n_act
    total = 0
    loose = max(tol, LOOSE)  # grow the set at a loose tolerance first (few steps per round), then converge
    while True:
        idx = np.flatnonzero(active)
        qa = np.ascontiguousarray(q[idx])
        ua = u_all[idx]
        _, it = _mvee_loop(qa, ua, loose, max_iter - total, refresh)
        total += it
        u_all[idx] = ua
        _, m = _mvee_m(q, u_all)
        grew = False
        for k in range(n):
            if not active[k] and m[k] > d1 * (1.0 + loose):
                active[k] = True
                grew = True
        if total >= max_iter:
            return u_all, m, total
        if not grew:
            if loose == tol:
                return u_all, m, total
            loose = tol


@njit(cache=True, nogil=True)
def mvee_polish(p, u, tol, max_steps):  # pragma: no cover - compiled
    """Newton's method on the support of the weights ``u`` from :func:`mvee_weights_active`: the optimal weights make
    ``m_k = d + 1`` on every support point, with ``sum(u) = 1``. The iteration solves the KKT system of
    ``max log det X(u)`` restricted to the support, ``[[-G o G, -1], [1^T, 0]] [du, lambda] = [-diag(G), 0]`` with
    ``G = Q_s X^-1 Q_s^T``, and converges quadratically from weights that are within ``tol``: the ellipsoid then no
    longer depends on the path Khachiyan's loop took (the order of the points, round-off in their coordinates), only on
    the points. A point whose weight Newton drives to zero or below leaves the support and Newton starts again.
    Returns (u, m, ok); ``ok`` is False (and ``u`` is the input) when Newton does not converge in ``max_steps`` per
    support, the system is singular (more than (d + 1)(d + 2) / 2 support points, where the weights are not unique), or
    the result has a point with ``m_k > (d + 1)(1 + tol)``."""
    n, dim = p.shape
    d1 = dim + 1
    q = np.empty((n, d1))
    q[:, :dim] = p
    q[:, dim] = 1.0
    keep = u > 0
    w = u.copy()
    fail = (u, np.empty(0), False)
    for _ in range(d1 + 1):
        idx = np.flatnonzero(keep)
        k = idx.size
        if k < d1:
            return fail
        qs = np.ascontiguousarray(q[idx])
        us = w[idx] / w[idx].sum()
        converged = False
        dropped = False
        for _ in range(max_steps):
            xi, g = _mvee_m(qs, us)
            gm = np.zeros((k, k))  # Q_s X^-1 Q_s^T, in loops: numba's matrix product would import SciPy's BLAS
            for a in range(k):
                for b in range(d1):
                    t = 0.0
                    for c in range(d1):
                        t += qs[a, c] * xi[c, b]
                    for e in range(k):
                        gm[a, e] += t * qs[e, b]
            worst = 0.0
            for a in range(k):
                worst = max(worst, abs(g[a] - d1))
            if worst <= 1e-13 * d1:
                converged = True
                break
            kkt = np.zeros((k + 1, k + 1))
            for a in range(k):
                for b in range(k):
                    kkt[a, b] = -gm[a, b] * gm[a, b]
                kkt[a, k] = -1.0
                kkt[k, a] = 1.0
            rhs = np.zeros(k + 1)
            rhs[:k] = -g
            ki = _inverse(kkt)
            for a in range(k):
                t = 0.0
                for b in range(k):
                    t += ki[a, b] * rhs[b]
                if not np.isfinite(t):
                    return fail
                us[a] += t
            if np.any(us <= 0):
                for a in range(k):
                    w[idx[a]] = max(us[a], 0.0)
                    if us[a] <= 0:
                        keep[idx[a]] = False
                dropped = True
                break
            us /= us.sum()
        if converged:
            out = np.zeros(n)
            out[idx] = us
            _, m = _mvee_m(q, out)
            if m.max() > d1 * (1.0 + tol):
                return fail
            return out, m, True
        if not dropped:
            return fail
    return fail


# --- mesh volume and area ----------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def mesh_volume_area(v, f):  # pragma: no cover - compiled
    """(sum_f a_f . (b_f x c_f), sum_f |(b_f - a_f) x (c_f - a_f)|) over the triangles ``f`` (m, 3) of the vertices
    ``v`` (n, 3): six times the signed volume and twice the area of a closed mesh. One pass, no corner arrays; both
    sums compensated (Kahan), so they agree with NumPy's pairwise sums to round-off (~1e-16 relative)."""
    vol = 0.0
    vol_c = 0.0
    area = 0.0
    area_c = 0.0
    for t in range(f.shape[0]):
        i = f[t, 0]
        j = f[t, 1]
        k = f[t, 2]
        a0, a1, a2 = v[i, 0], v[i, 1], v[i, 2]
        b0, b1, b2 = v[j, 0], v[j, 1], v[j, 2]
        c0, c1, c2 = v[k, 0], v[k, 1], v[k, 2]
        x = a0 * (b1 * c2 - b2 * c1) + a1 * (b2 * c0 - b0 * c2) + a2 * (b0 * c1 - b1 * c0)
        y = x - vol_c
        z = vol + y
        vol_c = (z - vol) - y
        vol = z
        e0 = b0 - a0
        e1 = b1 - a1
        e2 = b2 - a2
        g0 = c0 - a0
        g1 = c1 - a1
        g2 = c2 - a2
        n0 = e1 * g2 - e2 * g1
        n1 = e2 * g0 - e0 * g2
        n2 = e0 * g1 - e1 * g0
        x = np.sqrt(n0 * n0 + n1 * n1 + n2 * n2)
        y = x - area_c
        z = area + y
        area_c = (z - area) - y
        area = z
    return vol, area


# --- the marching-cubes surface of a binary mask, without the mesh ---------------------------------------------------


@njit(cache=True, nogil=True)
def _padded_box(mask):  # pragma: no cover - compiled
    """The mask's bounding box as uint8, padded with one voxel of zeros on every side; None for an empty mask."""
    nz, ny, nx = mask.shape
    lo = np.array([nz, ny, nx])
    hi = np.array([-1, -1, -1])
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                if mask[z, y, x]:
                    lo[0] = min(lo[0], z)
                    hi[0] = max(hi[0], z)
                    lo[1] = min(lo[1], y)
                    hi[1] = max(hi[1], y)
                    lo[2] = min(lo[2], x)
                    hi[2] = max(hi[2], x)
    if hi[0] < 0:
        return np.zeros((2, 2, 2), np.uint8)
    p = np.zeros((hi[0] - lo[0] + 3, hi[1] - lo[1] + 3, hi[2] - lo[2] + 3), np.uint8)
    for z in range(lo[0], hi[0] + 1):
        for y in range(lo[1], hi[1] + 1):
            for x in range(lo[2], hi[2] + 1):
                if mask[z, y, x]:
                    p[z - lo[0] + 1, y - lo[1] + 1, x - lo[2] + 1] = 1
    return p


@njit(cache=True, nogil=True)
def _cube_config(p, z, y, x):  # pragma: no cover - compiled
    """Corner pattern of the cube with its lowest corner at padded index (z, y, x): bit 4 dz + 2 dy + dx is set where
    the corner (z + dz, y + dy, x + dx) is inside."""
    return (p[z, y, x] | (p[z, y, x + 1] << 1) | (p[z, y + 1, x] << 2) | (p[z, y + 1, x + 1] << 3)
            | (p[z + 1, y, x] << 4) | (p[z + 1, y, x + 1] << 5) | (p[z + 1, y + 1, x] << 6)
            | (p[z + 1, y + 1, x + 1] << 7))


@njit(cache=True, nogil=True)
def _surface_pass(p, centre, out):  # pragma: no cover - compiled
    """Count (``out`` of 0 rows) or write (into ``out``) the surface vertices of the padded box ``p`` in half-voxel units,
    lexicographically. A row of half-voxel positions (hz, hy) holds one kind of vertex only, by the parities of hz and
    hy: x-edge midpoints (even, even), y-edge midpoints (even, odd), z-edge midpoints (odd, even) or cube centres
    (odd, odd; the cubes whose pattern has ``centre`` set). Returns the number of vertices."""
    bz = p.shape[0] - 2
    by = p.shape[1] - 2
    bx = p.shape[2] - 2
    write = out.shape[0] > 0
    k = 0
    for hz in range(-1, 2 * bz):
        for hy in range(-1, 2 * by):
            if hz % 2 == 0 and hy % 2 == 0:  # padded indices: voxel i of the box is i + 1
                z = hz // 2 + 1
                y = hy // 2 + 1
                for x in range(bx + 1):
                    if p[z, y, x] != p[z, y, x + 1]:
                        if write:
                            out[k, 0] = hz
                            out[k, 1] = hy
                            out[k, 2] = 2 * x - 1
                        k += 1
            elif hz % 2 == 0:
                z = hz // 2 + 1
                y = (hy + 1) // 2
                for x in range(1, bx + 1):
                    if p[z, y, x] != p[z, y + 1, x]:
                        if write:
                            out[k, 0] = hz
                            out[k, 1] = hy
                            out[k, 2] = 2 * x - 2
                        k += 1
            elif hy % 2 == 0:
                z = (hz + 1) // 2
                y = hy // 2 + 1
                for x in range(1, bx + 1):
                    if p[z, y, x] != p[z + 1, y, x]:
                        if write:
                            out[k, 0] = hz
                            out[k, 1] = hy
                            out[k, 2] = 2 * x - 2
                        k += 1
            else:
                z = (hz + 1) // 2
                y = (hy + 1) // 2
                for x in range(bx + 1):
                    if centre[_cube_config(p, z, y, x)]:
                        if write:
                            out[k, 0] = hz
                            out[k, 1] = hy
                            out[k, 2] = 2 * x - 1
                        k += 1
    return k


@njit(cache=True, nogil=True)
def surface_cubes(mask, centre):  # pragma: no cover - compiled
    """The marching-cubes surface (level 0.5) of a binary ``mask`` (3D) padded with zeros, as the per-cube quantities
    it is made of, without triangles: (counts, sums, vertices).

    * ``counts[c]``: the number of cubes of corner pattern c (:func:`_cube_config`) over the padded bounding box;
    * ``sums[c]``: the sums of those cubes' lowest-corner indices (z, y, x; the box's first voxel at 0);
    * ``vertices`` (n, 3) int64: the surface's vertices in half-voxel units from the box's first voxel (voxel i at 2i),
      lexicographically: the midpoint of every edge between an inside and an outside voxel, and the centre of every
      cube whose pattern has ``centre[c]`` set (the marching-cubes cases with a vertex inside the cube).

    With the per-pattern triangles (fixed for a binary mask: the triangulation of a cube depends on its corners only)
    these give the mesh's volume and area exactly as its triangles do, and its vertices."""
    p = _padded_box(mask)
    counts = np.zeros(256, np.int64)
    sums = np.zeros((256, 3), np.int64)
    if p.shape[0] == 2:
        return counts, sums, np.zeros((0, 3), np.int64)
    for z in range(p.shape[0] - 1):
        for y in range(p.shape[1] - 1):
            for x in range(p.shape[2] - 1):
                c = _cube_config(p, z, y, x)
                counts[c] += 1
                sums[c, 0] += z - 1
                sums[c, 1] += y - 1
                sums[c, 2] += x - 1
    n = _surface_pass(p, centre, np.zeros((0, 3), np.int64))
    vertices = np.empty((n, 3), np.int64)
    _surface_pass(p, centre, vertices)
    return counts, sums, vertices


# --- convex hull candidates ---------------------------------------------------------------------------------------------


#: line directions (the 3 axes, 6 face diagonals, 4 body diagonals), and for each two integer vectors orthogonal to it
#: that are independent: two points lie on one line along LINE_DIRS[t] iff both dot products agree
LINE_DIRS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, -1, 0], [1, 0, 1], [1, 0, -1], [0, 1, 1],
                      [0, 1, -1], [1, 1, 1], [1, 1, -1], [1, -1, 1], [1, -1, -1]], dtype=np.int64)
LINE_KEYS = np.array([[[0, 1, 0], [0, 0, 1]], [[1, 0, 0], [0, 0, 1]], [[1, 0, 0], [0, 1, 0]],
                      [[1, -1, 0], [0, 0, 1]], [[1, 1, 0], [0, 0, 1]], [[1, 0, -1], [0, 1, 0]],
                      [[1, 0, 1], [0, 1, 0]], [[0, 1, -1], [1, 0, 0]], [[0, 1, 1], [1, 0, 0]],
                      [[1, -1, 0], [0, 1, -1]], [[1, -1, 0], [0, 1, 1]], [[1, 1, 0], [0, 1, 1]],
                      [[1, 1, 0], [0, 1, -1]]], dtype=np.int64)


@njit(cache=True, nogil=True)
def _line_end_points(g, dirs, keys):  # pragma: no cover - compiled
    n = g.shape[0]
    keep = np.ones(n, dtype=np.bool_)
    big = np.iinfo(np.int64).max
    k1 = np.empty(n, np.int64)
    k2 = np.empty(n, np.int64)
    t = np.empty(n, np.int64)
    for ax in range(dirs.shape[0]):
        # only the points still kept: a point strictly between two of them is not an extreme point either
        lo1 = big
        hi1 = -big
        lo2 = big
        hi2 = -big
        for i in range(n):
            if keep[i]:
                k1[i] = keys[ax, 0, 0] * g[i, 0] + keys[ax, 0, 1] * g[i, 1] + keys[ax, 0, 2] * g[i, 2]
                k2[i] = keys[ax, 1, 0] * g[i, 0] + keys[ax, 1, 1] * g[i, 1] + keys[ax, 1, 2] * g[i, 2]
                t[i] = dirs[ax, 0] * g[i, 0] + dirs[ax, 1] * g[i, 1] + dirs[ax, 2] * g[i, 2]
                lo1 = min(lo1, k1[i])
                hi1 = max(hi1, k1[i])
                lo2 = min(lo2, k2[i])
                hi2 = max(hi2, k2[i])
        if lo1 > hi1:
            break
        n2 = hi2 - lo2 + 1
        size = (hi1 - lo1 + 1) * n2
        vmin = np.full(size, big, dtype=np.int64)
        vmax = np.full(size, -big, dtype=np.int64)
        for i in range(n):
            if keep[i]:
                key = (k1[i] - lo1) * n2 + (k2[i] - lo2)
                vmin[key] = min(vmin[key], t[i])
                vmax[key] = max(vmax[key], t[i])
        for i in range(n):
            if keep[i]:
                key = (k1[i] - lo1) * n2 + (k2[i] - lo2)
                if t[i] != vmin[key] and t[i] != vmax[key]:
                    keep[i] = False
    return keep


def line_end_points(grid_points: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the integer points (n, 3) that are an end point of their line along each of the 13
    lattice directions (the axes, face and body diagonals): lowest or highest position among the (kept) points sharing
    that line. Every other point lies between two points of the set on a line, so it is not an extreme point: the
    convex hull of the kept points is the convex hull of all of them."""
    g = np.ascontiguousarray(grid_points, dtype=np.int64)
    if g.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(_line_end_points(g, LINE_DIRS, LINE_KEYS))


# --- oriented minimum bounding box ------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _face_box(f, pts, normals, us, vs, out):  # pragma: no cover - compiled
    """One row of :func:`face_boxes`."""
    n = pts.shape[0]
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
    _rectangle_box(f, x, y, hmax - hmin, _hull2d_filtered(x, y), out)


@njit(cache=True, nogil=True)
def face_boxes(pts, normals, us, vs, out):  # pragma: no cover - compiled
    """For each face normal f (unit, with in-plane unit axes us[f], vs[f]): the box with one axis along the normal and
    the minimum-area rectangle (one side flush with a 2D hull edge; among equal areas the smallest perimeter) of the
    projection of all ``pts`` onto the plane. out[f] = (volume, area, rectangle area, ok); ok = 0 when the
    projection's hull has fewer than 3 vertices (the caller handles those). The plain version of
    :func:`face_boxes_bounded` (which the family uses), kept as its reference in the tests."""
    for f in range(normals.shape[0]):
        _face_box(f, pts, normals, us, vs, out)


@njit(cache=True, nogil=True)
def _rectangle_box(f, x, y, height, hull, out):  # pragma: no cover - compiled
    """out[f] of :func:`face_boxes` from the projection (x, y), its 2D hull and the height along the normal. The
    rotation of each edge is taken without trigonometry: the edge's unit direction turned by a multiple of 90 degrees
    into [0, 90) degrees gives (cos, sin) of the angle ``arctan2 % (pi/2)`` (within an ulp); the hull's points are
    gathered once into contiguous arrays."""
    m = hull.size
    if m < 3:
        out[f, 3] = 0.0
        return
    hx = np.empty(m)
    hy = np.empty(m)
    for t in range(m):
        hx[t] = x[hull[t]]
        hy[t] = y[hull[t]]
    amin = np.inf
    areas = np.empty(m)
    perims = np.empty(m)
    wus = np.empty(m)
    wvs = np.empty(m)
    for e in range(m):
        b = e + 1 if e + 1 < m else 0
        dx = hx[b] - hx[e]
        dy = hy[b] - hy[e]
        r = np.sqrt(dx * dx + dy * dy)
        c0 = dx / r
        s0 = dy / r
        # the angle theta of (dx, dy) in (-pi, pi]; theta mod pi/2 in [0, pi/2): subtract 0, pi/2, pi or -pi/2
        if dy >= 0.0 and dx > 0.0:  # [0, pi/2)
            c = c0
            s = s0
        elif dy > 0.0:  # [pi/2, pi)
            c = s0
            s = -c0
        elif dx < 0.0:  # pi and [-pi, -pi/2)
            c = -c0
            s = -s0
        else:  # [-pi/2, 0)
            c = -s0
            s = c0
        umin = np.inf
        umax = -np.inf
        vmin = np.inf
        vmax = -np.inf
        for t in range(m):
            pu = hx[t] * c + hy[t] * s
            pv = -hx[t] * s + hy[t] * c
            umin = min(umin, pu)
            umax = max(umax, pu)
            vmin = min(vmin, pv)
            vmax = max(vmax, pv)
        wus[e] = umax - umin
        wvs[e] = vmax - vmin
        areas[e] = wus[e] * wvs[e]
        perims[e] = wus[e] + wvs[e]
        amin = min(amin, areas[e])
    best = -1
    for e in range(m):
        if areas[e] <= amin * (1 + 1e-9) and (best < 0 or perims[e] < perims[best]):
            best = e
    rect = wus[best] * wvs[best]
    out[f, 0] = rect * height
    out[f, 1] = 2 * (rect + wus[best] * height + wvs[best] * height)
    out[f, 2] = rect
    out[f, 3] = 1.0


@njit(cache=True, nogil=True)
def face_boxes_bounded(pts, tri, tri_normals, normals, us, vs, best, out):  # pragma: no cover - compiled
    """:func:`face_boxes` (serial) for the vertices ``pts`` of a convex polytope with triangles ``tri`` (indices into
    ``pts``) and their outward unit normals ``tri_normals``, with two savings.

    Silhouette: the 2D hull of a projection along ``n`` is made of silhouette vertices: a vertex all of whose
    triangles face one way (every ``n_t . n > 1e-9``, or every one ``< -1e-9``) projects strictly inside the
    projection of its neighbourhood, so it is dropped before the 2D hull. The kept points keep their order, so the
    hull, and every box it does not skip, is exactly the one of :func:`face_boxes`.

    Bound: skips the normals whose box cannot be the smallest one: the box along a unit normal ``n`` holds at least
    ``height(n) * area of the projection along n`` (the projection of the convex polytope is a convex polygon inside
    the box's rectangle), and that area is ``1/2 sum_t a_t |n_t . n|`` over the triangles (areas ``a_t``, unit
    normals ``n_t``), from the products the silhouette needs anyway. When that bound exceeds ``(1 + 1e-6)`` times the
    smallest volume so far (starting from ``best``, the volume of a box known to enclose ``pts``), the 2D hull and the
    rectangle are skipped and ``out[f, 3] = -1``: such a box is larger than the minimum by more than the 1e-9 within
    which boxes tie, so neither the minimum volume nor the area chosen among the tied boxes change."""
    n_pts = pts.shape[0]
    n_tri = tri.shape[0]
    area = np.empty(n_tri)
    for t in range(n_tri):
        a = tri[t, 0]
        b = tri[t, 1]
        c = tri[t, 2]
        e0 = pts[b, 0] - pts[a, 0]
        e1 = pts[b, 1] - pts[a, 1]
        e2 = pts[b, 2] - pts[a, 2]
        g0 = pts[c, 0] - pts[a, 0]
        g1 = pts[c, 1] - pts[a, 1]
        g2 = pts[c, 2] - pts[a, 2]
        area[t] = 0.5 * np.sqrt((e1 * g2 - e2 * g1) ** 2 + (e2 * g0 - e0 * g2) ** 2 + (e0 * g1 - e1 * g0) ** 2)
    x = np.empty(n_pts)
    y = np.empty(n_pts)
    lo = np.empty(n_pts)
    hi = np.empty(n_pts)
    sub = np.empty(n_pts, np.int64)
    for f in range(normals.shape[0]):
        n0 = normals[f, 0]
        n1 = normals[f, 1]
        n2 = normals[f, 2]
        hmin = np.inf
        hmax = -np.inf
        for i in range(n_pts):
            x[i] = pts[i, 0] * us[f, 0] + pts[i, 1] * us[f, 1] + pts[i, 2] * us[f, 2]
            y[i] = pts[i, 0] * vs[f, 0] + pts[i, 1] * vs[f, 1] + pts[i, 2] * vs[f, 2]
            h = pts[i, 0] * n0 + pts[i, 1] * n1 + pts[i, 2] * n2
            hmin = min(hmin, h)
            hmax = max(hmax, h)
            lo[i] = np.inf
            hi[i] = -np.inf
        projected = 0.0
        for t in range(n_tri):
            d = tri_normals[t, 0] * n0 + tri_normals[t, 1] * n1 + tri_normals[t, 2] * n2
            projected += area[t] * abs(d)
            for c in range(3):
                i = tri[t, c]
                lo[i] = min(lo[i], d)
                hi[i] = max(hi[i], d)
        if (hmax - hmin) * 0.5 * projected > best * (1.0 + 1e-6):
            out[f, 3] = -1.0
            continue
        k = 0
        for i in range(n_pts):
            if lo[i] <= 1e-9 and hi[i] >= -1e-9:
                sub[k] = i
                k += 1
        h2 = _hull2d(x[sub[:k]], y[sub[:k]])
        hull = np.empty(h2.size, np.int64)
        for t in range(h2.size):
            hull[t] = sub[h2[t]]
        _rectangle_box(f, x, y, hmax - hmin, hull, out)
        if out[f, 3] > 0 and out[f, 0] < best:
            best = out[f, 0]


# --- local intensity: moved to kernels.sphere_kernels, names kept here for existing imports ----------------------------
from radiomix.kernels.sphere_kernels import (  # noqa: F401
    sphere_means_at,
    sphere_means_in_mask,
    sphere_means_reference,
    sphere_offsets,
    sphere_runs,
)
