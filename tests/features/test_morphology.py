"""Morphology family (IBSI 3.1): exact shapes, kernels against plain NumPy references, and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import pdist, squareform
from scipy.special import eval_legendre

from radiomix.features import morphology as M
from radiomix.features.base import RoiData
from radiomix.kernels.moran_kernels import pair_sums_direct, pair_sums_fft
from radiomix.settings import preset

SETTINGS = preset("ibsi_dig")


def _roi(mask, image=None, spacing=(1.0, 1.0, 1.0), mask_int=None) -> RoiData:
    mask = np.asarray(mask, dtype=bool)
    image = np.ones(mask.shape) if image is None else np.asarray(image, dtype=np.float64)
    mask_int = mask if mask_int is None else np.asarray(mask_int, dtype=bool)
    levels = np.where(mask_int, 1, 0)
    return RoiData(image=image, mask_morph=mask, mask_int=mask_int, spacing=spacing, levels=levels, n_levels=1,
                   settings=SETTINGS)


def _values(roi) -> dict[str, float]:
    return {name: v for name, _, v in M.compute(roi)}


# --- registry ----------------------------------------------------------------------------------------------------------


def test_registry_and_output_names():
    assert M.FAMILY.ibsi == "HCUG"
    names = [f.name for f in M.FEATURES]
    assert len(names) == len(set(names)) == 29
    ids = [f.ibsi for f in M.FEATURES]
    assert len(set(ids)) == 29 and all(len(i) == 4 for i in ids)
    assert all(f.func.__doc__ and f.ibsi in f.func.__doc__ for f in M.FEATURES)
    out = M.compute(_roi(np.ones((2, 3, 4))))
    assert [n for n, _, _ in out] == names and all(agg == "" for _, agg, _ in out)


# --- exact shapes ------------------------------------------------------------------------------------------------------


def test_single_voxel_is_an_octahedron_and_degenerate_features_are_nan():
    sz, sy, sx = 3.0, 1.0, 2.0
    v = _values(_roi(np.ones((1, 1, 1)), np.full((1, 1, 1), 5.0), spacing=(sz, sy, sx)))
    a, b, c = sz / 2, sy / 2, sx / 2  # vertices at the 6 face midpoints
    assert v["volume_mesh"] == pytest.approx(4 * a * b * c / 3)
    assert v["surface_area_mesh"] == pytest.approx(8 * 0.5 * np.sqrt(a * a * b * b + b * b * c * c + a * a * c * c))
    assert v["volume_voxel_counting"] == pytest.approx(6.0)
    assert v["maximum_3d_diameter"] == pytest.approx(3.0)
    assert v["volume_density_convex_hull"] == pytest.approx(1.0)
    assert v["integrated_intensity"] == pytest.approx(5.0 * 4 * a * b * c / 3)
    assert v["centre_of_mass_shift"] == pytest.approx(0.0)
    for name in ("major_axis_length", "elongation", "flatness", "volume_density_aee", "morans_i", "gearys_c"):
        assert np.isnan(v[name]), name


def test_constant_intensity_gives_nan_autocorrelation_and_zero_sum_gives_nan_com():
    mask = np.ones((2, 2, 3), bool)
    v = _values(_roi(mask, np.full(mask.shape, 7.0)))
    assert np.isnan(v["morans_i"]) and np.isnan(v["gearys_c"])
    img = np.zeros(mask.shape)
    img[0, 0, 0], img[1, 1, 2] = 1.0, -1.0
    assert np.isnan(_values(_roi(mask, img))["centre_of_mass_shift"])


def test_empty_masks_give_nan_not_exceptions():
    empty = np.zeros((2, 3, 3), bool)
    assert all(np.isnan(v) for v in _values(_roi(empty)).values())
    mask = np.ones((2, 3, 3), bool)
    v = _values(_roi(mask, mask_int=empty))
    assert v["volume_mesh"] > 0
    for name in ("integrated_intensity", "centre_of_mass_shift", "morans_i", "gearys_c"):
        assert np.isnan(v[name]), name


def test_box_aabb_and_ombb_agree_and_pca_of_a_box():
    mask = np.ones((3, 4, 6), bool)
    spacing = (2.0, 1.0, 0.5)
    s = M.Shape.from_roi(_roi(mask, spacing=spacing))
    ext = np.array([3 * 2.0, 4 * 1.0, 6 * 0.5])  # mesh vertices lie on the voxel faces
    np.testing.assert_allclose(np.ptp(s.vertices, axis=0), ext)
    assert M.volume_density_aabb(s) == pytest.approx(s.volume / np.prod(ext))
    assert M.volume_density_ombb(s) == pytest.approx(M.volume_density_aabb(s))
    assert M.area_density_ombb(s) == pytest.approx(M.area_density_aabb(s))
    # covariance of a uniform grid of n points with step h along an axis: h^2 (n^2 - 1) / 12 * n / (n - 1)
    lam = sorted(((n * n - 1) / 12 * h * h * (3 * 4 * 6) / (3 * 4 * 6 - 1) for n, h in zip(mask.shape, spacing)),
                 reverse=True)
    assert M.major_axis_length(s) == pytest.approx(4 * np.sqrt(lam[0]))
    assert M.least_axis_length(s) == pytest.approx(4 * np.sqrt(lam[2]))
    assert M.elongation(s) == pytest.approx(np.sqrt(lam[1] / lam[0]))


def test_ombb_beats_aabb_for_a_rotated_rod():
    _, y, x = np.mgrid[0:3, 0:40, 0:40]
    t = np.deg2rad(30)
    u = (x - 20) * np.cos(t) + (y - 20) * np.sin(t)
    w = -(x - 20) * np.sin(t) + (y - 20) * np.cos(t)
    mask = (np.abs(u) <= 15) & (np.abs(w) <= 3)
    s = M.Shape.from_roi(_roi(mask))
    assert M.volume_density_ombb(s) > 1.5 * M.volume_density_aabb(s)
    assert M.volume_density_convex_hull(s) > M.volume_density_ombb(s)  # the hull lies inside any enclosing box


def test_maximum_diameter_is_the_largest_vertex_distance():
    rng = np.random.default_rng(3)
    mask = rng.random((5, 6, 7)) < 0.4
    s = M.Shape.from_roi(_roi(mask, spacing=(1.5, 1.0, 0.8)))
    assert M.maximum_3d_diameter(s) == pytest.approx(pdist(s.vertices).max())


def _ibsi_series(a, b, c):
    """The IBSI AEE area formula evaluated term by term with SciPy's Legendre polynomials."""
    alpha, beta = np.sqrt(1 - b * b / (a * a)), np.sqrt(1 - c * c / (a * a))
    x = (alpha ** 2 + beta ** 2) / (2 * alpha * beta)
    return 4 * np.pi * a * b * sum((alpha * beta) ** n / (1 - 4 * n * n) * eval_legendre(n, x) for n in range(21))


@pytest.mark.parametrize("axes", [(3.0, 2.0, 1.5), (10.0, 9.0, 8.0), (5.0, 4.9, 1.0), (5.70, 4.65, 4.27)])
def test_ellipsoid_area_is_the_ibsi_series(axes):
    assert M.ellipsoid_area(*axes) == pytest.approx(_ibsi_series(*axes), rel=1e-10)
    assert M.ellipsoid_area(*axes[::-1]) == pytest.approx(M.ellipsoid_area(*axes), rel=1e-12)


def test_ellipsoid_area_sphere_is_exact():
    assert M.ellipsoid_area(2.0, 2.0, 2.0) == pytest.approx(4 * np.pi * 4)
    assert np.isnan(M.ellipsoid_area(0.0, 0.0, 0.0))


def test_mvee_recovers_a_known_ellipsoid_and_encloses_its_points():
    rng = np.random.default_rng(0)
    axes = np.array([5.0, 3.0, 2.0])
    d = rng.normal(size=(400, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    rot, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    surface = (d * axes) @ rot.T + np.array([10.0, -4.0, 2.0])
    inner = 0.5 * (d * axes) @ rot.T + np.array([10.0, -4.0, 2.0])
    got = M._mvee(np.vstack([surface, inner]))
    np.testing.assert_allclose(got, axes, rtol=1e-3)
    # box corners: the MVEE of a box with half-widths h has semi-axes sqrt(3) h
    h = np.array([4.0, 2.0, 1.0])
    corners = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]) * h
    np.testing.assert_allclose(M._mvee(corners), np.sqrt(3) * h, rtol=1e-4)
    assert M._mvee(np.zeros((3, 3))) is None


# --- Moran's I and Geary's C --------------------------------------------------------------------------------------------


def _moran_geary_numpy(mask, image, spacing):
    pos = np.argwhere(mask) * np.asarray(spacing)
    x = image[mask]
    d = x - x.mean()
    w = squareform(1.0 / pdist(pos))  # zero diagonal
    n = x.size
    moran = n / w.sum() * (d @ w @ d) / np.sum(d * d)
    geary = (n - 1) / (2 * w.sum()) * np.sum(w * (x[:, None] - x[None, :]) ** 2) / np.sum(d * d)
    return moran, geary


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_morans_i_and_gearys_c_against_numpy(seed):
    rng = np.random.default_rng(seed)
    shape = (4, 7, 9)
    mask = rng.random(shape) < 0.6
    image = rng.normal(size=shape) + np.linspace(0, 3, shape[2])[None, None, :]
    spacing = (2.5, 0.8, 1.1)
    s = M.Shape.from_roi(_roi(mask, image, spacing))
    ref_i, ref_c = _moran_geary_numpy(mask, image, spacing)
    assert M.morans_i(s) == pytest.approx(ref_i, rel=1e-10)
    assert M.gearys_c(s) == pytest.approx(ref_c, rel=1e-10)


def test_pair_sums_fft_matches_direct_kernel():
    rng = np.random.default_rng(7)
    mask = rng.random((6, 15, 13)) < 0.7
    d = rng.normal(size=int(mask.sum()))
    spacing = (3.0, 0.98, 0.98)
    direct = pair_sums_direct(np.argwhere(mask) * np.asarray(spacing), d)
    fft = pair_sums_fft(mask, d, spacing)
    np.testing.assert_allclose(fft, direct, rtol=1e-9)


def test_moran_signs():
    z, y, x = np.mgrid[0:4, 0:6, 0:6]
    mask = np.ones(x.shape, bool)
    checker = ((x + y + z) % 2).astype(float)
    s = M.Shape.from_roi(_roi(mask, checker))
    assert M.morans_i(s) < 0 and M.gearys_c(s) > 1
    s = M.Shape.from_roi(_roi(mask, x.astype(float)))
    assert M.morans_i(s) > 0 and M.gearys_c(s) < 1


# --- properties --------------------------------------------------------------------------------------------------------

small_masks = arrays(np.bool_, st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4))).filter(
    lambda m: m.any())
spacings = st.tuples(*[st.floats(0.3, 4.0, allow_nan=False) for _ in range(3)])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mask=small_masks, spacing=spacings)
def test_volume_scales_with_voxel_size(mask, spacing):
    unit = M.Shape.from_roi(_roi(mask))
    scaled = M.Shape.from_roi(_roi(mask, spacing=spacing))
    factor = float(np.prod(spacing))
    assert M.volume_mesh(scaled) == pytest.approx(M.volume_mesh(unit) * factor, rel=1e-9)
    assert M.volume_voxel_counting(scaled) == pytest.approx(M.volume_voxel_counting(unit) * factor, rel=1e-12)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mask=small_masks, scale=st.floats(0.3, 4.0))
def test_isotropic_scaling_of_lengths_areas_and_shape_invariance(mask, scale):
    a = _values(_roi(mask))
    b = _values(_roi(mask, spacing=(scale, scale, scale)))
    assert b["surface_area_mesh"] == pytest.approx(a["surface_area_mesh"] * scale ** 2, rel=1e-9)
    assert b["maximum_3d_diameter"] == pytest.approx(a["maximum_3d_diameter"] * scale, rel=1e-9)
    for name in ("sphericity", "compactness_2", "volume_density_aabb", "area_density_convex_hull"):
        assert b[name] == pytest.approx(a[name], rel=1e-8), name


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mask=small_masks, pad=st.tuples(*[st.integers(0, 3) for _ in range(6)]), seed=st.integers(0, 2 ** 16),
       spacing=spacings)
def test_translation_and_outside_voxel_invariance(mask, pad, seed, spacing):
    rng = np.random.default_rng(seed)
    image = rng.integers(-5, 20, size=mask.shape).astype(float)
    a = _values(_roi(mask, image, spacing))
    widths = [(pad[0], pad[1]), (pad[2], pad[3]), (pad[4], pad[5])]
    big_mask = np.pad(mask, widths)
    big_image = np.pad(image, widths)
    big_image[~big_mask] = rng.integers(-100, 100, size=int((~big_mask).sum()))  # anything outside the ROI
    b = _values(_roi(big_mask, big_image, spacing))
    for name, va in a.items():
        if np.isnan(va):
            assert np.isnan(b[name]), name
        else:
            # the MVEE is iterative (converged to 1e-7 in the dual weights); everything else is exact up to round-off
            rel = 1e-5 if "mvee" in name else 1e-7
            assert b[name] == pytest.approx(va, rel=rel, abs=1e-9), name


def test_index_moments_are_the_exact_sums_over_voxel_indices():
    from radiomix.features.morphology import _index_moments

    rng = np.random.default_rng(11)
    for shape in [(1, 1, 1), (3, 1, 7), (9, 12, 5), (20, 31, 17)]:
        mask = rng.random(shape) < 0.4
        mask.flat[0] = True
        idx = np.argwhere(mask).astype(object)  # Python integers: exact
        n, s1, s2 = _index_moments(mask)
        assert n == len(idx)
        assert s1 == [int(sum(idx[:, a])) for a in range(3)]
        assert s2 == [[int(sum(idx[:, a] * idx[:, b])) for b in range(3)] for a in range(3)]
