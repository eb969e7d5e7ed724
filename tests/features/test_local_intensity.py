"""Local intensity family (IBSI 3.2): sphere, peaks on constructed images, kernel against the SciPy reference."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.features import local_intensity as L
from radiomix.features.base import RoiData
from radiomix.kernels.morphology_kernels import sphere_means_at, sphere_means_reference, sphere_offsets
from radiomix.settings import LocalIntensity, preset

SETTINGS = preset("ibsi_dig")


def _roi(image, mask, spacing=(1.0, 1.0, 1.0), radius_mm=None) -> RoiData:
    st = SETTINGS if radius_mm is None else SETTINGS.replace(local_intensity=LocalIntensity(radius_mm=radius_mm))
    mask = np.asarray(mask, dtype=bool)
    return RoiData(image=np.asarray(image, dtype=np.float64), mask_morph=mask, mask_int=mask, spacing=spacing,
                   levels=mask.astype(int), n_levels=1, settings=st)


def _peaks(roi) -> dict[str, float]:
    return {name: v for name, _, v in L.compute(roi)}


def test_registry():
    assert L.FAMILY.ibsi == "9ST6"
    assert [(f.name, f.ibsi) for f in L.FEATURES] == [("local_intensity_peak", "VJGA"),
                                                      ("global_intensity_peak", "0F91")]


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (3.0, 0.977, 0.977), (2.0, 2.0, 2.0)])
def test_sphere_offsets_are_the_voxel_centres_within_the_radius(spacing):
    r = 6.2035
    off = sphere_offsets(spacing, r)
    # brute force over a box larger than the sphere
    g = np.stack(np.meshgrid(*[np.arange(-12, 13)] * 3, indexing="ij"), -1).reshape(-1, 3)
    inside = g[np.linalg.norm(g * np.asarray(spacing), axis=1) <= r]
    assert {tuple(o) for o in off} == {tuple(o) for o in inside}
    # a 1 cm^3 sphere: the voxel count times the voxel volume is close to 1000 mm^3
    assert len(off) * np.prod(spacing) == pytest.approx(1000.0, rel=0.1)


def test_sphere_means_at_matches_correlate_reference():
    rng = np.random.default_rng(0)
    image = rng.normal(size=(7, 15, 16))
    spacing = (3.0, 0.977, 0.977)
    off = sphere_offsets(spacing, 6.2035)
    pts = np.argwhere(rng.random(image.shape) < 0.3)  # includes border voxels (partial spheres)
    ref = sphere_means_reference(image, off)
    np.testing.assert_allclose(sphere_means_at(image, pts, off), ref[tuple(pts.T)], rtol=1e-12)


def test_local_peak_is_the_mean_around_the_maximum_and_includes_voxels_outside_the_roi():
    image = np.zeros((9, 9, 9))
    mask = np.zeros(image.shape, bool)
    mask[4, 4, 4] = True
    image[4, 4, 4] = 70.0
    image[4, 4, 5] = 7.0  # outside the ROI, inside the sphere of radius 1
    image[4, 4, 7] = 1000.0  # outside the sphere
    v = _peaks(_roi(image, mask, radius_mm=1.0))  # 7 voxels: the centre and its 6 face neighbours
    assert v["local_intensity_peak"] == pytest.approx(77.0 / 7)
    assert v["global_intensity_peak"] == pytest.approx(77.0 / 7)


def test_global_peak_can_exceed_the_local_peak_and_ties_take_the_highest_mean():
    image = np.zeros((5, 5, 12))
    mask = np.zeros(image.shape, bool)
    mask[2, 2, 1:11] = True
    image[2, 2, 1] = 10.0  # isolated maximum
    image[2, 2, 5:8] = 9.0  # a bright plateau just below the maximum
    v = _peaks(_roi(image, mask, radius_mm=1.0))
    assert v["local_intensity_peak"] == pytest.approx(10.0 / 7)
    assert v["global_intensity_peak"] == pytest.approx(27.0 / 7)
    image[2, 2, 8] = 10.0  # a second maximum, next to the plateau
    v = _peaks(_roi(image, mask, radius_mm=1.0))
    assert v["local_intensity_peak"] == pytest.approx(19.0 / 7)


def test_sphere_cut_by_the_array_border_averages_the_voxels_present():
    image = np.arange(27, dtype=float).reshape(3, 3, 3)
    mask = np.zeros(image.shape, bool)
    mask[0, 0, 0] = True
    v = _peaks(_roi(image, mask, radius_mm=1.0))
    assert v["local_intensity_peak"] == pytest.approx(np.mean([0.0, 9.0, 3.0, 1.0]))


def test_ibsi_digital_phantom_peaks():
    from radiomix.data import digital_phantom

    image, mask = digital_phantom()
    v = _peaks(_roi(image.array, mask.array, spacing=image.spacing))
    assert round(v["local_intensity_peak"], 1) == 2.6
    assert round(v["global_intensity_peak"], 1) == 3.1


@pytest.mark.parametrize("seed", range(4))
def test_local_peak_from_means_all_equals_direct_means(seed):
    """The local peak is read off the means at every ROI voxel; the same as summing the spheres at the maxima only
    (exactly for integer intensities, round-off otherwise)."""
    rng = np.random.default_rng(seed)
    image = rng.integers(-50, 50, size=(9, 12, 11)).astype(np.float64)
    if seed % 2:
        image += rng.random(image.shape)
    mask = np.zeros(image.shape, dtype=bool)
    mask[2:7, 3:10, 2:9] = rng.random((5, 7, 7)) < 0.8
    image[4, 5, 5] = image[6, 8, 3] = 99.0  # tied maxima
    mask[4, 5, 5] = mask[6, 8, 3] = True
    m = L.LocalMeans(image, mask, (2.0, 1.0, 1.0), 2.5)
    direct = m.means_at_maximum_direct()
    assert len(direct) == 2
    np.testing.assert_allclose(m.means_at_maximum(), direct, rtol=1e-13, atol=0)
    if seed % 2 == 0:
        np.testing.assert_array_equal(m.means_at_maximum(), direct)
    with_values = L.LocalMeans(image, mask, (2.0, 1.0, 1.0), 2.5, image[mask])
    np.testing.assert_array_equal(with_values.means_at_maximum(), m.means_at_maximum())


def test_sphere_runs_match_the_offsets():
    from radiomix.kernels.sphere_kernels import sphere_runs

    rng = np.random.default_rng(3)
    for _ in range(30):
        off = sphere_offsets(tuple(rng.uniform(0.4, 3.0, 3)), float(rng.uniform(0.5, 7.0)))
        runs = sphere_runs(off[rng.permutation(len(off))])
        expanded = {(int(dz), int(dy), x) for dz, dy, lo, hi in runs for x in range(lo, hi + 1)}
        assert expanded == {tuple(int(v) for v in o) for o in off} and len(runs) == len({(a, b) for a, b, _ in off})
        assert np.all(np.diff(runs[:, 0] * 1000 + runs[:, 1]) > 0)  # sorted by (dz, dy)
    with pytest.raises(ValueError):
        sphere_runs(np.array([[0, 0, 0], [0, 0, 2]]))


def test_sphere_geometry_is_kept_per_spacing_and_radius():
    from radiomix.kernels.sphere_kernels import sphere_geometry, sphere_offsets, sphere_runs

    off, runs = sphere_geometry((2.0, 1.0, 1.0), 6.2)
    np.testing.assert_array_equal(off, sphere_offsets((2.0, 1.0, 1.0), 6.2))
    np.testing.assert_array_equal(runs, sphere_runs(off))
    assert sphere_geometry((2.0, 1.0, 1.0), 6.2)[0] is off  # kept: not computed again
    assert sphere_geometry((2.0, 1.0, 0.5), 6.2)[0].shape != off.shape
