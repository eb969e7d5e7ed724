"""Fast morphology kernels (OMBB bounded silhouette boxes, active-set MVEE, 13-direction line end points) against plain
NumPy / reference implementations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import ConvexHull

from radiomix.kernels import morphology_kernels as mk


def _hull_case(seed, grid):
    """(hull points, their triangles, the triangles' normals, and unit normals with in-plane axes u, v: the hull's
    face normals plus the image axes and an oblique frame) of a random point cloud."""
    rng = np.random.default_rng(seed)
    pts = rng.normal(size=(400, 3)) * np.array([7.0, 3.0, 1.5])
    if grid:
        pts = np.round(pts) * np.array([2.5, 0.75, 0.75])  # voxel-like: coplanar facets, collinear points, ties
    hull = ConvexHull(pts)
    h = np.ascontiguousarray(pts[hull.vertices])
    where = np.empty(len(pts), dtype=np.int64)
    where[hull.vertices] = np.arange(len(hull.vertices))
    nrm = hull.equations[:, :3]
    nrm = np.ascontiguousarray(np.vstack([nrm, np.eye(3), np.linalg.qr(np.ones((3, 3)) + np.eye(3))[0]]))
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
    u = np.cross(nrm, np.eye(3)[np.argmin(np.abs(nrm), axis=1)])
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.ascontiguousarray(np.cross(nrm, u))
    return h, np.ascontiguousarray(where[hull.simplices]), np.ascontiguousarray(hull.equations[:, :3]), nrm, u, v


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("grid", [False, True])
@pytest.mark.parametrize("start", [np.inf, "aabb"])
def test_bounded_face_boxes_equal_the_plain_ones_and_skip_only_boxes_that_cannot_be_the_smallest(seed, grid, start):
    h, tri, tn, nrm, u, v = _hull_case(seed, grid)
    ref, got = np.zeros((len(nrm), 4)), np.zeros((len(nrm), 4))
    mk.face_boxes(h, nrm, u, v, ref)
    assert ref[:, 3].all()
    best = float(np.prod(np.ptp(h, axis=0))) if start == "aabb" else np.inf
    mk.face_boxes_bounded(h, tri, tn, nrm, u, v, best, got)
    kept = got[:, 3] != -1
    assert kept[0] or start != np.inf  # from inf, the first face has nothing to beat
    assert (got[kept, 3] == 1).all()
    np.testing.assert_array_equal(got[kept], ref[kept])  # the same 2D hulls (silhouette points only): bit-identical
    vmin = min(ref[:, 0].min(), best)
    assert (ref[~kept, 0] > vmin * (1 + 1e-6)).all()  # skipped boxes are well above the minimum


def _line_end_points_reference(g):
    """Plain NumPy: drop, direction after direction, every point strictly inside its line's range of kept points."""
    keep = np.ones(len(g), dtype=bool)
    for d, k in zip(mk.LINE_DIRS, mk.LINE_KEYS):
        idx = np.flatnonzero(keep)
        key = g[idx] @ k.T
        t = g[idx] @ d
        _, inv = np.unique(key, axis=0, return_inverse=True)
        inv = np.ravel(inv)
        lo = np.full(inv.max() + 1, np.iinfo(np.int64).max)
        hi = np.full(inv.max() + 1, np.iinfo(np.int64).min)
        np.minimum.at(lo, inv, t)
        np.maximum.at(hi, inv, t)
        keep[idx[(t != lo[inv]) & (t != hi[inv])]] = False
    return np.flatnonzero(keep)


@pytest.mark.parametrize("seed", range(4))
def test_line_end_points_match_reference_and_keep_the_hull(seed):
    rng = np.random.default_rng(seed)
    g = np.unique(rng.integers(-6, 7, size=(600, 3)), axis=0)
    g = g[np.linalg.norm(g * [1.0, 1.5, 0.7], axis=1) < 7]
    kept = mk.line_end_points(g)
    np.testing.assert_array_equal(kept, _line_end_points_reference(g))
    assert set(ConvexHull(g).vertices) <= set(kept)
    assert len(kept) < len(g)


@pytest.mark.parametrize("seed", range(4))
def test_active_set_mvee_meets_the_stopping_rule_on_every_point(seed):
    rng = np.random.default_rng(seed)
    pts = rng.normal(size=(500, 3)) * np.array([9.0, 5.0, 2.0]) @ np.linalg.qr(rng.normal(size=(3, 3)))[0]
    p = pts[ConvexHull(pts).vertices]
    p = np.ascontiguousarray(p - p.mean(axis=0))
    tol = 1e-7
    u, m, _ = mk.mvee_weights_active(p, tol, 100_000, 64)
    u_all, m_all, _ = mk.mvee_weights(p, tol, 100_000, 64)
    q = np.column_stack([p, np.ones(len(p))])
    m_ref = np.einsum("ij,ij->i", q, np.linalg.solve((q.T * u) @ q, q.T).T)  # m from the weights, plain NumPy
    np.testing.assert_allclose(m, m_ref, rtol=1e-9)
    assert m.max() / 4 - 1 <= tol and 1 - m[u > 0].min() / 4 <= tol and abs(u.sum() - 1) < 1e-12
    # the same ellipsoid as the all-points loop, within the tolerance
    def axes(w, mm):
        c = p.T @ w
        return np.sqrt(np.linalg.eigvalsh(((p.T * w) @ p - np.outer(c, c)) * 3) * max(1.0, mm.max() / 4))
    np.testing.assert_allclose(axes(u, m), axes(u_all, m_all), rtol=1e-6)


def _axes(p, w):
    c = p.T @ w
    return np.sqrt(np.linalg.eigvalsh(((p.T * w) @ p - np.outer(c, c)) * 3))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("grid", [False, True])
def test_mvee_newton_reaches_the_optimum_of_a_long_loop(seed, grid):
    """Newton on the support from loose weights (1e-5) gives the ellipsoid the all-points loop reaches at 1e-12, and
    its weights meet the optimality conditions: m = d + 1 on the support, m <= d + 1 elsewhere."""
    h = _hull_case(seed, grid)[0]
    p = np.ascontiguousarray(h - h.mean(axis=0))
    u, _, _ = mk.mvee_weights_active(p, 1e-5, 100_000, 64)
    u_opt, m, ok = mk.mvee_polish(p, u, 1e-7, 8)
    assert ok
    u_ref, _, _ = mk.mvee_weights(p, 1e-12, 1_000_000, 64)
    np.testing.assert_allclose(_axes(p, u_opt), _axes(p, u_ref), rtol=1e-10)
    assert abs(u_opt.sum() - 1) < 1e-14 and np.all(u_opt >= 0)
    np.testing.assert_allclose(m[u_opt > 0], 4.0, rtol=1e-12)
    assert m.max() <= 4 * (1 + 1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_mvee_does_not_depend_on_the_points_order_or_their_last_bits(seed):
    """The loop alone stops anywhere within its tolerance, on a path that ties between lattice points steer (the same
    mask from DICOM and NIfTI gave axes 4e-8 apart); with Newton on the support the ellipsoid is the optimum's."""
    from radiomix.features.morphology import _mvee

    h = _hull_case(seed, True)[0]
    perm = np.random.default_rng(seed).permutation(len(h))
    a = _mvee(h)
    b = _mvee(h[perm] * (1 + 2e-16 * (perm % 3))[:, None] + 1e-13)
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_mvee_falls_back_to_the_loop_where_newton_cannot_run(monkeypatch):
    """Fewer than d + 1 support points, or no convergence in the steps allowed: mvee_polish says so and returns its
    input; _mvee then runs the loop to its own tolerance, tries Newton again, and else keeps the loop's ellipsoid."""
    from radiomix.features import morphology as M

    got, m, ok = mk.mvee_polish(np.eye(4, 3), np.array([0.5, 0.5, 0.0, 0.0]), 1e-7, 8)
    assert not ok and m.size == 0
    h = _hull_case(0, True)[0]
    p = np.ascontiguousarray(h - h.mean(axis=0))
    u, _, _ = mk.mvee_weights_active(p, 1e-5, 100_000, 64)
    got, m, ok = mk.mvee_polish(p, u, 1e-7, 0)
    assert not ok and got is u
    exact = M._mvee(h)
    tols = []

    def loop(pts, tol, max_iter, refresh):
        tols.append(tol)
        return mk.mvee_weights_active(pts, tol, max_iter, refresh)

    monkeypatch.setattr(M, "mvee_weights_active", loop)
    monkeypatch.setattr(M, "mvee_polish", lambda pts, w, tol, steps: (w, np.empty(0), False))
    np.testing.assert_allclose(M._mvee(h), exact, rtol=1e-6)
    assert tols == [1e-5, 1e-7]
    # a sphere through the 12 vertices of an icosahedron: uniform weights are optimal (and not unique)
    monkeypatch.undo()
    g = (1 + 5 ** 0.5) / 2
    ico = np.array([[0, s, t * g] for s in (-1, 1) for t in (-1, 1)], dtype=float)
    ico = np.vstack([ico, np.roll(ico, 1, axis=1), np.roll(ico, 2, axis=1)]) / np.sqrt(1 + g * g)
    np.testing.assert_allclose(M._mvee(ico), 1.0, rtol=1e-12)
