"""GLCM family: numba kernel against the NumPy reference, features against their definitions written as plain loops,
IBSI aggregation, invariances and degenerate inputs. IBSI reference rows are in tests/test_ibsi_reference.py."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from radiomix.features import glcm
from radiomix.features.base import RoiData
from radiomix.kernels.glcm_kernels import glcm_counts_reference
from radiomix.kernels.texture_common import (
    DIRECTIONAL_AGGREGATIONS,
    DIRECTIONS_2D,
    DIRECTIONS_3D,
    level_volume,
    mean_defined,
)
from radiomix.settings import Discretisation, Settings, Texture

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make_roi(levels, mask=None, n_levels=None, aggregations=DIRECTIONAL_AGGREGATIONS, **texture) -> RoiData:
    levels = np.asarray(levels, dtype=np.int32)
    if levels.ndim == 2:
        levels = levels[None]
    mask = levels > 0 if mask is None else np.asarray(mask, dtype=bool).reshape(levels.shape)
    lv = np.where(mask, levels, 0).astype(np.int32)
    n = int(lv.max()) if n_levels is None else n_levels
    s = Settings(discretisation=Discretisation(method="none"), texture=Texture(aggregations=aggregations, **texture))
    return RoiData(image=lv.astype(float), mask_morph=mask, mask_int=mask, spacing=(1.0, 1.0, 1.0), levels=lv,
                   n_levels=n, settings=s)


def as_dict(results):
    return {(f, a): v for f, a, v in results}


def random_lv(rng, shape, n_levels, hole_fraction=0.2):
    lv = rng.integers(1, n_levels + 1, size=shape).astype(np.int32)
    lv[rng.random(shape) < hole_fraction] = 0
    return lv


# --- kernel against the reference ------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("distance", [1, 2])
def test_kernel_matches_numpy_reference_3d(seed, symmetric, distance):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(1, 9, size=3))
    n = int(rng.integers(1, 7))
    lv = random_lv(rng, shape, n)
    fast = glcm.count_matrices(lv, DIRECTIONS_3D, n, distance, symmetric)[0]
    ref = glcm_counts_reference(lv, DIRECTIONS_3D, n, distance, symmetric)
    np.testing.assert_array_equal(fast, ref)


@pytest.mark.parametrize("seed", range(4))
def test_kernel_per_slice_matches_reference_slice_by_slice(seed):
    rng = np.random.default_rng(100 + seed)
    lv = random_lv(rng, (5, 7, 6), 5)
    z0, z1 = 1, 4
    fast = glcm.count_matrices(lv, DIRECTIONS_2D, 5, 1, True, z0, z1, per_slice=True)
    assert fast.shape == (z1 - z0, 4, 5, 5)
    for s, z in enumerate(range(z0, z1)):
        np.testing.assert_array_equal(fast[s], glcm_counts_reference(lv[z:z + 1], DIRECTIONS_2D, 5))


def test_kernel_small_example_by_hand():
    lv = np.array([[[1, 2], [2, 3]]], dtype=np.int32)
    c = glcm.count_matrices(lv, DIRECTIONS_2D, 3, 1, False)[0]
    # 0 degrees (dx=1): (1,2), (2,3); 45 degrees (dy=1, dx=1): (1,3); 90 degrees: (1,2), (2,3); 135: (2,2)
    expect = np.zeros((4, 3, 3), dtype=int)
    expect[0, 0, 1] = expect[0, 1, 2] = 1
    expect[1, 0, 2] = 1
    expect[2, 0, 1] = expect[2, 1, 2] = 1
    expect[3, 1, 1] = 1
    np.testing.assert_array_equal(c, expect)
    sym = glcm.count_matrices(lv, DIRECTIONS_2D, 3, 1, True)[0]
    np.testing.assert_array_equal(sym, expect + expect.transpose(0, 2, 1))


def test_pairs_need_both_voxels_in_mask():
    lv = np.array([[[1, 0, 1]]], dtype=np.int32)
    assert glcm.count_matrices(lv, DIRECTIONS_3D, 1, 1, True).sum() == 0
    # at distance 2 the two voxels are neighbours along x
    assert glcm.count_matrices(lv, DIRECTIONS_3D, 1, 2, True)[0, 0, 0, 0] == 2


def test_level_volume_crops_and_zeroes_outside():
    levels = np.zeros((4, 5, 6), dtype=np.int32)
    levels[1:3, 2:4, 1:5] = 3
    mask = levels > 0
    levels[0, 0, 0] = 9  # outside the mask: ignored
    lv = level_volume(levels, mask, 3)
    assert lv.shape == (2, 2, 4) and lv.dtype == np.int32 and (lv == 3).all()
    with pytest.raises(ValueError):
        level_volume(levels, levels > 0, 3)


# --- features against their definitions ------------------------------------------------------------------------------
def loop_features(p: np.ndarray) -> dict[str, float]:
    """The IBSI 3.6 definitions written as explicit loops over (i, j), independent of the module's shortcuts."""
    ng = p.shape[0]
    f = {}
    L = range(1, ng + 1)
    P = lambda i, j: p[i - 1, j - 1]
    px = [sum(P(i, j) for j in L) for i in L]
    py = [sum(P(i, j) for i in L) for j in L]
    mu = sum(i * P(i, j) for i in L for j in L)
    mux = sum(i * px[i - 1] for i in L)
    muy = sum(j * py[j - 1] for j in L)
    sx = math.sqrt(sum((i - mux) ** 2 * px[i - 1] for i in L))
    sy = math.sqrt(sum((j - muy) ** 2 * py[j - 1] for j in L))
    pd = [sum(P(i, j) for i in L for j in L if abs(i - j) == k) for k in range(ng)]
    ps = {k: sum(P(i, j) for i in L for j in L if i + j == k) for k in range(2, 2 * ng + 1)}
    H = lambda q: -sum(v * math.log2(v) for v in q if v > 0)
    f["joint_maximum"] = p.max()
    f["joint_average"] = mu
    f["joint_variance"] = sum((i - mu) ** 2 * P(i, j) for i in L for j in L)
    f["joint_entropy"] = H(p.ravel())
    da = sum(k * pd[k] for k in range(ng))
    f["difference_average"] = da
    f["difference_variance"] = sum((k - da) ** 2 * pd[k] for k in range(ng))
    f["difference_entropy"] = H(pd)
    sa = sum(k * v for k, v in ps.items())
    f["sum_average"] = sa
    f["sum_variance"] = sum((k - sa) ** 2 * v for k, v in ps.items())
    f["sum_entropy"] = H(ps.values())
    f["angular_second_moment"] = sum(P(i, j) ** 2 for i in L for j in L)
    f["contrast"] = sum((i - j) ** 2 * P(i, j) for i in L for j in L)
    f["dissimilarity"] = sum(abs(i - j) * P(i, j) for i in L for j in L)
    f["inverse_difference"] = sum(P(i, j) / (1 + abs(i - j)) for i in L for j in L)
    f["normalised_inverse_difference"] = sum(P(i, j) / (1 + abs(i - j) / ng) for i in L for j in L)
    f["inverse_difference_moment"] = sum(P(i, j) / (1 + (i - j) ** 2) for i in L for j in L)
    f["normalised_inverse_difference_moment"] = sum(P(i, j) / (1 + (i - j) ** 2 / ng**2) for i in L for j in L)
    f["inverse_variance"] = sum(P(i, j) / (i - j) ** 2 for i in L for j in L if i != j)
    ac = sum(i * j * P(i, j) for i in L for j in L)
    f["correlation"] = (ac - mux * muy) / (sx * sy)
    f["autocorrelation"] = ac
    f["cluster_tendency"] = sum((i + j - mux - muy) ** 2 * P(i, j) for i in L for j in L)
    f["cluster_shade"] = sum((i + j - mux - muy) ** 3 * P(i, j) for i in L for j in L)
    f["cluster_prominence"] = sum((i + j - mux - muy) ** 4 * P(i, j) for i in L for j in L)
    hxy = f["joint_entropy"]
    hxy1 = -sum(P(i, j) * math.log2(px[i - 1] * py[j - 1]) for i in L for j in L if P(i, j) > 0)
    hxy2 = -sum(px[i - 1] * py[j - 1] * math.log2(px[i - 1] * py[j - 1]) for i in L for j in L
                if px[i - 1] * py[j - 1] > 0)
    f["information_correlation_1"] = (hxy - hxy1) / max(H(px), H(py))
    f["information_correlation_2"] = math.sqrt(1 - math.exp(-2 * (hxy2 - hxy)))
    return f


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("symmetric", [True, False])
def test_features_match_loop_definitions(seed, symmetric):
    rng = np.random.default_rng(seed)
    ng = int(rng.integers(2, 8))
    counts = rng.integers(0, 6, size=(ng, ng)) * (rng.random((ng, ng)) < 0.7)
    counts[0, -1] += 1  # at least two grey levels
    if symmetric:
        counts = counts + counts.T
    m = glcm.Cooccurrence.from_counts(counts)
    ref = loop_features(m.p)
    assert set(ref) == {f.name for f in glcm.FEATURES}
    for feat in glcm.FEATURES:
        assert feat.func(m) == pytest.approx(ref[feat.name], rel=1e-9, abs=1e-12), feat.name


def test_registry_is_complete_and_documented():
    assert len(glcm.FEATURES) == 25
    assert glcm.FAMILY.ibsi == "LFYI"
    assert len({f.name for f in glcm.FEATURES}) == 25 and len({f.ibsi for f in glcm.FEATURES}) == 25
    for f in glcm.FEATURES:
        assert f"IBSI {f.ibsi}" in f.formula and ":math:" in f.formula, f.name


# --- aggregation --------------------------------------------------------------------------------------------------
def test_aggregations_match_reference_matrices():
    rng = np.random.default_rng(7)
    lv = random_lv(rng, (4, 6, 7), 5, hole_fraction=0.15)
    lv[:, 0, 0] = 5  # Ng present
    roi = make_roi(lv, n_levels=5)
    got = as_dict(glcm.compute(roi))
    names = [f.name for f in glcm.FEATURES]
    n = len(names)

    per_slice = [glcm_counts_reference(lv[z:z + 1], DIRECTIONS_2D, 5) for z in range(lv.shape[0])]
    vol3 = glcm_counts_reference(lv, DIRECTIONS_3D, 5)
    expect = {
        "2d_averaged": mean_defined([v for s in per_slice for c in s if (v := glcm.evaluate(c)) is not None], n),
        "2d_slice_merged": mean_defined([glcm.evaluate(s.sum(0)) for s in per_slice], n),
        "2.5d_direction_merged": mean_defined([glcm.evaluate(c) for c in np.sum(per_slice, axis=0)], n),
        "2.5d_merged": glcm.evaluate(np.sum(per_slice, axis=(0, 1))),
        "3d_averaged": mean_defined([glcm.evaluate(c) for c in vol3], n),
        "3d_merged": glcm.evaluate(vol3.sum(0)),
    }
    assert len(got) == 6 * n
    for agg, vals in expect.items():
        for k, name in enumerate(names):
            assert got[(name, agg)] == pytest.approx(vals[k], rel=1e-12, nan_ok=True), (name, agg)
    # the aggregations really differ from each other on this input
    assert len({round(got[("joint_entropy", a)], 9) for a in DIRECTIONAL_AGGREGATIONS}) >= 4


def test_only_requested_aggregations_and_single_matrix_names_ignored():
    roi = make_roi(np.array([[[1, 2, 2], [2, 1, 1]]]), aggregations=("3d_merged", "2d", "3d"))
    got = glcm.compute(roi)
    assert {a for _, a, _ in got} == {"3d_merged"}
    assert [f for f, _, _ in got] == [f.name for f in glcm.FEATURES]


def test_distance_setting_is_used():
    rng = np.random.default_rng(3)
    lv = random_lv(rng, (3, 6, 6), 4, 0.0)
    roi = make_roi(lv, n_levels=4, aggregations=("3d_merged",), glcm_distance=2)
    got = as_dict(glcm.compute(roi))
    ref = glcm.evaluate(glcm_counts_reference(lv, DIRECTIONS_3D, 4, distance=2).sum(0))
    assert got[("joint_entropy", "3d_merged")] == pytest.approx(ref[3])


# --- properties -------------------------------------------------------------------------------------------------------
volumes = arrays(np.int32, st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 6)),
                 elements=st.integers(0, 5))


@FAST
@given(lv=volumes, symmetric=st.booleans())
def test_normalised_matrix_properties(lv, symmetric):
    counts = glcm.count_matrices(lv, DIRECTIONS_3D, 5, 1, symmetric)[0]
    for c in (*counts, counts.sum(0)):
        if not c.any():
            assert glcm.evaluate(c) is None
            continue
        m = glcm.Cooccurrence.from_counts(c)
        assert m.p.sum() == pytest.approx(1.0)
        assert m.p_sum.sum() == pytest.approx(1.0) and m.p_diff.sum() == pytest.approx(1.0)
        if symmetric:
            np.testing.assert_array_equal(m.p, m.p.T)
        ng = m.n_g
        eps = 1e-9
        assert -eps <= glcm.joint_entropy(m) <= 2 * math.log2(ng) + eps
        assert -eps <= glcm.difference_entropy(m) <= math.log2(ng) + eps
        assert -eps <= glcm.sum_entropy(m) <= math.log2(2 * ng - 1) + eps
        assert 0 < glcm.angular_second_moment(m) <= 1 + eps
        ic2 = glcm.information_correlation_2(m)
        assert 0 <= ic2 <= 1


@FAST
@given(lv=volumes.filter(lambda a: (a > 0).sum() >= 2), shift=st.tuples(*(st.integers(0, 3),) * 3),
       noise=st.integers(0, 2**31 - 1))
def test_invariant_to_translation_and_to_voxels_outside_mask(lv, shift, noise):
    n = 5
    base = as_dict(glcm.compute(make_roi(lv, n_levels=n)))
    # translate the ROI inside a larger array whose voxels outside the mask hold random levels
    shape = tuple(s + 2 * k + 1 for s, k in zip(lv.shape, shift))
    rng = np.random.default_rng(noise)
    big = rng.integers(1, n + 1, size=shape).astype(np.int32)
    mask = np.zeros(shape, dtype=bool)
    box = tuple(slice(k, k + s) for k, s in zip(shift, lv.shape))
    big[box] = np.where(lv > 0, lv, big[box])
    mask[box] = lv > 0
    moved = as_dict(glcm.compute(make_roi(big, mask, n_levels=n)))
    assert moved.keys() == base.keys()
    for k, v in base.items():
        assert moved[k] == pytest.approx(v, rel=1e-12, abs=1e-12, nan_ok=True), k


# --- degenerate inputs -----------------------------------------------------------------------------------------------
def _compute_quietly(roi):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return as_dict(glcm.compute(roi))


def test_one_grey_level_gives_defined_values_and_documented_nan():
    got = _compute_quietly(make_roi(np.ones((2, 3, 3), dtype=np.int32), n_levels=3))
    for agg in DIRECTIONAL_AGGREGATIONS:
        assert got[("joint_maximum", agg)] == 1.0
        assert got[("joint_entropy", agg)] == 0.0
        assert got[("joint_average", agg)] == 1.0
        assert got[("information_correlation_2", agg)] == 0.0
        assert math.isnan(got[("correlation", agg)])
        assert math.isnan(got[("information_correlation_1", agg)])


def test_one_voxel_gives_nan_everywhere():
    got = _compute_quietly(make_roi(np.array([[[0, 0], [0, 2]]]), n_levels=2))
    assert len(got) == 6 * 25 and all(math.isnan(v) for v in got.values())


def test_slices_without_pairs_are_left_out_of_2d_averages():
    lv = np.zeros((2, 3, 3), dtype=np.int32)
    lv[0] = [[1, 2, 1], [2, 2, 1], [1, 1, 1]]
    lv[1, 1, 1] = 2  # a lone voxel: no in-plane pairs
    full = _compute_quietly(make_roi(lv, n_levels=2))
    alone = _compute_quietly(make_roi(lv[:1], n_levels=2))
    for name in ("joint_entropy", "contrast", "correlation"):
        assert full[(name, "2d_averaged")] == pytest.approx(alone[(name, "2d_averaged")])
        assert full[(name, "2d_slice_merged")] == pytest.approx(alone[(name, "2d_slice_merged")])


def test_batch_evaluation_equals_one_matrix_at_a_time():
    """evaluate_batch (all directions at once) gives the per-matrix values within round-off, NaN rows for empty
    matrices, and NaN where a feature is undefined (one grey level: correlation, information correlation 1)."""
    from radiomix.features.glcm import evaluate, evaluate_batch

    from .batch_check import assert_batch_matches

    rng = np.random.default_rng(4)
    for n_g in (1, 2, 7, 32):
        stack = rng.integers(0, 5, size=(9, n_g, n_g)).astype(float)
        stack += np.transpose(stack, (0, 2, 1))
        stack[2] = 0.0  # empty
        single = np.zeros((n_g, n_g))
        single[n_g - 1, n_g - 1] = 6.0  # one grey level
        stack[5] = single
        # cluster moments of order 2..4 cancel terms of size ~(2 Ng)^order: round-off scales with those
        atol = np.full(25, 1e-14)
        atol[20:23] = [1e-15 * (2.0 * n_g) ** o for o in (2, 3, 4)]
        assert_batch_matches(evaluate, evaluate_batch, stack, atol)
