"""Exact convex hulls of integer points (3D Quickhull), hull volume and area, diameter, and a 2D hull.

The 3D hull replaces Qhull (``scipy.spatial.ConvexHull``) for the morphology family: importing scipy costs more than
a small ROI's whole extraction. The points are mesh vertices in half-voxel units, so they are integers and every
orientation test is done exactly in int64 arithmetic (no epsilon):

* the plane of a triangle (a, b, c) has the normal :math:`n = (b - a) \\times (c - a)`, and a point p is strictly
  outside it iff :math:`n \\cdot (p - a) > 0`, on it iff :math:`n \\cdot (p - a) = 0`;
* with every coordinate difference below :math:`2^{20}` in magnitude (:data:`MAX_RANGE`, checked by
  :func:`convex_hull_3d_kernel`), :math:`|n_i| < 2 \\cdot 2^{40}` and each term :math:`|n_i d_i| < 2^{61}`, so the sum of
  three stays below :math:`3 \\cdot 2^{61} < 2^{63}`: no intermediate result overflows.

Quickhull (Barber, Dobkin & Huhdanpaa 1996): an initial tetrahedron (:func:`_initial_simplex`); each face keeps the points
strictly outside it (its *outside set*, a linked list) and the furthest of them; a face with a non-empty outside set
is taken from a stack, its furthest point p becomes a vertex: the faces strictly visible from p (breadth-first over
the face adjacency from that face) are removed, their boundary (the *horizon*, a simple cycle) is joined to p by a
cone of new faces, and the removed faces' outside points are handed to the first new face they are strictly outside
of (a point outside no new face is inside the new hull and is dropped).

Strict tests leave a flat hull facet triangulated, and a point added early can end up in the middle of a facet or of
an edge of the final hull. Such a vertex is found exactly afterwards (a corner of a 3-polytope touches at least three
facets; a point inside a facet touches one, inside an edge two: the planes of the triangles around each vertex are
counted, two triangles being in one plane iff the three corners of one lie on the plane of the other), and the hull
is then computed again from the corners only, so that the result has only extreme points as vertices.
"""

from __future__ import annotations

import math

import numpy as np

from radiomix.kernels._jit import njit
from radiomix.kernels.morphology_kernels import mesh_volume_area

#: coordinates along each axis must span less than this (exact int64 orientation tests; see the module docstring)
MAX_RANGE = 2**20

# --- 3D Quickhull -------------------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True, fastmath=True)
def _lex_less(x, i, j, a0, a1, a2):  # pragma: no cover - compiled
    """Whether row i of ``x`` is lexicographically smaller than row j in the axis order (a0, a1, a2)."""
    if x[i, a0] != x[j, a0]:
        return x[i, a0] < x[j, a0]
    if x[i, a1] != x[j, a1]:
        return x[i, a1] < x[j, a1]
    return x[i, a2] < x[j, a2]


@njit(cache=True, nogil=True, fastmath=True)
def _initial_simplex(x):  # pragma: no cover - compiled
    """(a, b, c, d): four points of ``x`` (m >= 4, 3) spanning a tetrahedron with d strictly below the plane of
    (a, b, c) oriented by (b - a) x (c - a); (-1, -1, -1, -1) if the points do not span 3D. The lexicographic minimum
    and maximum in three axis orders are corners of the hull: a, b the two furthest apart; c the point furthest from
    their line, d the point furthest from the plane of the three (ties: the lowest index)."""
    m = x.shape[0]
    ext = np.empty(6, np.int64)
    for ax in range(3):
        a1 = (ax + 1) % 3
        a2 = (ax + 2) % 3
        lo = 0
        hi = 0
        for j in range(1, m):
            if _lex_less(x, j, lo, ax, a1, a2):
                lo = j
            if _lex_less(x, hi, j, ax, a1, a2):
                hi = j
        ext[2 * ax] = lo
        ext[2 * ax + 1] = hi
    ia = ext[0]
    ib = ext[1]
    best = -1
    for s in range(6):
        for t in range(s + 1, 6):
            d0 = x[ext[s], 0] - x[ext[t], 0]
            d1 = x[ext[s], 1] - x[ext[t], 1]
            d2 = x[ext[s], 2] - x[ext[t], 2]
            dd = d0 * d0 + d1 * d1 + d2 * d2
            if dd > best:
                best = dd
                ia = min(ext[s], ext[t])
                ib = max(ext[s], ext[t])
    if best == 0:
        return -1, -1, -1, -1
    e0 = x[ib, 0] - x[ia, 0]
    e1 = x[ib, 1] - x[ia, 1]
    e2 = x[ib, 2] - x[ia, 2]
    ic = -1
    bestf = 0.0
    for j in range(m):  # |e x (p - a)|^2 in float64: each component is exact, the sum only ranks the points
        g0 = x[j, 0] - x[ia, 0]
        g1 = x[j, 1] - x[ia, 1]
        g2 = x[j, 2] - x[ia, 2]
        c0 = float(e1 * g2 - e2 * g1)
        c1 = float(e2 * g0 - e0 * g2)
        c2 = float(e0 * g1 - e1 * g0)
        q = c0 * c0 + c1 * c1 + c2 * c2
        if q > bestf:
            bestf = q
            ic = j
    if ic < 0:
        return -1, -1, -1, -1  # collinear (a nonzero exact component gives a nonzero float sum)
    g0 = x[ic, 0] - x[ia, 0]
    g1 = x[ic, 1] - x[ia, 1]
    g2 = x[ic, 2] - x[ia, 2]
    n0 = e1 * g2 - e2 * g1
    n1 = e2 * g0 - e0 * g2
    n2 = e0 * g1 - e1 * g0
    idd = -1
    bestd = 0
    sgn = 0
    for j in range(m):
        d = n0 * (x[j, 0] - x[ia, 0]) + n1 * (x[j, 1] - x[ia, 1]) + n2 * (x[j, 2] - x[ia, 2])
        ad = d if d >= 0 else -d
        if ad > bestd:
            bestd = ad
            idd = j
            sgn = d
    if idd < 0:
        return -1, -1, -1, -1  # coplanar
    if sgn > 0:  # d above the plane of (a, b, c): swap b and c so that d is below, the faces then face outwards
        ib, ic = ic, ib
    return ia, ib, ic, idd


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _new_face(x, g, u, v, w, fv, fn, alive, head, far, fard, seen):  # pragma: no cover - compiled
    """Slot ``g`` becomes the live face (u, v, w) with the exact normal (v - u) x (w - u) and no outside points."""
    fv[g, 0] = u
    fv[g, 1] = v
    fv[g, 2] = w
    p0 = x[v, 0] - x[u, 0]
    p1 = x[v, 1] - x[u, 1]
    p2 = x[v, 2] - x[u, 2]
    q0 = x[w, 0] - x[u, 0]
    q1 = x[w, 1] - x[u, 1]
    q2 = x[w, 2] - x[u, 2]
    fn[g, 0] = p1 * q2 - p2 * q1
    fn[g, 1] = p2 * q0 - p0 * q2
    fn[g, 2] = p0 * q1 - p1 * q0
    alive[g] = True
    head[g] = -1
    far[g] = -1
    fard[g] = 0
    seen[g] = 0


@njit(cache=True, nogil=True, fastmath=True)
def _quickhull(x, idx, tri_out, nrm_out):  # pragma: no cover - compiled
    """Quickhull of the integer points ``x`` (m, 3), which are the points ``idx`` (ascending) of the caller's; fills
    ``tri_out`` (point indices ``idx[j]``, each triangle counter-clockwise seen from outside) and ``nrm_out`` (the
    outward normals (b - a) x (c - a), exact) and returns the number of triangles, or 0 if the points do not span 3D.

    Among equal points the lowest index is the one that can become a vertex (every choice of a point breaks ties
    towards the lowest index, and equal points always share an outside set).

    Storage, for m points: the hull with k <= m vertices has exactly 2k - 4 triangles; the faces of one step are
    freed before the new ones are made (slots are reused), so at most 2m - 4 faces are alive and the face arrays hold
    2m + 4. The horizon and the new cone have at most m edges / faces, the visible set at most the live faces.
    """
    m = x.shape[0]
    if m < 4:
        return 0
    ia, ib, ic, idd = _initial_simplex(x)
    if ia < 0:
        return 0
    cap = 2 * m + 4
    fv = np.empty((cap, 3), np.int64)  # vertices (local indices), counter-clockwise from outside
    fn = np.empty((cap, 3), np.int64)  # outward normal (b - a) x (c - a)
    nb = np.empty((cap, 3), np.int64)  # neighbour across edge e: (fv[e], fv[(e + 1) % 3])
    # per slot, set when the slot is first used (only slots below hw are ever read)
    alive = np.empty(cap, np.bool_)
    head = np.empty(cap, np.int64)  # outside set: first point, then nxt[point]
    far = np.empty(cap, np.int64)  # furthest outside point and its n . (p - a)
    fard = np.empty(cap, np.int64)
    inq = np.empty(cap, np.bool_)  # slot on the stack of faces to process (a freed slot may still be)
    seen = np.empty(cap, np.int64)  # step at which the face was found visible (> 0) or not visible (< 0)
    free = np.empty(cap, np.int64)
    stack = np.empty(cap, np.int64)
    nxt = np.empty(m, np.int64)  # set when a point joins an outside set
    nfree = 0
    hw = 0
    nstack = 0

    fv[0, 0], fv[0, 1], fv[0, 2] = ia, ib, ic
    fv[1, 0], fv[1, 1], fv[1, 2] = ia, idd, ib
    fv[2, 0], fv[2, 1], fv[2, 2] = ib, idd, ic
    fv[3, 0], fv[3, 1], fv[3, 2] = ic, idd, ia
    hw = 4
    for f in range(4):
        _new_face(x, f, fv[f, 0], fv[f, 1], fv[f, 2], fv, fn, alive, head, far, fard, seen)
        inq[f] = False
    for f in range(4):
        for e in range(3):
            u = fv[f, e]
            v = fv[f, (e + 1) % 3]
            for g in range(4):
                for k in range(3):
                    if fv[g, k] == v and fv[g, (k + 1) % 3] == u:
                        nb[f, e] = g
    for j in range(m):
        if j == ia or j == ib or j == ic or j == idd:
            continue
        for f in range(4):
            a = fv[f, 0]
            d = fn[f, 0] * (x[j, 0] - x[a, 0]) + fn[f, 1] * (x[j, 1] - x[a, 1]) + fn[f, 2] * (x[j, 2] - x[a, 2])
            if d > 0:
                nxt[j] = head[f]
                head[f] = j
                if d > fard[f] or (d == fard[f] and j < far[f]):
                    fard[f] = d
                    far[f] = j
                break
    for f in range(4):
        if head[f] >= 0:
            stack[nstack] = f
            nstack += 1
            inq[f] = True

    vis = np.empty(cap, np.int64)
    hu = np.empty(m + 1, np.int64)  # horizon edges hu -> hv of visible faces, hg the face beyond
    hv = np.empty(m + 1, np.int64)
    hg = np.empty(m + 1, np.int64)
    newf = np.empty(m + 1, np.int64)
    start_of = np.empty(m, np.int64)  # new face whose horizon edge starts / ends at a vertex
    end_of = np.empty(m, np.int64)
    buf = np.empty(m, np.int64)
    step = 0
    while nstack > 0:
        nstack -= 1
        f0 = stack[nstack]
        inq[f0] = False
        if not alive[f0] or head[f0] < 0:
            continue
        step += 1
        p = far[f0]
        px = x[p, 0]
        py = x[p, 1]
        pz = x[p, 2]
        # faces strictly visible from p: a connected set, its boundary the horizon
        vis[0] = f0
        nvis = 1
        seen[f0] = step
        nh = 0
        k = 0
        while k < nvis:
            g = vis[k]
            k += 1
            for e in range(3):
                h = nb[g, e]
                s = seen[h]
                if s == step:
                    continue
                if s != -step:
                    a = fv[h, 0]
                    d = fn[h, 0] * (px - x[a, 0]) + fn[h, 1] * (py - x[a, 1]) + fn[h, 2] * (pz - x[a, 2])
                    if d > 0:
                        seen[h] = step
                        vis[nvis] = h
                        nvis += 1
                        continue
                    seen[h] = -step
                hu[nh] = fv[g, e]
                hv[nh] = fv[g, (e + 1) % 3]
                hg[nh] = h
                nh += 1
        # the visible faces' outside points (but p), then their slots are free
        npts = 0
        for t in range(nvis):
            g = vis[t]
            q = head[g]
            while q >= 0:
                if q != p:
                    buf[npts] = q
                    npts += 1
                q = nxt[q]
            alive[g] = False
            free[nfree] = g
            nfree += 1
        # the cone: face (u, v, p) over each horizon edge u -> v keeps the orientation of the removed face
        for t in range(nh):
            if nfree > 0:
                nfree -= 1
                g = free[nfree]
            else:
                g = hw
                hw += 1
                inq[g] = False
            u = hu[t]
            v = hv[t]
            _new_face(x, g, u, v, p, fv, fn, alive, head, far, fard, seen)
            h = hg[t]
            nb[g, 0] = h
            for e in range(3):
                if fv[h, e] == v and fv[h, (e + 1) % 3] == u:
                    nb[h, e] = g
            start_of[u] = g
            end_of[v] = g
            newf[t] = g
        for t in range(nh):
            g = newf[t]
            nb[g, 1] = start_of[hv[t]]  # edge v -> p: the new face starting at v has p -> v
            nb[g, 2] = end_of[hu[t]]  # edge p -> u: the new face ending at u has u -> p
        # outside points of the removed faces: to the first new face they are strictly outside of (all new faces
        # pass through p, so p is the point of reference)
        for r in range(npts):
            q = buf[r]
            d0 = x[q, 0] - px
            d1 = x[q, 1] - py
            d2 = x[q, 2] - pz
            for t in range(nh):
                g = newf[t]
                d = fn[g, 0] * d0 + fn[g, 1] * d1 + fn[g, 2] * d2
                if d > 0:
                    nxt[q] = head[g]
                    head[g] = q
                    if d > fard[g] or (d == fard[g] and q < far[g]):
                        fard[g] = d
                        far[g] = q
                    break
        for t in range(nh):
            g = newf[t]
            if head[g] >= 0 and not inq[g]:
                stack[nstack] = g
                nstack += 1
                inq[g] = True

    nt = 0
    for g in range(hw):
        if alive[g]:
            for c in range(3):
                tri_out[nt, c] = idx[fv[g, c]]
                nrm_out[nt, c] = fn[g, c]
            nt += 1
    return nt


@njit(cache=True, nogil=True, fastmath=True)
def _corner_flags(pts, tri, nrm, nt):  # pragma: no cover - compiled
    """Flags (n,) of the points that are corners of the hull given by the first ``nt`` triangles ``tri`` (outward
    normals ``nrm``): a vertex is a corner iff the triangles around it lie in at least three distinct planes. Triangle
    t lies in the plane of triangle s iff :math:`n_s \\cdot (t_k - s_0) = 0` for its three corners (exact); both are
    faces of one convex body, so a common plane has a common outward side."""
    n = pts.shape[0]
    corner = np.zeros(n, np.bool_)
    f1 = np.full(n, -1, np.int64)
    f2 = np.full(n, -1, np.int64)
    for t in range(nt):
        for k in range(3):
            v = tri[t, k]
            if corner[v]:
                continue
            done = False
            for slot in range(2):
                s = f1[v] if slot == 0 else f2[v]
                if s < 0:
                    if slot == 0:
                        f1[v] = t
                    else:
                        f2[v] = t
                    done = True
                    break
                a = tri[s, 0]
                same = True
                for c in range(3):
                    b = tri[t, c]
                    d = (nrm[s, 0] * (pts[b, 0] - pts[a, 0]) + nrm[s, 1] * (pts[b, 1] - pts[a, 1])
                         + nrm[s, 2] * (pts[b, 2] - pts[a, 2]))
                    if d != 0:
                        same = False
                        break
                if same:
                    done = True
                    break
            if not done:
                corner[v] = True
    return corner


@njit(cache=True, nogil=True, fastmath=True)
def convex_hull_3d_kernel(pts, vert_out, tri_out, nrm_out):  # pragma: no cover - compiled
    """Convex hull of the integer points ``pts`` (n, 3) (coordinate ranges below :data:`MAX_RANGE`) with only the
    corners (extreme points) as vertices. Fills ``vert_out`` (n,) with the vertices (ascending indices),
    ``tri_out`` and ``nrm_out`` (at least (max(2n - 4, 4), 3): a hull of k vertices has 2k - 4 triangles) with the
    triangles (counter-clockwise from outside) and their outward normals (b - a) x (c - a). Returns
    [number of vertices, number of triangles]; [0, 0] when the points do not span 3D, [-1, 0] when a coordinate
    range is MAX_RANGE or more (nothing filled).

    Quickhull on all points; when some vertex is not a corner (:func:`_corner_flags`), Quickhull again on the corners
    only (all of which are vertices of the first hull, as an extreme point is never dropped)."""
    n = pts.shape[0]
    counts = np.zeros(2, np.int64)
    if n == 0:
        return counts
    for c in range(3):  # exactness of the int64 tests: every coordinate difference below MAX_RANGE
        lo = pts[0, c]
        hi = pts[0, c]
        for i in range(1, n):
            lo = min(lo, pts[i, c])
            hi = max(hi, pts[i, c])
        if hi - lo >= MAX_RANGE or hi - lo < 0:
            counts[0] = -1
            return counts
    idx = np.arange(n)
    nt = _quickhull(pts, idx, tri_out, nrm_out)  # pts[idx] is pts
    if nt == 0:
        return counts
    corner = _corner_flags(pts, tri_out, nrm_out, nt)
    used = np.zeros(n, np.bool_)
    for t in range(nt):
        for k in range(3):
            used[tri_out[t, k]] = True
    nv = 0
    nc = 0
    for i in range(n):
        if used[i]:
            nv += 1
            if corner[i]:
                nc += 1
    if nc < nv:
        sub = np.empty(nc, np.int64)
        j = 0
        for i in range(n):
            if used[i] and corner[i]:
                sub[j] = i
                j += 1
        x = np.empty((nc, 3), np.int64)
        for j in range(nc):
            for c in range(3):
                x[j, c] = pts[sub[j], c]
        nt = _quickhull(x, sub, tri_out, nrm_out)
        for i in range(n):
            used[i] = False
        for t in range(nt):
            for k in range(3):
                used[tri_out[t, k]] = True
    nv = 0
    for i in range(n):
        if used[i]:
            vert_out[nv] = i
            nv += 1
    counts[0] = nv
    counts[1] = nt
    return counts


def convex_hull_3d(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Exact convex hull of integer points (n, 3) (here: mesh vertices in half-voxel units).

    Returns (vertices, triangles, normals), or None if the points do not span 3D (n < 4, all coplanar or collinear):

    * vertices: int64 (k,), ascending indices of the hull's corners (extreme points) only: a point inside a facet or
      an edge of the hull is not a vertex, and of equal extreme points the lowest index is;
    * triangles: int64 (m, 3) = (2k - 4, 3), indices into ``points`` (each one of ``vertices``), a triangulation of
      the hull's surface, each triangle non-degenerate and counter-clockwise seen from outside;
    * normals: int64 (m, 3), the outward normal :math:`(b - a) \\times (c - a)` of each triangle (exact, not unit).

    Every test is exact int64 arithmetic; the coordinates must span less than :data:`MAX_RANGE` along each axis.
    """
    p = np.asarray(points)
    if p.ndim != 2 or p.shape[1] != 3:
        raise ValueError(f"points must have shape (n, 3), got {p.shape}")
    if not np.issubdtype(p.dtype, np.integer):
        raise TypeError(f"points must be integers, got {p.dtype}")
    n = p.shape[0]
    if n < 4:
        return None
    if p.dtype == np.uint64 and int(p.max()) >= 2**63:  # would wrap in int64
        raise ValueError("coordinates must be int64 values")
    p = np.ascontiguousarray(p, dtype=np.int64)
    cap = max(2 * n - 4, 4)
    vert = np.empty(n, np.int64)
    tri = np.empty((cap, 3), np.int64)
    nrm = np.empty((cap, 3), np.int64)
    nv, nt = convex_hull_3d_kernel(p, vert, tri, nrm)
    if nv < 0:
        raise ValueError("coordinates must span less than 2**20 along each axis")
    if nt == 0:
        return None
    return vert[:nv].copy(), tri[:nt].copy(), nrm[:nt].copy()


# --- volume, area, diameter ---------------------------------------------------------------------------------------------


def hull_volume_area(points_mm: np.ndarray, triangles: np.ndarray) -> tuple[float, float]:
    """(volume, area) of the closed surface ``triangles`` (m, 3), counter-clockwise from outside, over ``points_mm``
    (n, 3): :math:`V = \\frac{1}{6}\\sum_f a_f \\cdot (b_f \\times c_f)`,
    :math:`A = \\frac{1}{2}\\sum_f |(b_f - a_f) \\times (c_f - a_f)|` (the mesh's own one-pass kernel,
    :func:`radiomix.kernels.morphology_kernels.mesh_volume_area`)."""
    six_v, two_a = mesh_volume_area(np.ascontiguousarray(points_mm, dtype=np.float64),
                                     np.ascontiguousarray(triangles, dtype=np.int64))
    return float(six_v / 6.0), float(0.5 * two_a)


@njit(cache=True, nogil=True)
def _max_sq_distance(p):  # pragma: no cover - compiled
    """:math:`\\max_{i < j} (p_{i0} - p_{j0})^2 + (p_{i1} - p_{j1})^2 + (p_{i2} - p_{j2})^2`, summed in that order
    (as ``scipy.spatial.distance.pdist`` does; no fastmath: a fused multiply-add would round differently); 0 for
    fewer than two rows. Its square root is the largest distance, bit for bit (sqrt is correctly rounded and
    monotone)."""
    n = p.shape[0]
    best = 0.0
    for i in range(n):
        x0 = p[i, 0]
        x1 = p[i, 1]
        x2 = p[i, 2]
        for j in range(i + 1, n):
            d0 = x0 - p[j, 0]
            d1 = x1 - p[j, 1]
            d2 = x2 - p[j, 2]
            s = d0 * d0 + d1 * d1 + d2 * d2
            best = max(best, s)
    return best


def max_pairwise_distance(points_mm: np.ndarray) -> float:
    """Largest Euclidean distance between two rows of ``points_mm`` (n, 3) (equal to
    ``scipy.spatial.distance.pdist(points_mm).max()``); 0.0 for fewer than two rows. O(n^2): meant for hull
    vertices."""
    p = np.ascontiguousarray(points_mm, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3:
        raise ValueError(f"points must have shape (n, 3), got {p.shape}")
    if p.shape[0] < 2:
        return 0.0
    return math.sqrt(_max_sq_distance(p))


# --- 2D hull (Andrew's monotone chain) ---------------------------------------------------------------------------------


def convex_hull_2d(xy: np.ndarray) -> np.ndarray:
    """Indices (int64) of the vertices of the convex hull of the 2D points ``xy`` (n, 2), counter-clockwise from the
    lexicographically smallest (x, then y). Andrew's monotone chain over the distinct points (of equal points, the
    lowest index), in floating point: a point is kept on a chain only where the turn
    :math:`(b - a) \\times (c - a)` is strictly to the left, so points on an edge are not vertices. Fewer than three
    distinct points, or all collinear: the distinct extreme points (one or two)."""
    p = np.asarray(xy, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {p.shape}")
    if p.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    uniq, first = np.unique(p, axis=0, return_index=True)  # sorted by x, then y
    if len(uniq) <= 2:
        return first.astype(np.int64)
    xs = uniq[:, 0].tolist()
    ys = uniq[:, 1].tolist()

    def chain(order):
        out: list[int] = []
        for i in order:
            while len(out) >= 2:
                a, b = out[-2], out[-1]
                if (xs[b] - xs[a]) * (ys[i] - ys[a]) - (ys[b] - ys[a]) * (xs[i] - xs[a]) > 0:
                    break
                out.pop()
            out.append(i)
        return out

    k = len(uniq)
    lower = chain(range(k))
    upper = chain(range(k - 1, -1, -1))
    ring = lower[:-1] + upper[:-1]
    if len(ring) < 3:  # all collinear: the two ends
        ring = [0, k - 1]
    return first[np.asarray(ring, dtype=np.int64)].astype(np.int64)
