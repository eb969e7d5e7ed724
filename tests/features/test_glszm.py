"""GLSZM family: zone kernel against the SciPy reference, a hand-worked matrix, feature formulas, IBSI aggregation,
invariances (translation, voxels outside the mask, affine intensity change under FBN) and degenerate inputs.
IBSI reference rows are in tests/test_ibsi_reference.py. Helpers here are shared by the GLDZM/NGTDM/NGLDM tests."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radiomix.features import glszm
from radiomix.features.base import RoiData
from radiomix.features.glszm import CountMatrix
from radiomix.kernels.zone_kernels import zone_table, zone_table_reference
from radiomix.preprocess.discretise import discretise
from radiomix.settings import Discretisation, Settings, Texture

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AGGS = ("2d", "2.5d", "3d")


def make_roi(levels, mask=None, mask_morph=None, n_levels=None, aggregations=AGGS, **texture) -> RoiData:
    """RoiData from grey levels (0 = outside the ROI unless ``mask`` is given)."""
    levels = np.asarray(levels, dtype=np.int32)
    if levels.ndim == 2:
        levels = levels[None]
    mask = levels > 0 if mask is None else np.asarray(mask, dtype=bool).reshape(levels.shape)
    morph = mask if mask_morph is None else np.asarray(mask_morph, dtype=bool).reshape(levels.shape)
    lv = np.where(mask, levels, 0).astype(np.int32)
    n = max(int(lv.max()), 1) if n_levels is None else n_levels
    s = Settings(discretisation=Discretisation(method="none"), texture=Texture(aggregations=aggregations, **texture))
    return RoiData(image=lv.astype(float), mask_morph=morph, mask_int=mask, spacing=(1.0, 1.0, 1.0), levels=lv,
                   n_levels=n, settings=s)


def as_dict(results):
    return {(f, a): v for f, a, v in results}


def random_case(rng, shape, n_levels, hole_fraction=0.25):
    lv = rng.integers(1, n_levels + 1, size=shape).astype(np.int32)
    mask = rng.random(shape) >= hole_fraction
    mask.flat[rng.integers(mask.size)] = True
    return lv, mask


def assert_same_results(a, b):
    da, db = as_dict(a), as_dict(b)
    assert da.keys() == db.keys()
    for k in da:
        if math.isnan(da[k]):
            assert math.isnan(db[k]), k
        else:
            assert db[k] == pytest.approx(da[k], rel=1e-9, abs=1e-12), k


def shape_strategy(max_side=6):
    return st.tuples(st.integers(1, 4), st.integers(1, max_side), st.integers(1, max_side))


def check_translation_invariance(compute, shape, n_levels, seed, offset):
    """``compute`` gives the same results when the ROI is moved inside a larger volume with noise outside the mask."""
    rng = np.random.default_rng(seed)
    lv, mask = random_case(rng, shape, n_levels)
    base = compute(make_roi(lv, mask))
    big_shape = tuple(s + 4 for s in shape)
    big_lv = rng.integers(1, n_levels + 1, size=big_shape).astype(np.int32)  # noise outside the ROI
    big_mask = np.zeros(big_shape, bool)
    box = tuple(slice(o, o + s) for o, s in zip(offset, shape))
    big_lv[box], big_mask[box] = lv, mask
    assert_same_results(base, compute(make_roi(big_lv, big_mask, n_levels=n_levels)))


def check_affine_invariance(compute, shape, seed, scale, shift, bin_number=6):
    """With a fixed bin number, ``compute`` is unchanged by a positive affine change of the intensities."""
    rng = np.random.default_rng(seed)
    image = rng.integers(-50, 50, size=shape).astype(float)
    mask = rng.random(shape) > 0.2
    mask.flat[0] = True
    fbn = Discretisation(method="fixed_bin_number", bin_number=bin_number)

    def run(img):
        lv, n = discretise(img, mask, fbn)
        return compute(make_roi(lv, mask, n_levels=n))

    assert_same_results(run(image), run(scale * image + shift))


# --- kernel against the reference ------------------------------------------------------------------------------------
@FAST
@given(shape=st.tuples(st.integers(1, 6), st.integers(1, 9), st.integers(1, 9)), n_levels=st.integers(1, 4),
       seed=st.integers(0, 2**32 - 1), planar=st.booleans())
def test_zone_kernel_matches_scipy_reference(shape, n_levels, seed, planar):
    rng = np.random.default_rng(seed)
    lv, mask = random_case(rng, shape, n_levels)
    morph = mask | (rng.random(shape) < 0.3)
    fast = zone_table(lv, mask, morph, planar=planar).sorted()
    ref = zone_table_reference(lv, mask, morph, planar=planar).sorted()
    for field in ("level", "size", "distance", "slice", "n_voxels"):
        np.testing.assert_array_equal(getattr(fast, field), getattr(ref, field), err_msg=field)


def test_zone_kernel_on_a_large_random_volume():
    rng = np.random.default_rng(7)
    lv, mask = random_case(rng, (12, 30, 30), 3, hole_fraction=0.1)
    morph = np.ones_like(mask)  # holes of the intensity mask are not edges of the morphological mask
    for planar in (False, True):
        fast = zone_table(lv, mask, morph, planar=planar).sorted()
        ref = zone_table_reference(lv, mask, morph, planar=planar).sorted()
        for field in ("level", "size", "distance", "slice"):
            np.testing.assert_array_equal(getattr(fast, field), getattr(ref, field), err_msg=field)
        assert fast.size.sum() == mask.sum()
        assert fast.distance.max() > 1


# --- a hand-worked example ---------------------------------------------------------------------------------------------
EXAMPLE = np.array([[1, 2, 2, 3],
                    [1, 2, 3, 3],
                    [4, 2, 4, 1],
                    [4, 1, 2, 3]])


def test_hand_worked_matrix_uses_8_connectivity_in_2d():
    # level 1: {(0,0),(1,0)}, {(2,3)}, {(3,1)}; level 2: five voxels linked through the diagonal (2,1)-(3,2);
    # level 3: {(0,3),(1,2),(1,3)}, {(3,3)}; level 4: {(2,0),(3,0)}, {(2,2)}
    t = zone_table(EXAMPLE[None], np.ones((1, 4, 4), bool), planar=True)
    got = sorted(zip(t.level.tolist(), t.size.tolist()))
    assert got == [(1, 1), (1, 1), (1, 2), (2, 5), (3, 1), (3, 3), (4, 1), (4, 2)]
    m = CountMatrix.from_pairs(t.level, t.size, 16)
    np.testing.assert_array_equal(m.i, [1, 2, 3, 4])
    np.testing.assert_array_equal(m.j, [1, 2, 3, 5])
    np.testing.assert_array_equal(m.s, [[2, 1, 0, 0], [0, 0, 0, 1], [1, 0, 1, 0], [1, 1, 0, 0]])


def test_features_on_the_hand_worked_example():
    m = CountMatrix.from_pairs([1, 1, 1, 2, 3, 3, 4, 4], [1, 1, 2, 5, 1, 3, 1, 2], 16)
    zones = [(1, 1), (1, 1), (1, 2), (2, 5), (3, 1), (3, 3), (4, 1), (4, 2)]
    ns = len(zones)
    assert glszm.small_zone_emphasis(m) == pytest.approx(sum(1 / j**2 for _, j in zones) / ns)
    assert glszm.large_zone_high_grey_level_emphasis(m) == pytest.approx(sum(i**2 * j**2 for i, j in zones) / ns)
    assert glszm.small_zone_low_grey_level_emphasis(m) == pytest.approx(sum(1 / (i * j) ** 2 for i, j in zones) / ns)
    assert glszm.grey_level_non_uniformity(m) == pytest.approx((9 + 1 + 4 + 4) / 8)
    assert glszm.normalised_zone_size_non_uniformity(m) == pytest.approx((16 + 4 + 1 + 1) / 64)
    assert glszm.zone_percentage(m) == pytest.approx(8 / 16)
    i = np.array([i for i, _ in zones], float)
    j = np.array([j for _, j in zones], float)
    assert glszm.grey_level_variance(m) == pytest.approx(np.var(i))
    assert glszm.zone_size_variance(m) == pytest.approx(np.var(j))
    # cells: (1,1) twice, six cells once -> p = 2/8 and 1/8
    assert glszm.zone_size_entropy(m) == pytest.approx(-(0.25 * math.log2(0.25) + 6 * 0.125 * math.log2(0.125)))


# --- aggregation ---------------------------------------------------------------------------------------------------------
def test_aggregations_2d_average_25d_merge_3d_volume():
    lv = np.zeros((3, 4, 4), np.int32)
    lv[0] = EXAMPLE
    lv[2] = 1  # slice 2: one zone of 16 voxels; slice 1 is empty and must not count in the 2D average
    roi = make_roi(lv)
    res = as_dict(glszm.compute(roi))
    assert {a for _, a in res} == set(AGGS)
    sze0 = glszm.small_zone_emphasis(CountMatrix.from_pairs([1, 1, 1, 2, 3, 3, 4, 4], [1, 1, 2, 5, 1, 3, 1, 2], 16))
    sze2 = 1 / 16**2
    assert res[("small_zone_emphasis", "2d")] == pytest.approx((sze0 + sze2) / 2)
    merged = CountMatrix.from_pairs([1, 1, 1, 2, 3, 3, 4, 4, 1], [1, 1, 2, 5, 1, 3, 1, 2, 16], 32)
    assert res[("small_zone_emphasis", "2.5d")] == pytest.approx(glszm.small_zone_emphasis(merged))
    assert res[("zone_percentage", "2.5d")] == pytest.approx(9 / 32)
    # 3D: slice 1 is empty, so the zones of slices 0 and 2 stay apart and the 3D matrix equals the merged one
    assert res[("zone_percentage", "3d")] == pytest.approx(9 / 32)
    assert res[("small_zone_emphasis", "3d")] == pytest.approx(glszm.small_zone_emphasis(merged))


def test_3d_zones_link_across_slices_with_26_connectivity():
    lv = np.zeros((2, 3, 3), np.int32)
    lv[0, 0, 0] = 1
    lv[1, 1, 1] = 1  # diagonal neighbour in 3D
    res = as_dict(glszm.compute(make_roi(lv)))
    assert res[("zone_percentage", "3d")] == pytest.approx(1 / 2)
    assert res[("zone_percentage", "2.5d")] == pytest.approx(2 / 2)


def test_glcm_style_aggregations_are_ignored():
    roi = make_roi(EXAMPLE, aggregations=("3d_averaged", "2d_averaged", "3d"))
    assert {a for _, a, _ in glszm.compute(roi)} == {"3d"}
    assert glszm.compute(make_roi(EXAMPLE, aggregations=("3d_averaged",))) == []


def test_registry_is_complete():
    assert len(glszm.FEATURES) == 16
    assert len({f.name for f in glszm.FEATURES}) == 16
    assert all(f.ibsi and f.formula for f in glszm.FEATURES)
    assert glszm.FAMILY.ibsi == "9SAK" and glszm.FAMILY.feature("small_zone_emphasis").ibsi == "5QRC"


# --- properties ----------------------------------------------------------------------------------------------------------
@FAST
@given(shape=shape_strategy(), n_levels=st.integers(1, 5), seed=st.integers(0, 2**32 - 1), planar=st.booleans())
def test_matrix_normalised_and_entropy_bounded(shape, n_levels, seed, planar):
    rng = np.random.default_rng(seed)
    lv, mask = random_case(rng, shape, n_levels)
    t = zone_table(lv, mask, planar=planar)
    m = CountMatrix.from_pairs(t.level, t.size, int(mask.sum()))
    assert m.p.sum() == pytest.approx(1.0)
    assert m.s.sum() == len(t.size) and (t.size * 1).sum() == mask.sum()
    h = glszm.zone_size_entropy(m)
    assert -1e-12 <= h <= math.log2(np.count_nonzero(m.s)) + 1e-12
    assert 0 < glszm.zone_percentage(m) <= 1
    assert 0 < glszm.small_zone_emphasis(m) <= 1
    assert 0 < glszm.normalised_grey_level_non_uniformity(m) <= 1


@FAST
@given(shape=shape_strategy(5), n_levels=st.integers(1, 4), seed=st.integers(0, 2**32 - 1),
       offset=st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)))
def test_invariant_to_translation_and_to_voxels_outside_the_mask(shape, n_levels, seed, offset):
    check_translation_invariance(glszm.compute, shape, n_levels, seed, offset)


@FAST
@given(shape=shape_strategy(5), seed=st.integers(0, 2**32 - 1), scale=st.integers(1, 7), shift=st.integers(-500, 500))
def test_fixed_bin_number_features_unchanged_by_positive_affine_intensity_change(shape, seed, scale, shift):
    check_affine_invariance(glszm.compute, shape, seed, scale, shift, bin_number=6)


# --- degenerate inputs -------------------------------------------------------------------------------------------------
def test_degenerate_inputs_give_defined_values_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = as_dict(glszm.compute(make_roi(np.ones((1, 1, 1), np.int32))))
        flat = as_dict(glszm.compute(make_roi(np.full((3, 4, 5), 2, np.int32))))
    for a in AGGS:
        assert one[("small_zone_emphasis", a)] == 1.0
        assert one[("zone_size_entropy", a)] == 0.0
        assert one[("zone_percentage", a)] == 1.0
        assert one[("grey_level_variance", a)] == 0.0
    assert flat[("small_zone_emphasis", "3d")] == pytest.approx(1 / 60**2)
    assert flat[("small_zone_emphasis", "2d")] == pytest.approx(1 / 20**2)
    assert flat[("zone_percentage", "2.5d")] == pytest.approx(3 / 60)
    assert flat[("zone_size_variance", "3d")] == 0.0


def test_empty_roi_gives_nan():
    roi = make_roi(np.zeros((2, 3, 3), np.int32), n_levels=1)
    res = glszm.compute(roi)
    assert len(res) == 16 * 3 and all(math.isnan(v) for _, _, v in res)


@pytest.mark.parametrize("top", [5, 200, 40000])
def test_zone_table_label_dtypes_match_reference(top):
    """The label array is int8 / int16 / int32 depending on the largest level; the zones are the same."""
    rng = np.random.default_rng(top)
    lv = rng.integers(max(1, top - 3), top + 1, size=(5, 7, 6)).astype(np.int32)
    mask = rng.random(lv.shape) < 0.7
    for planar in (False, True):
        fast = zone_table(lv, mask, planar=planar).sorted()
        ref = zone_table_reference(lv, mask, planar=planar).sorted()
        for name in ("level", "size", "distance", "slice", "n_voxels"):
            np.testing.assert_array_equal(getattr(fast, name), getattr(ref, name))
