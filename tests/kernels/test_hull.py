"""Exact 3D convex hull (Quickhull on integers), hull volume/area, diameter and 2D hull (radiomix.kernels.hull_kernels)
against Qhull (scipy.spatial.ConvexHull) and exact checks of the triangulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import ConvexHull, QhullError
from scipy.spatial.distance import pdist

from radiomix.kernels import hull_kernels as hk

# --- helpers -----------------------------------------------------------------------------------------------------------


def _lowest_duplicates(points, ids):
    """Each index of ``ids`` replaced by the lowest index of a point equal to it."""
    _, first, inv = np.unique(points, axis=0, return_index=True, return_inverse=True)
    return first[np.ravel(inv)[ids]]


def _primitive(normals):
    """Normals divided by the gcd of their components (exact integers): equal rows iff same outward plane direction."""
    g = np.gcd.reduce(np.abs(normals), axis=1)
    return normals // g[:, None]


def _check_exact(points, res):
    """Exact checks of a hull (vertices, triangles, normals) of the integer ``points``; returns the result."""
    p = np.asarray(points, dtype=np.int64)
    vert, tri, nrm = res
    assert vert.dtype == tri.dtype == nrm.dtype == np.int64
    assert tri.ndim == 2 and tri.shape[1] == 3 and nrm.shape == tri.shape
    # vertices: ascending, exactly the points the triangles use
    assert np.all(np.diff(vert) > 0)
    np.testing.assert_array_equal(np.unique(tri), vert)
    # exact outward normals, non-degenerate triangles
    a, b, c = p[tri[:, 0]], p[tri[:, 1]], p[tri[:, 2]]
    np.testing.assert_array_equal(np.cross(b - a, c - a), nrm)
    assert np.all(np.any(nrm != 0, axis=1))
    # every point on the inner side of (or on) every triangle's plane (exact int64: small coordinates here)
    side = nrm @ p.T - np.einsum("ij,ij->i", nrm, a)[:, None]
    assert side.max() <= 0
    # each triangle has some point strictly inside (the hull spans 3D)
    assert np.all(side.min(axis=1) < 0)
    # closed, consistently oriented: every directed edge once, with its reverse once
    e = np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]])
    key = e[:, 0] * (len(p) + 1) + e[:, 1]
    rev = e[:, 1] * (len(p) + 1) + e[:, 0]
    assert len(np.unique(key)) == len(key)
    np.testing.assert_array_equal(np.sort(key), np.sort(rev))
    # Euler's formula
    n_e = len(key) // 2
    assert len(vert) - n_e + len(tri) == 2
    assert len(tri) == 2 * len(vert) - 4
    # only corners: at least three distinct face planes around each vertex
    prim = _primitive(nrm)
    for v in vert:
        planes = {tuple(r) for r in prim[np.any(tri == v, axis=1)]}
        assert len(planes) >= 3, v
    # of equal points, the lowest index
    np.testing.assert_array_equal(_lowest_duplicates(p, vert), vert)
    return res


def _check_against_qhull_or_flat(p):
    """Points Qhull refuses (flat or too few) give None; others the checks of :func:`_check_against_qhull`."""
    try:
        ConvexHull(p.astype(np.float64))
    except QhullError:
        assert hk.convex_hull_3d(p) is None
        return
    _check_against_qhull(p)


def _check_against_qhull(points):
    """The hull of ``points`` (integers) equals Qhull's: vertices (as the lowest index of equal points), volume and
    area; and passes the exact checks. Returns the result."""
    p = np.asarray(points, dtype=np.int64)
    res = hk.convex_hull_3d(p)
    assert res is not None
    _check_exact(p, res)
    hull = ConvexHull(p.astype(np.float64))
    vert, tri, _ = res
    np.testing.assert_array_equal(vert, np.unique(_lowest_duplicates(p, hull.vertices)))
    vol, area = hk.hull_volume_area(p.astype(np.float64), tri)
    assert vol == pytest.approx(hull.volume, rel=1e-12)
    assert area == pytest.approx(hull.area, rel=1e-12)
    return res


# --- random and structured point sets ----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [4, 5, 8, 20, 100, 600, 3000])
@pytest.mark.parametrize("r", [1, 2, 4, 1000])
def test_random_integer_clouds(n, r):
    rng = np.random.default_rng(1000 * n + r)
    for _ in range(12 if n <= 100 else 3):
        p = rng.integers(-r, r + 1, size=(n, 3))
        try:
            ConvexHull(p.astype(np.float64))
        except QhullError:  # flat: Qhull refuses, and so do we
            assert hk.convex_hull_3d(p) is None
            continue
        _check_against_qhull(p)


def test_many_small_clouds_with_duplicates():
    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(4, 40))
        p = rng.integers(0, 3, size=(n, 3))
        p = p[rng.integers(0, n, size=2 * n)]  # duplicates in any order
        _check_against_qhull_or_flat(p)


@pytest.mark.parametrize("shape", [(2, 2, 2), (2, 3, 4), (5, 5, 5), (9, 3, 7)])
def test_box_lattice(shape):
    p = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1).reshape(-1, 3)
    rng = np.random.default_rng(len(p))
    p = p[rng.permutation(len(p))]
    vert, tri, _ = _check_against_qhull(p)
    assert len(vert) == 8 and len(tri) == 12
    assert {tuple(r) for r in p[vert]} == {(x, y, z) for x in (0, shape[0] - 1) for y in (0, shape[1] - 1)
                                           for z in (0, shape[2] - 1)}


@pytest.mark.parametrize("k", [1, 2, 6, 15])
def test_lattice_points_of_a_cube_surface(k):
    g = np.stack(np.meshgrid(*[np.arange(k + 1)] * 3, indexing="ij"), -1).reshape(-1, 3)
    p = g[np.any((g == 0) | (g == k), axis=1)]
    p = p[np.random.default_rng(k).permutation(len(p))]
    vert, _, _ = _check_against_qhull(p)
    assert len(vert) == 8


def test_oblique_lattice():
    """A unimodular image of a box lattice: every facet plane is oblique and full of lattice points."""
    g = np.stack(np.meshgrid(np.arange(6), np.arange(4), np.arange(5), indexing="ij"), -1).reshape(-1, 3)
    m = np.array([[1, 2, 3], [0, 1, 4], [0, 0, 1]]) @ np.array([[1, 0, 0], [5, 1, 0], [-2, 3, 1]])
    p = g @ m.T
    vert, _, _ = _check_against_qhull(p)
    assert len(vert) == 8


def test_points_on_a_few_planes():
    rng = np.random.default_rng(3)
    for _ in range(20):
        pts = []
        for _ in range(int(rng.integers(2, 4))):  # points of a plane n . x = c through lattice points
            n = rng.integers(-3, 4, size=3)
            if not n.any():
                n[0] = 1
            u = np.cross(n, rng.integers(-3, 4, size=3))
            v = np.cross(n, u)
            if not u.any() or not np.cross(u, v).any():
                continue
            s = rng.integers(-5, 6, size=(40, 2))
            pts.append(rng.integers(-5, 6, size=3) + s[:, :1] * u + s[:, 1:] * v)
        if len(pts) < 2:
            continue
        p = np.concatenate(pts)
        _check_against_qhull_or_flat(p)


def test_points_on_a_sphere_all_vertices():
    rng = np.random.default_rng(11)
    p = rng.normal(size=(1500, 3))
    p = np.rint(p / np.linalg.norm(p, axis=1, keepdims=True) * 50000).astype(np.int64)
    vert, _, _ = _check_against_qhull(p)
    assert len(vert) > 1000


def test_large_ball():
    rng = np.random.default_rng(12)
    p = rng.normal(size=(20000, 3))
    p = np.rint(p * 300).astype(np.int64)
    _check_against_qhull(p)


def test_permutation_and_translation_invariance():
    rng = np.random.default_rng(5)
    p = rng.integers(0, 6, size=(400, 3))
    vert, tri, _ = hk.convex_hull_3d(p)
    corners = {tuple(r) for r in p[vert]}
    perm = rng.permutation(len(p))
    vert2, tri2, _ = hk.convex_hull_3d(p[perm] + np.array([1000, -7, 3]))
    assert {tuple(r) for r in p[perm][vert2]} == corners
    vol = hk.hull_volume_area(p.astype(float), tri)
    vol2 = hk.hull_volume_area((p[perm] + np.array([1000, -7, 3])).astype(float), tri2)
    assert vol2 == pytest.approx(vol, rel=1e-13)


# --- marching-cubes meshes (the points the morphology family gives the hull) -------------------------------------------


def _mesh_points(seed, size, spacing):
    from scipy import ndimage

    from radiomix.features.morphology import Shape

    rng = np.random.default_rng(seed)
    mask = ndimage.gaussian_filter(rng.normal(size=size), 1.5) > 0.05
    lab, _ = ndimage.label(mask)
    mask = lab == np.argmax(np.bincount(lab.ravel())[1:]) + 1
    shape = Shape(mask, mask, mask.astype(np.float64), spacing)
    grid = np.rint(2.0 * shape.vertices / np.asarray(spacing)).astype(np.int64)
    return shape, grid


@pytest.mark.parametrize("seed", range(6))
def test_marching_cubes_meshes(seed):
    spacing = [(1.0, 1.0, 1.0), (2.0, 0.7, 0.7), (1.25, 0.9, 3.0)][seed % 3]
    size = [(10, 12, 9), (18, 16, 20), (26, 22, 24)][seed % 3]
    shape, grid = _mesh_points(seed, size, spacing)
    res = _check_against_qhull(grid)
    cand = shape.hull_candidates
    res_c = _check_against_qhull(grid[cand])
    np.testing.assert_array_equal(cand[res_c[0]], _lowest_duplicates(grid, res[0]))
    # the hull in mm: volume and area as Qhull's on the mesh vertices (mm)
    mm = shape.vertices
    hull = ConvexHull(mm[cand])
    vol, area = hk.hull_volume_area(mm, cand[res_c[1]])
    assert vol == pytest.approx(hull.volume, rel=1e-12)
    assert area == pytest.approx(hull.area, rel=1e-12)
    corners = mm[cand[res_c[0]]]
    assert hk.max_pairwise_distance(corners) == pdist(corners).max()
    assert hk.max_pairwise_distance(corners) == pytest.approx(pdist(mm).max(), rel=1e-15)


def test_random_voxel_masks():
    """Scattered voxels (many small components): every corner of every voxel a mesh vertex."""
    from radiomix.features.morphology import Shape

    rng = np.random.default_rng(9)
    for _ in range(5):
        mask = rng.random((7, 8, 6)) < 0.3
        shape = Shape(mask, mask, mask.astype(np.float64), (1.0, 1.0, 1.0))
        _check_against_qhull(np.rint(2.0 * shape.vertices).astype(np.int64))


# --- degenerate input and validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize("points", [
    np.zeros((0, 3)), np.zeros((1, 3)), np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]]),
    np.zeros((10, 3)),  # identical
    np.array([[0, 0, 0], [1, 1, 1], [2, 2, 2], [5, 5, 5], [1, 1, 1]]),  # collinear
    np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [3, 7, 0]]),  # coplanar
])
def test_flat_input_gives_none(points):
    assert hk.convex_hull_3d(points.astype(np.int64)) is None


def test_random_flat_inputs_give_none():
    rng = np.random.default_rng(4)
    for _ in range(50):
        n = int(rng.integers(4, 200))
        s = rng.integers(-9, 10, size=(n, 2))
        u, v = rng.integers(-4, 5, size=3), rng.integers(-4, 5, size=3)
        o = rng.integers(-50, 50, size=3)
        assert hk.convex_hull_3d(o + s[:, :1] * u + s[:, 1:] * v) is None  # coplanar (or collinear)
        assert hk.convex_hull_3d(o + s[:, :1] * u) is None  # collinear


def test_input_validation():
    with pytest.raises(ValueError):
        hk.convex_hull_3d(np.zeros((5, 2), np.int64))
    with pytest.raises(ValueError):
        hk.convex_hull_3d(np.zeros(6, np.int64))
    with pytest.raises(TypeError):
        hk.convex_hull_3d(np.zeros((5, 3)))
    big = np.array([[0, 0, 0], [hk.MAX_RANGE, 0, 0], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(ValueError):
        hk.convex_hull_3d(big)
    ok = big.copy()
    ok[1, 0] = hk.MAX_RANGE - 1
    assert len(hk.convex_hull_3d(ok)[0]) == 4
    p = np.array([[0, 0, 0], [3, 0, 0], [0, 3, 0], [0, 0, 3], [1, 1, 1]])
    for dtype in (np.int8, np.int32, np.uint16, np.uint64):  # any integer type, as int64
        vert, _, _ = hk.convex_hull_3d(p.astype(dtype))
        np.testing.assert_array_equal(vert, [0, 1, 2, 3])
    vert, _, _ = hk.convex_hull_3d(np.asfortranarray(p)[::-1])
    np.testing.assert_array_equal(vert, [1, 2, 3, 4])


def test_tetrahedron_orientation_and_normals():
    p = np.array([[0, 0, 0], [2, 0, 0], [0, 3, 0], [0, 0, 5]])
    _, tri, nrm = _check_against_qhull(p)
    assert len(tri) == 4
    centroid = p.mean(axis=0)
    for t, n in zip(tri, nrm):
        assert np.dot(n, p[t[0]] - centroid) > 0


# --- diameter --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 17, 300])
def test_max_pairwise_distance_is_pdist_max_bit_for_bit(n):
    rng = np.random.default_rng(n)
    for scale in (1e-3, 1.0, 123.456, 1e6):
        p = rng.normal(size=(n, 3)) * scale + rng.normal(size=3) * scale * 10
        assert hk.max_pairwise_distance(p) == pdist(p).max()
        q = np.round(p / scale * 4) * np.array([0.7, 1.1, 2.5])  # grid-like: ties
        assert hk.max_pairwise_distance(q) == pdist(q).max()


def test_max_pairwise_distance_small():
    assert hk.max_pairwise_distance(np.zeros((0, 3))) == 0.0
    assert hk.max_pairwise_distance(np.ones((1, 3))) == 0.0
    assert hk.max_pairwise_distance(np.ones((4, 3))) == 0.0
    assert hk.max_pairwise_distance(np.array([[0.0, 0, 0], [3, 4, 12]])) == 13.0


# --- 2D hull ---------------------------------------------------------------------------------------------------------


def _same_cycle(a, b):
    a, b = list(a), list(b)
    if len(a) != len(b) or not a:
        return a == b
    k = a.index(b[0]) if b[0] in a else -1
    return k >= 0 and a[k:] + a[:k] == b


@pytest.mark.parametrize("seed", range(20))
def test_convex_hull_2d_matches_qhull(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 400))
    xy = rng.normal(size=(n, 2)) * rng.uniform(0.1, 100)
    if seed % 2:  # integer-valued: collinear points on edges, duplicates
        xy = np.round(xy / np.abs(xy).max() * 6)
    try:
        h = ConvexHull(xy)
    except QhullError:
        return
    got = hk.convex_hull_2d(xy)
    assert got.dtype == np.int64
    ref = _lowest_duplicates(xy, h.vertices)
    assert set(got.tolist()) == set(ref.tolist())
    assert _same_cycle(got.tolist(), ref.tolist())
    # counter-clockwise: positive area
    x, y = xy[got, 0], xy[got, 1]
    assert np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) > 0


def test_convex_hull_2d_degenerate():
    assert hk.convex_hull_2d(np.zeros((0, 2))).tolist() == []
    assert hk.convex_hull_2d(np.array([[1.0, 2.0]])).tolist() == [0]
    assert hk.convex_hull_2d(np.array([[1.0, 2.0]] * 5)).tolist() == [0]
    assert hk.convex_hull_2d(np.array([[3.0, 0.0], [1.0, 2.0]])).tolist() == [1, 0]
    line = np.array([[2.0, 2.0], [0.0, 0.0], [1.0, 1.0], [3.0, 3.0], [0.0, 0.0], [-1.0, -1.0]])
    assert sorted(hk.convex_hull_2d(line).tolist()) == [3, 5]
    sq = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0], [1.0, 1.0], [0.0, 1.0], [2.0, 0.0]])
    got = hk.convex_hull_2d(sq).tolist()
    assert got == [0, 2, 3, 4]
    with pytest.raises(ValueError):
        hk.convex_hull_2d(np.zeros((4, 3)))


def test_no_scipy_or_numba_at_import():
    import subprocess
    import sys

    code = ("import sys; import radiomix.kernels.hull_kernels; "
            "print(any(m == 'scipy' or m.startswith(('scipy.', 'numba')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
