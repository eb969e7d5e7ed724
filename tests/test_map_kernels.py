"""The voxel-wise map kernel (kernels/map_kernels.voxel_maps) against a plain NumPy reference on random inputs: for
each voxel, the kernel's co-occurrence counts are built with NumPy slicing and evaluated by the GLCM family, and its
intensities by the statistics family. Covers few and many grey levels (the kernel's dense and listed cell paths),
radius 1 and 2, distance 1 and 2, symmetric and asymmetric matrices."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.features import glcm, statistics
from radiomix.kernels import map_kernels as mk
from radiomix.kernels.texture_common import DIRECTIONS_3D


def _counts(lv: np.ndarray, off, n_g: int, symmetric: bool) -> np.ndarray:
    """Co-occurrence counts of the levels ``lv`` (0 = outside) for one offset, by array slicing."""
    src, dst = [], []
    for o, n in zip(off, lv.shape):
        src.append(slice(max(0, -o), n - max(0, o)))
        dst.append(slice(max(0, o), n - max(0, -o)))
    a, b = lv[tuple(src)].ravel(), lv[tuple(dst)].ravel()
    ok = (a > 0) & (b > 0)
    c = np.zeros((n_g, n_g))
    np.add.at(c, (a[ok] - 1, b[ok] - 1), 1.0)
    return c + c.T if symmetric else c


def _reference(img, lv, ins, v, r, offsets, n_g, symmetric):
    sl = tuple(slice(max(c - r, 0), c + r + 1) for c in v)
    k_lv = np.where(ins[sl], lv[sl], 0)
    stats = [f.func(statistics.Sample.of(img[sl][ins[sl]])) for f in statistics.FEATURES]
    mats = [_counts(k_lv, off, n_g, symmetric) for off in offsets]
    rows = [x for x in (glcm.evaluate(m) for m in mats if m.sum() > 0) if x is not None]
    avg = np.nanmean(np.array(rows), axis=0) if rows else np.full(mk.N_GLCM, np.nan)
    merged = glcm.evaluate(sum(mats)) if sum(m.sum() for m in mats) > 0 else None
    return np.array(stats), avg, np.full(mk.N_GLCM, np.nan) if merged is None else merged


@pytest.mark.parametrize("n_g,radius,distance,symmetric", [
    (5, 1, 1, True), (5, 1, 1, False), (40, 1, 1, True), (300, 2, 1, True), (300, 2, 2, False), (3, 2, 2, True),
])
def test_voxel_maps_match_numpy_reference(n_g, radius, distance, symmetric):
    rng = np.random.default_rng(n_g + 10 * radius + distance)
    shape = (6, 8, 7)
    lv = rng.integers(1, n_g + 1, size=shape).astype(np.int32)
    ins = rng.random(shape) < 0.75
    lv[~ins] = 0
    img = lv * 2.5 - 3.0 + rng.normal(scale=0.1, size=shape)
    pts = np.argwhere(ins)
    pad = ((radius, radius),) * 3
    img_p, lv_p, ins_p = np.pad(np.where(ins, img, 0.0), pad), np.pad(lv, pad), np.pad(ins, pad)
    offsets = DIRECTIONS_3D * distance
    cube, pa, pb, ds = mk.cube_pairs(radius, offsets, img_p.shape)
    out = np.full((18 + 50, lv.size), np.nan, np.float32)
    mk.voxel_maps(img_p, lv_p, ins_p, pts.astype(np.int64), radius, cube, pa, pb, ds, n_g, symmetric,
                  np.arange(18), np.arange(18, 43), np.arange(43, 68), out, 3)
    got = out.reshape(68, *shape)
    with np.errstate(all="ignore"):
        for v in pts[:: max(1, len(pts) // 25)]:
            st, avg, mrg = _reference(img, lv, ins, v, radius, offsets, n_g, symmetric)
            at = (slice(None), *v)
            np.testing.assert_allclose(got[at][:18], st, rtol=1e-5, atol=1e-6, err_msg=f"statistics at {v}")
            np.testing.assert_allclose(got[at][18:43], avg, rtol=1e-5, atol=1e-6, err_msg=f"glcm averaged at {v}")
            np.testing.assert_allclose(got[at][43:], mrg, rtol=1e-5, atol=1e-6, err_msg=f"glcm merged at {v}")


def test_unrequested_features_are_left_alone():
    rng = np.random.default_rng(3)
    lv = np.pad(rng.integers(1, 5, size=(4, 4, 4)).astype(np.int32), 1)
    ins = lv > 0
    cube, pa, pb, ds = mk.cube_pairs(1, DIRECTIONS_3D, lv.shape)
    out = np.full((2, 64), -7.0, np.float32)
    none18, none25 = np.full(18, -1), np.full(25, -1)
    contrast = none25.copy()
    contrast[11] = 1
    stat_mean = none18.copy()
    stat_mean[0] = 0
    mk.voxel_maps(lv.astype(float), lv, ins, np.argwhere(ins[1:-1, 1:-1, 1:-1]).astype(np.int64), 1, cube, pa, pb,
                  ds, 4, True, stat_mean, contrast, none25, out, 2)
    assert np.isfinite(out).all() and (out[1] >= 0).all()
    # a kernel's mean lies within its range of intensities 1..4
    assert (out[0] >= 1).all() and (out[0] <= 4).all()


@pytest.mark.parametrize("n", [1, 5, 64, 65, 200])
def test_sort_head_sorts_in_place(n):
    x = np.random.default_rng(n).normal(size=n + 3)
    ref = np.sort(x[:n])
    mk._stats(x, n, np.empty(mk.N_STATS))
    np.testing.assert_array_equal(x[:n], ref)
