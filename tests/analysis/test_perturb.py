"""Image perturbations (Zwanenburg et al. 2019) and perturbation_icc on small synthetic phantoms."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.analysis.perturb import (
    adapt_volume,
    add_noise,
    estimate_noise_sd,
    perturbation_icc,
    perturbations,
    randomise_contour,
    rotate,
    translate,
)
from radiomix.errors import InputError
from radiomix.image import Image, Mask
from radiomix.phantoms import lesion_phantom


@pytest.fixture(scope="module")
def phantom():
    return lesion_phantom(shape=(12, 32, 32), spacing=(2.0, 1.0, 1.0), radius_mm=7.0, seed=1)


def cohort(n_cases=4):
    """Small phantoms with different lesion sizes and intensities: between-case variance for the ICC."""
    images, masks = [], []
    for c in range(n_cases):
        im, m = lesion_phantom(shape=(12, 32, 32), spacing=(2.0, 1.0, 1.0), radius_mm=6.0 + c, seed=c)
        images.append(im.with_array(np.where(m.array, im.array + 25.0 * c, im.array)))
        masks.append(m)
    return images, masks


def test_rotation(phantom):
    im, m = phantom
    im0, m0 = rotate(im, m, 0.0)
    np.testing.assert_allclose(im0.array, im.array)
    np.testing.assert_array_equal(m0.array, m.array)
    im90, m90 = rotate(im, m, 90.0)  # a quarter turn on a square, even grid is a pure re-indexing
    np.testing.assert_allclose(im90.array, np.rot90(im.array, 1, axes=(1, 2)), atol=1e-3)
    np.testing.assert_array_equal(m90.array, np.rot90(m.array, 1, axes=(1, 2)))
    _im15, m15 = rotate(im, m, 15.0)
    assert abs(m15.n_voxels - m.n_voxels) / m.n_voxels < 0.1 and not np.array_equal(m15.array, m.array)


def test_translation(phantom):
    im, m = phantom
    im1, m1 = translate(im, m, (0, 1, 0))  # a whole voxel: a shift of the array
    np.testing.assert_allclose(im1.array[:, 1:], im.array[:, :-1])
    np.testing.assert_array_equal(m1.array[:, 1:], m.array[:, :-1])
    imh, _ = translate(im, m, (0, 0.5, 0))  # half a voxel: linear interpolation = the mean of neighbours
    np.testing.assert_allclose(imh.array[:, 1:], (im.array[:, 1:] + im.array[:, :-1]) / 2, atol=1e-3)


def test_noise():
    rng = np.random.default_rng(0)
    flat = Image.from_array(np.zeros((4, 64, 64)) + rng.normal(0, 10, (4, 64, 64)))
    assert estimate_noise_sd(flat) == pytest.approx(10, rel=0.1)
    noisy = add_noise(flat, np.random.default_rng(1), sd=5.0)
    assert np.std(noisy.array - flat.array) == pytest.approx(5.0, rel=0.05)


@pytest.mark.parametrize("fraction", [-0.2, -0.1, 0.1, 0.2])
def test_volume_adaptation(phantom, fraction):
    _, m = phantom
    new = adapt_volume(m, fraction)
    assert new.n_voxels == round(m.n_voxels * (1 + fraction))
    if fraction > 0:
        assert np.all(new.array[m.array])  # growth keeps the ROI
    else:
        assert not np.any(new.array[~m.array])  # shrinkage stays inside


def test_contour_randomisation(phantom):
    im, m = phantom
    a = randomise_contour(im, m, np.random.default_rng(0))
    b = randomise_contour(im, m, np.random.default_rng(0))
    c = randomise_contour(im, m, np.random.default_rng(1))
    np.testing.assert_array_equal(a.array, b.array)  # same seed, same contour
    assert not np.array_equal(a.array, c.array)
    for r in (a, c):
        dice = 2 * np.sum(r.array & m.array) / (r.n_voxels + m.n_voxels)
        assert 0.6 < dice < 1.0


def test_perturbations_are_reproducible(phantom):
    im, m = phantom
    p1 = perturbations(im, m, 3, seed=5)
    p2 = perturbations(im, m, 3, seed=5)
    for (i1, m1, k1), (i2, m2, k2) in zip(p1, p2):
        assert k1 == k2
        np.testing.assert_array_equal(i1.array, i2.array)
        np.testing.assert_array_equal(m1.array, m2.array)
    assert p1[0][2] != p1[1][2]
    with pytest.raises(ValueError, match="unknown perturbation"):
        perturbations(im, m, 2, kinds=("blur",))


def toy_extractor(image: Image, mask: Mask, settings):
    """Independent of the feature families: one robust, one fragile feature."""
    roi = image.array[mask.array]
    return {"mean": float(roi.mean()), "volume": float(mask.n_voxels),
            "first_voxel": float(roi[0])}  # the first ROI voxel in raster order: moves with every perturbation


def test_perturbation_icc_ranks_features():
    images, masks = cohort()
    res = perturbation_icc(images, masks, settings=None, n=5, seed=0, extractor=toy_extractor)
    assert list(res.index[:2]) in (["mean", "volume"], ["volume", "mean"])
    assert res.index[-1] == "first_voxel"
    assert res.loc["mean", "icc1"] > 0.9 > res.loc["first_voxel", "icc1"]
    assert list(res["rank"]) == [1, 2, 3]
    assert (res.icc1_low <= res.icc1).all() and (res.icc1 <= res.icc1_high).all()
    with pytest.raises(InputError, match="at least 2 cases"):
        perturbation_icc(images[0], masks[0], settings=None, n=3, extractor=toy_extractor)


def test_perturbation_icc_with_extract_statistics():
    from radiomix.settings import Discretisation, Settings

    settings = Settings(discretisation=Discretisation(method="fixed_bin_size", bin_width=25.0),
                        families=("statistics",))
    images, masks = cohort(4)
    try:
        res = perturbation_icc(images, masks, settings, n=5, seed=0)
    except InputError as e:
        if "no features" in str(e):
            pytest.skip("the statistics family is not implemented yet")
        raise
    assert res.index.str.contains("statistics").all()
    # the cohort differs in lesion intensity, not in texture: location features are robust, dispersion is not
    assert res.loc["original_statistics_mean", "icc1"] > 0.85
    assert res.loc["original_statistics_median", "icc1"] > 0.85
    assert res.loc["original_statistics_mean", "rank"] < res.loc["original_statistics_variance", "rank"]
    assert res["rank"].tolist() == list(range(1, len(res) + 1))
