"""GLDZM family: distance map against IBSI's iterative erosion, the manual's example, the morphological mask as the
distance base, feature formulas, aggregation, invariances and degenerate inputs. IBSI reference rows are in
tests/test_ibsi_reference.py."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from radiomix.features import gldzm
from radiomix.features.glszm import CountMatrix
from radiomix.kernels.zone_kernels import _cityblock_distance, distance_map_reference, zone_table

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
@given(shape=shape_strategy(8), seed=st.integers(0, 2**32 - 1), planar=st.booleans(), fill=st.floats(0.3, 1.0))
def test_distance_kernel_matches_iterative_erosion(shape, seed, planar, fill):
    mask = np.random.default_rng(seed).random(shape) < fill
    np.testing.assert_array_equal(_cityblock_distance(mask, planar), distance_map_reference(mask, planar))


def test_distance_map_of_the_manual_example():
    d = distance_map_reference(np.ones((1, 4, 4), bool), planar=True)[0]
    np.testing.assert_array_equal(d, [[1, 1, 1, 1], [1, 2, 2, 1], [1, 2, 2, 1], [1, 1, 1, 1]])
    # 3D uses 6-connectivity: the centre of a 3x3x3 cube is 2 steps from outside, a 5x5x5 cube's centre 3
    cube = np.ones((5, 5, 5), bool)
    assert _cityblock_distance(cube, False)[2, 2, 2] == 3
    assert _cityblock_distance(cube, True)[2, 2, 2] == 3  # in-plane only: 2 steps to the x/y edge, +1
    assert _cityblock_distance(cube, False)[1, 1, 1] == 2


def test_manual_example_matrix():
    t = zone_table(EXAMPLE[None], np.ones((1, 4, 4), bool), planar=True)
    m = CountMatrix.from_pairs(t.level, t.distance, 16)
    # 8-connected zones; only the level-4 zone at (2, 2) lies off the edge (distance 2)
    np.testing.assert_array_equal(m.j, [1, 2])
    np.testing.assert_array_equal(m.s, [[3, 0], [1, 0], [2, 0], [1, 1]])


def test_distance_comes_from_the_morphological_mask():
    lv = np.full((1, 5, 5), 1, np.int32)
    lv[0, 1:4, 1:4] = 2
    morph = np.ones((1, 5, 5), bool)
    intensity = morph.copy()
    intensity[0, 2, 2] = False  # re-segmentation removed the centre voxel
    res_morph = as_dict(gldzm.compute(make_roi(lv, intensity, mask_morph=morph)))
    res_int = as_dict(gldzm.compute(make_roi(lv, intensity, mask_morph=intensity)))
    # 2D zones: the level-1 outer ring (distance 1) and the level-2 inner ring, which lies at distance 2 from the
    # edge of the morphological mask but would touch the hole (distance 1) if the intensity mask defined the edge
    assert res_morph[("large_distance_emphasis", "2d")] == pytest.approx((1 + 4) / 2)
    assert res_int[("large_distance_emphasis", "2d")] == pytest.approx(1.0)
    assert res_morph[("zone_percentage", "2d")] == pytest.approx(2 / 24)
    # a single slice is all edge in 3D (its z neighbours lie outside the ROI)
    assert res_morph[("large_distance_emphasis", "3d")] == pytest.approx(1.0)


def test_zone_distance_is_the_minimum_over_its_voxels():
    lv = np.full((1, 7, 7), 1, np.int32)
    lv[0, 1:6, 3] = 2  # a vertical bar from the edge ring to the centre
    t = zone_table(lv, np.ones_like(lv, bool), planar=True)
    bar = t.level == 2
    assert t.distance[bar].tolist() == [2]  # voxels at distances 2, 3, 4, 3, 2 -> zone distance 2


def test_features_match_definitions():
    pairs = [(1, 1), (1, 1), (1, 1), (2, 1), (3, 1), (3, 1), (4, 1), (4, 2)]
    m = CountMatrix.from_pairs([i for i, _ in pairs], [j for _, j in pairs], 16)
    ns = len(pairs)
    assert gldzm.small_distance_emphasis(m) == pytest.approx(sum(1 / j**2 for _, j in pairs) / ns)
    assert gldzm.large_distance_high_grey_level_emphasis(m) == pytest.approx(sum(i**2 * j**2 for i, j in pairs) / ns)
    assert gldzm.large_distance_low_grey_level_emphasis(m) == pytest.approx(sum(j**2 / i**2 for i, j in pairs) / ns)
    assert gldzm.zone_distance_non_uniformity(m) == pytest.approx((49 + 1) / 8)
    assert gldzm.normalised_grey_level_non_uniformity(m) == pytest.approx((9 + 1 + 4 + 4) / 64)
    assert gldzm.zone_distance_variance(m) == pytest.approx(np.var([j for _, j in pairs]))
    assert gldzm.zone_percentage(m) == pytest.approx(0.5)


def test_registry_is_complete():
    assert len(gldzm.FEATURES) == 16 and len({f.name for f in gldzm.FEATURES}) == 16
    assert all(f.ibsi and f.formula for f in gldzm.FEATURES)
    assert gldzm.FAMILY.ibsi == "VMDZ"


@FAST
@given(shape=shape_strategy(), n_levels=st.integers(1, 5), seed=st.integers(0, 2**32 - 1), planar=st.booleans())
def test_matrix_normalised_and_entropy_bounded(shape, n_levels, seed, planar):
    lv, mask = random_case(np.random.default_rng(seed), shape, n_levels)
    t = zone_table(lv, mask, planar=planar)
    assert t.distance.min() >= 1
    m = CountMatrix.from_pairs(t.level, t.distance, int(mask.sum()))
    assert m.p.sum() == pytest.approx(1.0)
    assert -1e-12 <= gldzm.zone_distance_entropy(m) <= math.log2(np.count_nonzero(m.s)) + 1e-12
    assert 0 < gldzm.small_distance_emphasis(m) <= 1


@FAST
@given(shape=shape_strategy(5), n_levels=st.integers(1, 4), seed=st.integers(0, 2**32 - 1),
       offset=st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)))
def test_invariant_to_translation_and_to_voxels_outside_the_mask(shape, n_levels, seed, offset):
    check_translation_invariance(gldzm.compute, shape, n_levels, seed, offset)


@FAST
@given(shape=shape_strategy(5), seed=st.integers(0, 2**32 - 1), scale=st.integers(1, 7), shift=st.integers(-500, 500))
def test_fixed_bin_number_features_unchanged_by_positive_affine_intensity_change(shape, seed, scale, shift):
    check_affine_invariance(gldzm.compute, shape, seed, scale, shift, bin_number=5)


def test_degenerate_inputs_give_defined_values_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = as_dict(gldzm.compute(make_roi(np.ones((1, 1, 1), np.int32))))
        flat = as_dict(gldzm.compute(make_roi(np.full((5, 5, 5), 3, np.int32))))
        empty = gldzm.compute(make_roi(np.zeros((2, 2, 2), np.int32), n_levels=1))
    for a in AGGS:
        assert one[("small_distance_emphasis", a)] == 1.0
        assert one[("zone_distance_entropy", a)] == 0.0
    assert flat[("large_distance_emphasis", "3d")] == 1.0  # one zone, touching the edge
    assert flat[("zone_percentage", "2d")] == pytest.approx(1 / 25)
    assert all(math.isnan(v) for _, _, v in empty) and len(empty) == 48
