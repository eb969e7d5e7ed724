"""NGTDM family: kernel against the NumPy reference, a hand-computed example, IBSI's degenerate values, aggregation and
invariances. IBSI reference rows are in tests/test_ibsi_reference.py."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from radiomix.features import ngtdm
from radiomix.features.ngtdm import GreyToneDifferenceMatrix
from radiomix.kernels.neighbourhood_kernels import ngtdm_arrays, ngtdm_arrays_reference

from .test_glszm import (
    AGGS,
    FAST,
    as_dict,
    check_affine_invariance,
    check_translation_invariance,
    make_roi,
    random_case,
    shape_strategy,
)


@FAST
@given(shape=shape_strategy(7), n_levels=st.integers(1, 5), seed=st.integers(0, 2**32 - 1), planar=st.booleans(),
       delta=st.integers(1, 3))
def test_kernel_matches_numpy_reference(shape, n_levels, seed, planar, delta):
    lv, mask = random_case(np.random.default_rng(seed), shape, n_levels, hole_fraction=0.4)
    s, n = ngtdm_arrays(lv, mask, n_levels, delta, planar=planar)
    s_ref, n_ref = ngtdm_arrays_reference(lv, mask, n_levels, delta, planar=planar)
    assert s.shape == s_ref.shape and n.shape == n_ref.shape
    np.testing.assert_allclose(s, s_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(n, n_ref)


def test_kernel_counts_only_neighbours_inside_the_mask():
    lv = np.array([[[1, 2, 4, 9]]], np.int32)
    mask = np.array([[[True, True, True, False]]])
    s, n = ngtdm_arrays(lv, mask, 9, 1, planar=True)
    # voxel 4 has the single in-mask neighbour 2; the 9 outside the mask is ignored
    np.testing.assert_allclose(s[0, [1, 2, 4]], [1.0, 0.5, 2.0])
    np.testing.assert_array_equal(n[0, [1, 2, 4, 9]], [1, 1, 1, 0])


# levels [1, 2, 4] in a row: s = (1, 0.5, 2), n = (1, 1, 1), p = 1/3 each
ROW = np.array([[[1, 2, 4]]], np.int32)
EXPECTED = {
    "coarseness": 3 / 3.5,
    "contrast": (28 / 9) / 6 * (3.5 / 3),
    "busyness": (3.5 / 3) / 4,
    "complexity": 15.5 / 3,
    "strength": (56 / 3) / 3.5,
}


@pytest.mark.parametrize("aggregation", AGGS)
def test_hand_computed_example(aggregation):
    res = as_dict(ngtdm.compute(make_roi(ROW)))
    for name, value in EXPECTED.items():
        assert res[(name, aggregation)] == pytest.approx(value), name


def test_2d_average_skips_slices_without_neighbours_and_25d_merges():
    lv = np.zeros((3, 3, 3), np.int32)
    lv[0, 0] = [1, 2, 4]
    lv[2, 1, 1] = 3  # a lone voxel: no neighbour in its slice
    res = as_dict(ngtdm.compute(make_roi(lv)))
    for name, value in EXPECTED.items():
        assert res[(name, "2d")] == pytest.approx(value), name
    # 2.5D merges s and n; the lone voxel has no neighbourhood and adds nothing
    for name, value in EXPECTED.items():
        assert res[(name, "2.5d")] == pytest.approx(value), name


def test_distance_setting_is_used():
    lv = np.array([[[1, 5, 1, 1, 1]]], np.int32)
    near = as_dict(ngtdm.compute(make_roi(lv, ngtdm_distance=1)))
    far = as_dict(ngtdm.compute(make_roi(lv, ngtdm_distance=4)))
    assert near[("coarseness", "3d")] != pytest.approx(far[("coarseness", "3d")])


def test_degenerate_values_as_ibsi_defines_them():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flat = as_dict(ngtdm.compute(make_roi(np.full((3, 3, 3), 2, np.int32))))
        one = ngtdm.compute(make_roi(np.ones((1, 1, 1), np.int32)))
        equal_ip = as_dict(ngtdm.compute(make_roi(np.array([[[1, 1, 2]]], np.int32))))
    for a in AGGS:
        assert flat[("coarseness", a)] == ngtdm.MAX_COARSENESS
        assert flat[("contrast", a)] == 0.0
        assert flat[("busyness", a)] == 0.0
        assert flat[("complexity", a)] == 0.0
        assert flat[("strength", a)] == 0.0
    assert len(one) == 15 and all(math.isnan(v) for _, _, v in one)  # no voxel with a neighbour
    # p = (2/3, 1/3) at levels 1, 2: i p_i are equal, the busyness denominator vanishes -> NaN (documented)
    assert math.isnan(equal_ip[("busyness", "3d")])
    assert math.isfinite(equal_ip[("contrast", "3d")])


def test_registry_is_complete():
    assert [f.name for f in ngtdm.FEATURES] == ["coarseness", "contrast", "busyness", "complexity", "strength"]
    assert [f.ibsi for f in ngtdm.FEATURES] == ["QCDE", "65HE", "NQ30", "HDEZ", "1X9X"]
    assert all(f.formula for f in ngtdm.FEATURES) and ngtdm.FAMILY.ibsi == "IPET"


@FAST
@given(shape=shape_strategy(), n_levels=st.integers(2, 5), seed=st.integers(0, 2**32 - 1), planar=st.booleans())
def test_probabilities_normalised_and_features_non_negative(shape, n_levels, seed, planar):
    lv, mask = random_case(np.random.default_rng(seed), shape, n_levels)
    s, n = ngtdm_arrays(lv, mask, n_levels, 1, planar=planar)
    m = GreyToneDifferenceMatrix.from_dense(s.sum(axis=0), n.sum(axis=0))
    if m.is_empty:
        return
    assert m.p.sum() == pytest.approx(1.0)
    assert np.all(m.s >= 0)
    for f in ngtdm.FEATURES:
        v = f.func(m)
        assert math.isnan(v) or v >= 0, f.name


@FAST
@given(shape=shape_strategy(5), n_levels=st.integers(1, 4), seed=st.integers(0, 2**32 - 1),
       offset=st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)))
def test_invariant_to_translation_and_to_voxels_outside_the_mask(shape, n_levels, seed, offset):
    check_translation_invariance(ngtdm.compute, shape, n_levels, seed, offset)


@FAST
@given(shape=shape_strategy(5), seed=st.integers(0, 2**32 - 1), scale=st.integers(1, 7), shift=st.integers(-500, 500))
def test_fixed_bin_number_features_unchanged_by_positive_affine_intensity_change(shape, seed, scale, shift):
    check_affine_invariance(ngtdm.compute, shape, seed, scale, shift, bin_number=6)
