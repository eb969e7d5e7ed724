"""NGLDM family: kernel against the NumPy reference, a hand-computed matrix (the IBSI manual's example grid), the
alpha and distance settings, aggregation, invariances and degenerate inputs. IBSI reference rows are in
tests/test_ibsi_reference.py."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from radiomix.features import ngldm
from radiomix.features.glszm import CountMatrix
from radiomix.kernels.neighbourhood_kernels import ngldm_counts, ngldm_counts_reference

from .test_glszm import (
    AGGS,
    EXAMPLE,
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
       delta=st.integers(1, 3), alpha=st.integers(0, 2))
def test_kernel_matches_numpy_reference(shape, n_levels, seed, planar, delta, alpha):
    lv, mask = random_case(np.random.default_rng(seed), shape, n_levels, hole_fraction=0.4)
    fast = ngldm_counts(lv, mask, n_levels, delta, alpha, planar=planar)
    ref = ngldm_counts_reference(lv, mask, n_levels, delta, alpha, planar=planar)
    assert fast.shape == ref.shape
    np.testing.assert_array_equal(fast, ref)


# j for every voxel of the manual's 4x4 grid, alpha = 0, 8-neighbourhood (worked out by hand; the four centre voxels
# match the manual's table: level 2 -> j = 3 and 4, level 3 -> j = 3, level 4 -> j = 1)
EXAMPLE_COUNTS = {1: {1: 2, 2: 2}, 2: {2: 1, 3: 3, 4: 1}, 3: {1: 1, 3: 3}, 4: {1: 1, 2: 2}}


def test_hand_computed_matrix():
    c = ngldm_counts(EXAMPLE[None], np.ones((1, 4, 4), bool), 4, 1, 0, planar=True)[0]
    for i, row in EXAMPLE_COUNTS.items():
        for j in range(c.shape[1]):
            assert c[i, j] == row.get(j, 0), (i, j)


def test_features_on_the_hand_computed_matrix():
    pairs = [(i, j) for i, row in EXAMPLE_COUNTS.items() for j, k in row.items() for _ in range(k)]
    res = as_dict(ngldm.compute(make_roi(EXAMPLE)))
    ns = 16
    assert res[("low_dependence_emphasis", "2d")] == pytest.approx(sum(1 / j**2 for _, j in pairs) / ns)
    assert res[("high_dependence_high_grey_level_emphasis", "2d")] == pytest.approx(
        sum(i**2 * j**2 for i, j in pairs) / ns)
    assert res[("dependence_count_percentage", "2d")] == 1.0
    assert res[("grey_level_non_uniformity", "2d")] == pytest.approx((16 + 25 + 16 + 9) / 16)
    assert res[("dependence_count_non_uniformity", "2d")] == pytest.approx((16 + 25 + 36 + 1) / 16)
    assert res[("dependence_count_variance", "2d")] == pytest.approx(np.var([j for _, j in pairs]))
    cells = np.array([k for row in EXAMPLE_COUNTS.values() for k in row.values()]) / ns
    assert res[("dependence_count_energy", "2d")] == pytest.approx(np.sum(cells**2))
    assert res[("dependence_count_entropy", "2d")] == pytest.approx(-np.sum(cells * np.log2(cells)))
    # a single slice: 2D, 2.5D and 3D agree
    for name in ("low_dependence_emphasis", "dependence_count_entropy"):
        assert res[(name, "3d")] == pytest.approx(res[(name, "2d")]) == pytest.approx(res[(name, "2.5d")])


def test_alpha_and_distance_settings_are_used():
    lv = np.array([[[1, 2, 3, 4, 5]]], np.int32)
    strict = as_dict(ngldm.compute(make_roi(lv, ngldm_alpha=0)))
    loose = as_dict(ngldm.compute(make_roi(lv, ngldm_alpha=1)))
    far = as_dict(ngldm.compute(make_roi(lv, ngldm_alpha=1, ngldm_distance=2)))
    assert strict[("high_dependence_emphasis", "3d")] == 1.0
    # alpha 1: j = 2, 3, 3, 3, 2 -> mean j^2 = (4 + 9 + 9 + 9 + 4) / 5
    assert loose[("high_dependence_emphasis", "3d")] == pytest.approx(35 / 5)
    assert far[("high_dependence_emphasis", "3d")] == pytest.approx(35 / 5)  # the extra neighbours differ by 2


def test_3d_neighbourhood_has_26_voxels():
    cube = np.full((3, 3, 3), 4, np.int32)
    res = as_dict(ngldm.compute(make_roi(cube)))
    c = ngldm_counts(cube, np.ones((3, 3, 3), bool), 4, 1, 0)[0]
    assert c[4, 27] == 1 and c[4].sum() == 27
    assert res[("dependence_count_percentage", "3d")] == 1.0


def test_registry_is_complete():
    assert len(ngldm.FEATURES) == 17 and len({f.name for f in ngldm.FEATURES}) == 17
    assert all(f.ibsi and f.formula for f in ngldm.FEATURES)
    assert ngldm.FAMILY.ibsi == "REK0"


@FAST
@given(shape=shape_strategy(), n_levels=st.integers(1, 5), seed=st.integers(0, 2**32 - 1), planar=st.booleans())
def test_matrix_normalised_and_bounded(shape, n_levels, seed, planar):
    lv, mask = random_case(np.random.default_rng(seed), shape, n_levels)
    c = ngldm_counts(lv, mask, n_levels, 1, 0, planar=planar).sum(axis=0)
    m = CountMatrix.from_dense(c, int(mask.sum()))
    assert m.p.sum() == pytest.approx(1.0)
    assert ngldm.dependence_count_percentage(m) == 1.0
    assert -1e-12 <= ngldm.dependence_count_entropy(m) <= math.log2(np.count_nonzero(m.s)) + 1e-12
    assert 0 < ngldm.dependence_count_energy(m) <= 1
    assert m.j.min() >= 1 and m.j.max() <= (9 if planar else 27)


@FAST
@given(shape=shape_strategy(5), n_levels=st.integers(1, 4), seed=st.integers(0, 2**32 - 1),
       offset=st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)))
def test_invariant_to_translation_and_to_voxels_outside_the_mask(shape, n_levels, seed, offset):
    check_translation_invariance(ngldm.compute, shape, n_levels, seed, offset)


@FAST
@given(shape=shape_strategy(5), seed=st.integers(0, 2**32 - 1), scale=st.integers(1, 7), shift=st.integers(-500, 500))
def test_fixed_bin_number_features_unchanged_by_positive_affine_intensity_change(shape, seed, scale, shift):
    check_affine_invariance(ngldm.compute, shape, seed, scale, shift, bin_number=6)


def test_degenerate_inputs_give_defined_values_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = as_dict(ngldm.compute(make_roi(np.ones((1, 1, 1), np.int32))))
        empty = ngldm.compute(make_roi(np.zeros((2, 2, 2), np.int32), n_levels=1))
    for a in AGGS:
        assert one[("low_dependence_emphasis", a)] == 1.0
        assert one[("high_dependence_emphasis", a)] == 1.0
        assert one[("dependence_count_entropy", a)] == 0.0
        assert one[("dependence_count_energy", a)] == 1.0
        assert one[("dependence_count_variance", a)] == 0.0
    assert len(empty) == 51 and all(math.isnan(v) for _, _, v in empty)
