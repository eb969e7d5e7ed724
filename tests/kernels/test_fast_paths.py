"""The faster paths of issue #6 against plain NumPy definitions, on random ROIs including tiny and 2D-ish ones.

Each fast path must give the same numbers as the definition it replaces: exactly where the arithmetic is the same
(integer counts, same summation order), within round-off where the order of summation changed (Moran's I sums).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from radiomix.features import glszm
from radiomix.features.base import RoiData
from radiomix.features.ivh import IntensityVolumeHistogram
from radiomix.features.statistics import percentile_of_sorted, sorted_values
from radiomix.kernels import glcm_kernels, glrlm_kernels
from radiomix.kernels import moran_kernels as mo
from radiomix.kernels import morphology_kernels as mk
from radiomix.kernels import neighbourhood_kernels as nk
from radiomix.kernels import sphere_kernels as sk
from radiomix.kernels.texture_common import DIRECTIONS_2D, DIRECTIONS_3D, bounding_box
from radiomix.kernels.zone_kernels import zone_table
from radiomix.settings import Discretisation, Settings

SHAPES = [(1, 1, 1), (1, 1, 6), (1, 7, 9), (2, 1, 5), (3, 4, 1), (6, 9, 8), (11, 13, 12)]


def _case(shape, n_levels, seed, fill=0.7):
    rng = np.random.default_rng(seed)
    lv = rng.integers(1, n_levels + 1, size=shape).astype(np.int32)
    mask = rng.random(shape) < fill
    if not mask.any():
        mask.flat[rng.integers(mask.size)] = True
    return np.where(mask, lv, 0).astype(np.int32), mask


# --- local intensity ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.5, 0.75, 0.75)])
@pytest.mark.parametrize("integer", [True, False])
def test_sphere_means_in_mask_match_correlate_reference(shape, spacing, integer):
    rng = np.random.default_rng(sum(shape))
    img = rng.normal(0, 300, size=shape)
    if integer:
        img = np.round(img)
    mask = rng.random(shape) < 0.5
    mask.flat[0] = True
    off = sk.sphere_offsets(spacing, 3.1)
    ref = sk.sphere_means_reference(img, off)[mask]
    np.testing.assert_allclose(sk.sphere_means_in_mask(img, mask, off), ref, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("margin", [0, 2, 5])
def test_row_paths_give_the_same_floats_as_the_voxel_run_path(margin):
    """Row-wise kernels (interior rows vectorised, border rows voxel by voxel) against the run kernel: bit for bit."""
    rng = np.random.default_rng(margin)
    img = rng.normal(0, 300, size=(9 + 2 * margin, 14 + 2 * margin, 15 + 2 * margin))
    mask = np.zeros(img.shape, bool)
    inner = tuple(slice(margin, n - margin) for n in img.shape)
    mask[inner] = rng.random(mask[inner].shape) < 0.6
    off = sk.sphere_offsets((2.0, 1.0, 1.0), 4.0)
    pts = np.argwhere(mask)
    cs = sk._row_prefix_sums(img)
    runs = sk.sphere_runs(off)
    by_voxel = sk._sphere_means_runs(cs, pts, runs)
    np.testing.assert_array_equal(sk._sphere_means_rows(cs, pts, runs, sk._row_groups(pts)), by_voxel)
    np.testing.assert_array_equal(sk.sphere_means_in_mask(img, mask, off), by_voxel)


# --- Moran's I / Geary's C -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 1, 2), (1, 6, 7), (5, 1, 6), (4, 5, 1), (7, 9, 8), (3, 17, 4)])
@pytest.mark.parametrize("spacing", [(2.5, 0.75, 0.75), (1.0, 1.0, 1.0)])
def test_pair_sums_parseval_matches_direct_sum_on_thin_rois(shape, spacing):
    rng = np.random.default_rng(shape[1])
    mask = rng.random(shape) < 0.7
    mask.flat[:2] = True
    d = rng.normal(size=int(mask.sum()))
    direct = mo.pair_sums_direct(np.argwhere(mask) * np.asarray(spacing), d)
    np.testing.assert_allclose(mo.pair_sums_parseval(mask, d, spacing), direct, rtol=1e-9, atol=1e-9)
    # blocks of one row at a time and single-threaded transforms give the same sums
    np.testing.assert_allclose(mo.pair_sums_parseval(mask, d, spacing, workers=1, block_bytes=1), direct,
                               rtol=1e-9, atol=1e-9)


def test_pair_sums_parseval_memory_stays_below_twice_the_padded_grid():
    """The padded spectra never exist: the z-transformed fields and one block buffer are all the arrays held (a
    process's first call pays for fresh memory page by page). Measured on the medium phantom's box shape: 1.9x the
    padded grid's float64 bytes; the j-blocked version before it held 3.6x."""
    import tracemalloc

    rng = np.random.default_rng(1)
    mask = np.zeros((18, 60, 61), bool)
    mask[1:17, 3:58, 2:60] = rng.random((16, 55, 58)) < 0.6
    d = rng.normal(size=int(mask.sum()))
    mo.pair_sums_parseval(mask, d, (2.5, 0.75, 0.75), workers=1)
    tracemalloc.start()
    try:
        mo.pair_sums_parseval(mask, d, (2.5, 0.75, 0.75), workers=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    grid_bytes = 8 * int(np.prod([mo._even_fast_len(2 * n - 2) for n in mask.shape]))
    assert peak < 2.2 * grid_bytes


@pytest.mark.parametrize("spacing", [(2.5, 0.75, 0.75), (1.0, 1.0, 1.0)])
def test_pair_sums_parseval_single_precision_moran_and_geary(spacing):
    """Single-precision transforms (large ROIs) keep Moran's I and Geary's C within 1e-6 of the direct sum, on a
    smooth field (strong autocorrelation: the cancellation in Geary's sum is at its worst) and on noise."""
    rng = np.random.default_rng(7)
    shape = (9, 23, 30)
    mask = rng.random(shape) < 0.8
    zz, yy, xx = np.indices(shape)

    def moran_geary(sums, d):
        s_w, s_dd, s_diff = sums
        s_d2, n = float(np.sum(d * d)), d.size
        return n * s_dd / (s_w * s_d2), (n - 1) * s_diff / (2 * s_w * s_d2)

    for field in (np.sin(xx / 5.0) + np.cos(yy / 7.0) + 0.1 * zz, rng.normal(size=shape)):
        d = field[mask] - field[mask].mean()
        direct = moran_geary(mo.pair_sums_direct(np.argwhere(mask) * np.asarray(spacing), d), d)
        single = moran_geary(mo.pair_sums_parseval(mask, d, spacing, single=True), d)
        np.testing.assert_allclose(single, direct, rtol=1e-6)


def test_pair_sums_uses_single_precision_only_on_large_grids(monkeypatch):
    seen = []
    real = mo.pair_sums_parseval
    monkeypatch.setattr(mo, "pair_sums_parseval", lambda *a, **k: seen.append(k["single"]) or real(*a, **k))
    rng = np.random.default_rng(1)
    for n in (20, 82):  # padded grids of 64,000 and 4,410,944 elements
        mask = np.ones((n, n, n), bool)
        mo.pair_sums(mask, rng.normal(size=mask.size), (1.0, 1.0, 1.0))
    assert seen == [False, True]


def test_bounding_box_helpers_match_nonzero():
    rng = np.random.default_rng(3)
    for shape in SHAPES:
        m = rng.random(shape) < 0.3
        m.flat[-1] = True
        idx = np.nonzero(m)
        ref = tuple(slice(int(i.min()), int(i.max()) + 1) for i in idx)
        assert bounding_box(m) == ref


# --- GLCM / GLRLM counts ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("distance", [1, 2])
@pytest.mark.parametrize("symmetric", [True, False])
def test_glcm_counts_match_reference_on_small_and_flat_rois(shape, distance, symmetric):
    lv, _ = _case(shape, 4, seed=distance)
    fast = glcm_kernels.glcm_counts(lv, DIRECTIONS_3D, 4, distance, symmetric, 0, lv.shape[0], False)[0]
    ref = glcm_kernels.glcm_counts_reference(lv, DIRECTIONS_3D, 4, distance, symmetric)
    np.testing.assert_array_equal(fast, ref)
    per_slice = glcm_kernels.glcm_counts(lv, DIRECTIONS_2D, 4, distance, symmetric, 0, lv.shape[0], True)
    for z in range(lv.shape[0]):
        np.testing.assert_array_equal(per_slice[z], glcm_kernels.glcm_counts_reference(
            lv[z:z + 1], DIRECTIONS_2D, 4, distance, symmetric))


@pytest.mark.parametrize("shape", SHAPES)
def test_glrlm_counts_match_reference_on_small_and_flat_rois(shape):
    lv, _ = _case(shape, 3, seed=1, fill=0.85)
    max_run = max(shape)
    fast = glrlm_kernels.glrlm_counts(lv, DIRECTIONS_3D, 3, max_run, 0, lv.shape[0], False)[0]
    np.testing.assert_array_equal(fast, glrlm_kernels.glrlm_counts_reference(lv, DIRECTIONS_3D, 3, max_run))
    # a slice range: runs still follow the whole volume
    z1 = max(1, lv.shape[0] // 2)
    part = glrlm_kernels.glrlm_counts(lv, DIRECTIONS_3D, 3, max_run, 0, z1, True)
    assert part.sum() <= fast.sum()


# --- NGTDM / NGLDM ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("delta", [1, 2])
@pytest.mark.parametrize("planar", [False, True])
def test_neighbourhood_kernels_match_reference_on_small_and_flat_rois(shape, delta, planar):
    lv, mask = _case(shape, 4, seed=delta)
    s, n = nk.ngtdm_arrays(lv, mask, 4, delta, planar=planar)
    s_ref, n_ref = nk.ngtdm_arrays_reference(lv, mask, 4, delta, planar=planar)
    np.testing.assert_allclose(s, s_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(n, n_ref)
    for alpha in (0, 1):
        np.testing.assert_array_equal(nk.ngldm_counts(lv, mask, 4, delta, alpha, planar=planar),
                                      nk.ngldm_counts_reference(lv, mask, 4, delta, alpha, planar=planar))


# --- statistics / IVH ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["float", "integer", "levels", "wide_integer"])
@pytest.mark.parametrize("n", [1, 2, 5, 1023, 1024, 5000])
def test_sorted_values_and_percentiles_equal_numpy(kind, n):
    rng = np.random.default_rng(n)
    x = {"float": rng.normal(0, 100, n), "integer": np.round(rng.normal(-500, 300, n)),
         "levels": rng.integers(1, 7, n).astype(float),
         "wide_integer": np.round(rng.normal(0, 1e7, n))}[kind]
    xs = sorted_values(x)
    np.testing.assert_array_equal(xs, np.sort(x))
    for q in (0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 100.0, 33.3):
        assert percentile_of_sorted(xs, q) == np.percentile(xs, q, method="linear")


def test_ivh_volume_fraction_counts_like_a_sort():
    rng = np.random.default_rng(9)
    for last in (0, 1, 7, 30):
        idx = rng.integers(-3, last + 4, size=200)
        srt = np.sort(idx)
        ref = (srt.size - np.searchsorted(srt, np.arange(last + 1), side="left")) / srt.size
        np.testing.assert_array_equal(IntensityVolumeHistogram(idx, last, 0.0, 1.0).nu, ref)


# --- zone tables shared by the GLSZM and GLDZM ---------------------------------------------------------------------------
def test_zone_table_is_built_once_per_roi_and_thread_safe():
    lv, mask = _case((6, 9, 8), 3, seed=2)
    roi = RoiData(image=lv.astype(float), mask_morph=mask, mask_int=mask, spacing=(1.0, 1.0, 1.0), levels=lv,
                  n_levels=3, settings=Settings(discretisation=Discretisation(method="none")))
    got = []
    threads = [threading.Thread(target=lambda: got.append(glszm.roi_zone_table(roi, False))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(t is got[0] for t in got)
    ref = zone_table(lv, mask, mask).sorted()
    fast = got[0].sorted()
    for col in ("level", "size", "distance", "slice"):
        np.testing.assert_array_equal(getattr(fast, col), getattr(ref, col))
    assert glszm.roi_zone_table(roi, True) is not got[0]


@pytest.mark.parametrize("kind", ["normal", "grid", "collinear", "projected_half_voxels"])
def test_filtered_2d_hull_equals_the_plain_monotone_chain(kind):
    """Dropping the points inside the extreme-point octagon first must not change the hull indices or their order."""
    rng = np.random.default_rng(len(kind))
    for n in (1, 3, 15, 16, 40, 300):
        if kind == "normal":
            x, y = rng.normal(size=n), rng.normal(size=n)
        elif kind == "grid":
            x, y = rng.integers(0, 6, n).astype(float), rng.integers(0, 6, n).astype(float)
        elif kind == "collinear":
            x = rng.normal(size=n)
            y = 2 * x + 1
        else:
            g = rng.integers(0, 20, (n, 3)) * 0.5
            u = rng.normal(size=3)
            u /= np.linalg.norm(u)
            v = np.cross(u, [0.0, 0.0, 1.0])
            v /= np.linalg.norm(v)
            x, y = g @ u, g @ v
        np.testing.assert_array_equal(mk._hull2d_filtered(x, y), mk._hull2d(x, y))


def test_line_end_points_keep_every_hull_vertex():
    from scipy.spatial import ConvexHull

    rng = np.random.default_rng(4)
    g = np.unique(rng.integers(0, 12, size=(400, 3)), axis=0)
    keep = mk.line_end_points(g)
    assert 0 < keep.size < len(g) and np.all(np.diff(keep) > 0)
    full, part = ConvexHull(g), ConvexHull(g[keep])
    assert set(full.vertices) == set(keep[part.vertices])
    assert part.volume == pytest.approx(full.volume, rel=1e-12)
