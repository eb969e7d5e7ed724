"""Fast (numba) kernels against plain NumPy references on random inputs."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.features import glcm, statistics
from radiomix.kernels import glcm_kernels, glrlm_kernels, map_kernels
from radiomix.kernels import moran_kernels as mo
from radiomix.kernels import morphology_kernels as mk
from radiomix.kernels.texture_common import DIRECTIONS_3D

RNG = np.random.default_rng(2024)


def _levels(shape, n_levels, fill=0.8, seed=0):
    rng = np.random.default_rng(seed)
    lv = rng.integers(1, n_levels + 1, size=shape).astype(np.int32)
    lv[rng.random(shape) > fill] = 0
    return lv


@pytest.mark.parametrize("seed", range(3))
def test_glcm_counts_match_reference(seed):
    lv = _levels((5, 9, 8), 7, seed=seed)
    fast = glcm_kernels.glcm_counts(lv, DIRECTIONS_3D, 7, 1, True, 0, lv.shape[0], False)[0]
    np.testing.assert_array_equal(fast, glcm_kernels.glcm_counts_reference(lv, DIRECTIONS_3D, 7))


@pytest.mark.parametrize("seed", range(3))
def test_glrlm_counts_match_reference(seed):
    lv = _levels((4, 8, 9), 5, fill=0.9, seed=seed)
    max_run = max(lv.shape)
    fast = glrlm_kernels.glrlm_counts(lv, DIRECTIONS_3D, 5, max_run, 0, lv.shape[0], False)[0]
    np.testing.assert_array_equal(fast, glrlm_kernels.glrlm_counts_reference(lv, DIRECTIONS_3D, 5, max_run))


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.5, 0.75, 0.75), (2.0, 1.3, 0.7)])
def test_inverse_distance_kernel_matches_numpy(spacing):
    shape = (6, 10, 8)
    np.testing.assert_allclose(mo._inverse_distance_kernel(shape, spacing),
                               mo.inverse_distance_kernel_reference(shape, spacing), rtol=1e-14)


def test_pair_sums_fft_matches_direct():
    mask = RNG.random((7, 9, 8)) < 0.5
    d = RNG.normal(size=int(mask.sum()))
    sp = (2.0, 0.8, 0.7)
    coords = np.argwhere(mask) * np.asarray(sp)
    np.testing.assert_allclose(mo.pair_sums_fft(mask, d, sp), mo.pair_sums_direct(coords, d), rtol=1e-9)
    # and the direct sum against the definition in NumPy
    diff = coords[:, None, :] - coords[None, :, :]
    r = np.sqrt((diff ** 2).sum(-1))
    np.fill_diagonal(r, np.inf)
    w = 1.0 / r
    ref = (w.sum(), (w * np.outer(d, d)).sum(), (w * (d[:, None] - d[None, :]) ** 2).sum())
    np.testing.assert_allclose(mo.pair_sums_direct(coords, d), ref, rtol=1e-10)


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.5, 0.75, 0.75), (2.0, 1.0, 1.0)])
@pytest.mark.parametrize("integer", [True, False])
def test_sphere_means_runs_match_reference(spacing, integer):
    img = RNG.normal(0, 300, size=(12, 30, 28))
    if integer:
        img = np.round(img)
    off = mk.sphere_offsets(spacing, 6.2035)
    ref = mk.sphere_means_reference(img, off)
    pts = np.argwhere(np.ones(img.shape, bool))  # many points: the run-based path
    assert len(pts) * len(off) > 4 * img.size
    fast = mk.sphere_means_at(img, pts, off)
    np.testing.assert_allclose(fast, ref[tuple(pts.T)], rtol=1e-12, atol=1e-9)
    few = pts[::97]  # few points: voxel by voxel
    np.testing.assert_allclose(mk.sphere_means_at(img, few, off), ref[tuple(few.T)], rtol=1e-12, atol=1e-9)
    runs = mk.sphere_runs(off)
    assert sum(r[3] - r[2] + 1 for r in runs) == len(off)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 27, 125])
def test_map_statistics_kernel_matches_family(n):
    x = np.round(RNG.normal(20, 30, size=n)) if n % 2 else RNG.normal(20, 30, size=n)
    out = np.empty(map_kernels.N_STATS)
    map_kernels._stats(x.copy(), n, out)
    with np.errstate(all="ignore"):
        ref = [f.func(statistics.Sample.of(x)) for f in statistics.FEATURES]
    np.testing.assert_allclose(out, ref, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_map_glcm_features_match_family(seed):
    rng = np.random.default_rng(seed)
    n_g = 9
    present = np.sort(rng.choice(np.arange(1, n_g + 1), size=rng.integers(1, 6), replace=False))
    k = present.size
    counts = rng.integers(0, 4, size=(k, k)).astype(float)
    counts = counts + counts.T
    if counts.sum() == 0:
        counts[0, 0] = 2
    out = np.empty(map_kernels.N_GLCM)
    assert map_kernels.glcm_features(counts, present.astype(float), n_g, out)
    full = np.zeros((n_g, n_g))
    full[np.ix_(present - 1, present - 1)] = counts
    np.testing.assert_allclose(out, glcm.evaluate(full), rtol=1e-10, atol=1e-12)
    assert not map_kernels.glcm_features(np.zeros((k, k)), present.astype(float), n_g, out)


@pytest.mark.parametrize("shape,spacing", [((7, 9, 8), (2.0, 0.8, 0.7)), ((5, 13, 6), (1.0, 1.0, 1.0)),
                                           ((9, 4, 11), (2.5, 0.75, 0.75))])
def test_pair_sums_parseval_matches_fft_and_direct(shape, spacing):
    mask = RNG.random(shape) < 0.6
    d = RNG.normal(size=int(mask.sum()))
    coords = np.argwhere(mask) * np.asarray(spacing)
    direct = mo.pair_sums_direct(coords, d)
    np.testing.assert_allclose(mo.pair_sums_parseval(mask, d, spacing), direct, rtol=1e-9)
    np.testing.assert_allclose(mo.pair_sums_parseval(mask, d, spacing), mo.pair_sums_fft(mask, d, spacing),
                               rtol=1e-9)


def _mvee_reference(p, tol=1e-7, max_iter=100_000):
    """Plain NumPy Khachiyan / Todd-Yildirim loop (a solve per iteration): semi-axes, descending."""
    p = p - p.mean(axis=0)
    n, dim = p.shape
    q = np.vstack([p.T, np.ones(n)])
    d1 = dim + 1.0
    u = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        m = np.einsum("ij,ij->j", q, np.linalg.solve((q * u) @ q.T, q))
        j_up = int(np.argmax(m))
        pos = np.flatnonzero(u > 0)
        j_dn = int(pos[np.argmin(m[pos])])
        eps_up, eps_dn = m[j_up] / d1 - 1.0, 1.0 - m[j_dn] / d1
        if max(eps_up, eps_dn) <= tol:
            break
        if eps_up >= eps_dn:
            j, step = j_up, (m[j_up] - d1) / (d1 * (m[j_up] - 1.0))
        else:
            j = j_dn
            step = max((m[j] - d1) / (d1 * (m[j] - 1.0)), -u[j] / (1.0 - u[j]))
        u = (1.0 - step) * u
        u[j] += step
        u[u < 0] = 0.0
    c = p.T @ u
    ev = np.linalg.eigvalsh(((p.T * u) @ p - np.outer(c, c)) * dim)
    return np.sqrt(ev * max(1.0, m.max() / d1))[::-1]


@pytest.mark.parametrize("seed", range(4))
def test_mvee_numba_matches_numpy_loop(seed):
    from scipy.spatial import ConvexHull

    from radiomix.features.morphology import _mvee

    rng = np.random.default_rng(seed)
    pts = rng.normal(size=(400, 3)) * np.array([9.0, 5.0, 2.0]) @ np.linalg.qr(rng.normal(size=(3, 3)))[0]
    hull = pts[ConvexHull(pts).vertices]
    np.testing.assert_allclose(_mvee(hull), _mvee_reference(hull), rtol=1e-6)
    # every point lies inside the ellipsoid (volume at least that of the hull)
    assert np.prod(_mvee(hull)) * 4 / 3 * np.pi >= ConvexHull(pts).volume


@pytest.mark.parametrize("seed", range(4))
def test_face_boxes_match_numpy_rectangles(seed):
    """The numba per-face boxes against the Qhull + NumPy rotating-calipers rectangle of the morphology family."""
    from scipy.spatial import ConvexHull

    from radiomix.features.morphology import _min_area_rectangle

    rng = np.random.default_rng(seed)
    pts = rng.normal(size=(300, 3)) * np.array([7.0, 3.0, 1.5])
    if seed % 2:
        pts = np.round(pts)  # grid-like points: collinear hull vertices and ties
    hull = ConvexHull(pts)
    h = pts[hull.vertices]
    nrm = hull.equations[:, :3]
    helper = np.eye(3)[np.argmin(np.abs(nrm), axis=1)]
    u = np.cross(nrm, helper)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.cross(nrm, u)
    out = np.zeros((len(nrm), 4))
    mk.face_boxes(h, np.ascontiguousarray(nrm), u, v, out)
    assert out[:, 3].all()
    for f in range(len(nrm)):
        rect, w1, w2 = _min_area_rectangle(np.column_stack([h @ u[f], h @ v[f]]))
        height = np.ptp(h @ nrm[f])
        np.testing.assert_allclose(out[f, :3], [rect * height, 2 * (rect + (w1 + w2) * height), rect], rtol=1e-9)
