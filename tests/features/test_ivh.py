"""Intensity-volume histogram (IBSI 3.5): the manual's digital-phantom table, hand-worked curves for the three
discretisation cases, ranges, degenerate inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from radiomix import ibsi
from radiomix.errors import InputError
from radiomix.features import ivh
from radiomix.features.base import RoiData
from radiomix.settings import IVH, Discretisation, Resegmentation, Settings

DIG = np.repeat([1.0, 3.0, 4.0, 6.0], [50, 1, 16, 7])
FBS1 = Discretisation(method="fixed_bin_size", bin_width=1.0)


def _features(values, options: IVH | None = None, reseg=None) -> dict[str, float]:
    options = IVH() if options is None else options
    x = np.asarray(values, dtype=np.float64).reshape(1, 1, -1)
    mask = np.ones(x.shape, bool)
    s = Settings(discretisation=Discretisation(method="none"), ivh=options, resegmentation=reseg)
    roi = RoiData(image=x, mask_morph=mask, mask_int=mask, spacing=(1.0, 1.0, 1.0),
                  levels=np.ones(x.shape, np.int32), n_levels=1, settings=s)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return {name: v for name, _, v in ivh.compute(roi)}


def test_names_match_the_reference_lookup():
    assert {f.name for f in ivh.FEATURES} == set(ibsi.IVH_SHEET_TAGS.values())
    assert ivh.FAMILY.ibsi == "P88C"


def test_digital_phantom_table():
    h = ivh.build_ivh(DIG, IVH())
    np.testing.assert_array_equal(h.intensity, [1, 2, 3, 4, 5, 6])
    np.testing.assert_allclose(h.gamma, [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_allclose(h.nu, np.array([74, 24, 24, 23, 7, 7]) / 74)  # IBSI table: 1, .324, .324, .311, ...
    v = _features(DIG)
    assert v["volume_at_intensity_fraction_10"] == pytest.approx(24 / 74)
    assert v["volume_at_intensity_fraction_90"] == pytest.approx(7 / 74)
    assert v["intensity_at_volume_fraction_10"] == 5 and v["intensity_at_volume_fraction_90"] == 2
    assert v["intensity_difference_10_90"] == 3
    assert v["volume_fraction_difference_10_90"] == pytest.approx(17 / 74)
    assert round(v["area_under_ivh_curve"], 2) == 0.32


def test_discrete_ramp_hand_worked():
    # 0..9, G = [0, 9]: nu_i = (10 - i) / 10, gamma_i = i / 9
    v = _features(np.arange(10))
    assert v["volume_at_intensity_fraction_10"] == pytest.approx(0.9)   # i = 1
    assert v["volume_at_intensity_fraction_90"] == pytest.approx(0.1)   # i = 9 (8/9 < 0.9)
    assert v["intensity_at_volume_fraction_10"] == 9
    assert v["intensity_at_volume_fraction_90"] == 1
    assert v["area_under_ivh_curve"] == pytest.approx(99 / 180)
    # "at least x": 0..10 has gamma_1 = 0.1 exactly, so V10 is nu_1, not nu_2
    assert _features(np.arange(11))["volume_at_intensity_fraction_10"] == pytest.approx(10 / 11)


def test_resegmentation_range_sets_the_discrete_range():
    x = np.arange(10)
    reseg = Resegmentation(range=(-10, 19))
    v = _features(x, IVH(), reseg)
    # gamma >= 0.1 first at i = -7 (all voxels >= -7); gamma >= 0.9 first at i = 16 (none)
    assert v["volume_at_intensity_fraction_10"] == 1.0 and v["volume_at_intensity_fraction_90"] == 0.0
    assert v["intensity_at_volume_fraction_10"] == 9  # intensities do not depend on the range
    # the flag switches the range off: back to the ROI range
    w = _features(x, IVH(use_resegmentation_range=False), reseg)
    assert w["volume_at_intensity_fraction_10"] == pytest.approx(0.9)
    # a half-open range takes the ROI maximum as its upper end
    h = ivh.build_ivh(x, IVH(), Resegmentation(range=(-5, None)))
    assert h.intensity[0] == -5 and h.intensity[-1] == 9


def test_fixed_bin_size_uses_bin_centres():
    # w = 1 from the lower re-segmentation bound 0: bins 1,1,2,3,3,3 -> centres 0.5, 0.5, 1.5, 2.5 x3
    x = [0.0, 0.4, 1.1, 2.6, 2.7, 2.9]
    h = ivh.build_ivh(x, IVH(discretisation=FBS1), Resegmentation(range=(0, 3)))
    np.testing.assert_allclose(h.intensity, [0.5, 1.5, 2.5])  # G = [0 + w/2, 3 - w/2]
    np.testing.assert_allclose(h.nu, [1.0, 4 / 6, 3 / 6])
    v = _features(x, IVH(discretisation=FBS1), Resegmentation(range=(0, 3)))
    assert v["intensity_at_volume_fraction_90"] == 1.5
    assert np.isnan(v["intensity_at_volume_fraction_10"])  # half the volume sits at the top of the range
    assert v["volume_at_intensity_fraction_10"] == pytest.approx(4 / 6)  # gamma = (0, .5, 1)


def test_fixed_bin_number_arbitrary_units():
    x = np.linspace(-3.7, 12.2, 10000)  # uniform: 10 voxels per bin
    v = _features(x, IVH(discretisation=Discretisation(method="fixed_bin_number", bin_number=1000),
                         use_resegmentation_range=False), Resegmentation(range=(-100, 100)))
    assert v["intensity_at_volume_fraction_10"] == 901 and v["intensity_at_volume_fraction_90"] == 101
    assert v["volume_at_intensity_fraction_10"] == pytest.approx(0.9, abs=2e-3)
    assert v["area_under_ivh_curve"] == pytest.approx(0.5, abs=2e-3)


def test_integer_intensities_required_without_discretisation():
    with pytest.raises(InputError, match="integer"):
        ivh.build_ivh([1.0, 2.5], IVH())


@pytest.mark.parametrize("options", [IVH(), IVH(discretisation=FBS1)])
def test_single_intensity_is_documented_nan(options):
    v = _features([7.0, 7.0, 7.0], options)
    assert v["area_under_ivh_curve"] == 0.0  # IBSI: one discretised intensity -> AUC 0
    for name in ("volume_at_intensity_fraction_10", "intensity_at_volume_fraction_10", "intensity_difference_10_90"):
        assert np.isnan(v[name]), name


def test_single_voxel_with_fixed_bin_number():
    v = _features([3.3], IVH(discretisation=Discretisation(method="fixed_bin_number", bin_number=1000)))
    assert v["volume_at_intensity_fraction_10"] == 0.0 and v["intensity_at_volume_fraction_10"] == 2


@settings(max_examples=40, deadline=None)
@given(hst.lists(hst.integers(-50, 50), min_size=1, max_size=100))
def test_curve_properties(values):
    h = ivh.build_ivh(np.array(values, float), IVH(), Resegmentation(range=(-60, 60)))
    assert h.nu[0] == 1.0 and np.all(np.diff(h.nu) <= 0) and np.all(h.nu >= 0)
    auc = ivh.area_under_ivh_curve(h)
    assert 0 <= auc <= 1
    # AUC equals the mean intensity fraction up to the trapezoid's half step
    assert auc == pytest.approx((np.mean(values) + 60) / 120, abs=0.5 / 120 + 1e-12)
