"""GLRLM family: numba kernel against the NumPy reference, features against their definitions written as plain loops,
IBSI aggregation, invariances and degenerate inputs. IBSI reference rows are in tests/test_ibsi_reference.py."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from radiomix.features import glrlm
from radiomix.features.base import RoiData
from radiomix.kernels.glrlm_kernels import glrlm_counts_reference
from radiomix.kernels.texture_common import DIRECTIONAL_AGGREGATIONS, DIRECTIONS_2D, DIRECTIONS_3D, mean_defined
from radiomix.settings import Discretisation, Settings, Texture

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make_roi(levels, mask=None, n_levels=None, aggregations=DIRECTIONAL_AGGREGATIONS) -> RoiData:
    levels = np.asarray(levels, dtype=np.int32)
    mask = levels > 0 if mask is None else np.asarray(mask, dtype=bool)
    lv = np.where(mask, levels, 0).astype(np.int32)
    n = int(lv.max()) if n_levels is None else n_levels
    s = Settings(discretisation=Discretisation(method="none"), texture=Texture(aggregations=aggregations))
    return RoiData(image=lv.astype(float), mask_morph=mask, mask_int=mask, spacing=(1.0, 1.0, 1.0), levels=lv,
                   n_levels=n, settings=s)


def as_dict(results):
    return {(f, a): v for f, a, v in results}


def random_lv(rng, shape, n_levels, hole_fraction=0.2):
    lv = rng.integers(1, n_levels + 1, size=shape).astype(np.int32)
    lv[rng.random(shape) < hole_fraction] = 0
    return lv


# --- kernel against the reference ------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(10))
def test_kernel_matches_numpy_reference_3d(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(1, 9, size=3))
    n = int(rng.integers(1, 4))  # few levels: long runs
    lv = random_lv(rng, shape, n, hole_fraction=float(rng.choice([0.0, 0.1, 0.3])))
    nr = max(shape)
    fast = glrlm.count_matrices(lv, DIRECTIONS_3D, n, nr)[0]
    np.testing.assert_array_equal(fast, glrlm_counts_reference(lv, DIRECTIONS_3D, n, nr))


@pytest.mark.parametrize("seed", range(4))
def test_kernel_per_slice_matches_reference_slice_by_slice(seed):
    rng = np.random.default_rng(50 + seed)
    lv = random_lv(rng, (5, 6, 8), 2)
    fast = glrlm.count_matrices(lv, DIRECTIONS_2D, 2, 8, 1, 5, per_slice=True)
    assert fast.shape == (4, 4, 2, 8)
    for s, z in enumerate(range(1, 5)):
        np.testing.assert_array_equal(fast[s], glrlm_counts_reference(lv[z:z + 1], DIRECTIONS_2D, 2, 8))


def test_kernel_small_example_by_hand():
    lv = np.array([[[1, 1, 2, 2, 2], [0, 1, 2, 2, 0]]], dtype=np.int32)
    c = glrlm.count_matrices(lv, DIRECTIONS_2D, 2, 5)[0]
    # 0 degrees: row 0 -> (1, len 2), (2, len 3); row 1 -> (1, 1), (2, 2)
    zero = np.zeros((2, 5), dtype=int)
    zero[0, 1] = zero[1, 2] = zero[0, 0] = zero[1, 1] = 1
    np.testing.assert_array_equal(c[0], zero)
    # 90 degrees (dy=1): columns (1,-), (1,1), (2,2), (2,2), (2,-): runs 1x1, 1x2, 2x2, 2x2, 2x1
    ninety = np.zeros((2, 5), dtype=int)
    ninety[0, 0] = 1
    ninety[0, 1] = 1
    ninety[1, 1] = 2
    ninety[1, 0] = 1
    np.testing.assert_array_equal(c[2], ninety)


@FAST
@given(lv=arrays(np.int32, st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 6)),
                 elements=st.integers(0, 3)))
def test_every_mask_voxel_is_in_exactly_one_run_per_direction(lv):
    nr = max(lv.shape)
    c = glrlm.count_matrices(lv, DIRECTIONS_3D, 3, nr)[0]
    covered = (c * np.arange(1, nr + 1)).sum(axis=(1, 2))
    np.testing.assert_array_equal(covered, np.full(13, np.count_nonzero(lv)))
    per_level = (c * np.arange(1, nr + 1)).sum(axis=2)
    for g in (1, 2, 3):
        np.testing.assert_array_equal(per_level[:, g - 1], np.count_nonzero(lv == g))


# --- features against their definitions ------------------------------------------------------------------------------
def loop_features(r: np.ndarray, n_v: float) -> dict[str, float]:
    """The IBSI 3.7 definitions written as explicit loops over (i, j)."""
    ng, nr = r.shape
    I, J = range(1, ng + 1), range(1, nr + 1)
    R = lambda i, j: r[i - 1, j - 1]
    ns = sum(R(i, j) for i in I for j in J)
    ri = [sum(R(i, j) for j in J) for i in I]
    rj = [sum(R(i, j) for i in I) for j in J]
    p = lambda i, j: R(i, j) / ns
    mu_i = sum(i * p(i, j) for i in I for j in J)
    mu_j = sum(j * p(i, j) for i in I for j in J)
    return {
        "short_runs_emphasis": sum(R(i, j) / j**2 for i in I for j in J) / ns,
        "long_runs_emphasis": sum(R(i, j) * j**2 for i in I for j in J) / ns,
        "low_grey_level_run_emphasis": sum(R(i, j) / i**2 for i in I for j in J) / ns,
        "high_grey_level_run_emphasis": sum(R(i, j) * i**2 for i in I for j in J) / ns,
        "short_run_low_grey_level_emphasis": sum(R(i, j) / (i**2 * j**2) for i in I for j in J) / ns,
        "short_run_high_grey_level_emphasis": sum(R(i, j) * i**2 / j**2 for i in I for j in J) / ns,
        "long_run_low_grey_level_emphasis": sum(R(i, j) * j**2 / i**2 for i in I for j in J) / ns,
        "long_run_high_grey_level_emphasis": sum(R(i, j) * i**2 * j**2 for i in I for j in J) / ns,
        "grey_level_non_uniformity": sum(v**2 for v in ri) / ns,
        "normalised_grey_level_non_uniformity": sum(v**2 for v in ri) / ns**2,
        "run_length_non_uniformity": sum(v**2 for v in rj) / ns,
        "normalised_run_length_non_uniformity": sum(v**2 for v in rj) / ns**2,
        "run_percentage": ns / n_v,
        "grey_level_variance": sum((i - mu_i) ** 2 * p(i, j) for i in I for j in J),
        "run_length_variance": sum((j - mu_j) ** 2 * p(i, j) for i in I for j in J),
        "run_entropy": -sum(p(i, j) * math.log2(p(i, j)) for i in I for j in J if R(i, j) > 0),
    }


@pytest.mark.parametrize("seed", range(6))
def test_features_match_loop_definitions(seed):
    rng = np.random.default_rng(seed)
    lv = random_lv(rng, (3, 7, 7), int(rng.integers(1, 5)))
    counts = glrlm.count_matrices(lv, DIRECTIONS_3D, int(lv.max()), 7)[0]
    for c, n_merged in ((counts[int(rng.integers(13))], 1), (counts.sum(0), 13)):
        n_v = np.count_nonzero(lv) * n_merged
        m = glrlm.RunLength.from_counts(c)
        assert m.n_v == n_v  # every voxel is in one run per merged direction
        ref = loop_features(c.astype(float), n_v)
        assert set(ref) == {f.name for f in glrlm.FEATURES}
        for feat in glrlm.FEATURES:
            assert feat.func(m) == pytest.approx(ref[feat.name], rel=1e-9, abs=1e-12), feat.name


def test_registry_is_complete_and_documented():
    assert len(glrlm.FEATURES) == 16
    assert glrlm.FAMILY.ibsi == "TP0I"
    assert len({f.name for f in glrlm.FEATURES}) == 16 and len({f.ibsi for f in glrlm.FEATURES}) == 16
    for f in glrlm.FEATURES:
        assert f"IBSI {f.ibsi}" in f.formula and ":math:" in f.formula, f.name


# --- aggregation -------------------------------------------------------------------------------------------------
def test_aggregations_match_reference_matrices():
    rng = np.random.default_rng(11)
    lv = random_lv(rng, (4, 6, 7), 3, hole_fraction=0.1)
    lv[:, 0, 0] = 3
    roi = make_roi(lv, n_levels=3)
    got = as_dict(glrlm.compute(roi))
    names = [f.name for f in glrlm.FEATURES]
    n = len(names)
    nr = 7
    per_slice = [glrlm_counts_reference(lv[z:z + 1], DIRECTIONS_2D, 3, nr) for z in range(lv.shape[0])]
    vol3 = glrlm_counts_reference(lv, DIRECTIONS_3D, 3, nr)
    expect = {
        "2d_averaged": mean_defined([glrlm.evaluate(c) for s in per_slice for c in s], n),
        "2d_slice_merged": mean_defined([glrlm.evaluate(s.sum(0)) for s in per_slice], n),
        "2.5d_direction_merged": mean_defined([glrlm.evaluate(c) for c in np.sum(per_slice, axis=0)], n),
        "2.5d_merged": glrlm.evaluate(np.sum(per_slice, axis=(0, 1))),
        "3d_averaged": mean_defined([glrlm.evaluate(c) for c in vol3], n),
        "3d_merged": glrlm.evaluate(vol3.sum(0)),
    }
    assert len(got) == 6 * n
    for agg, vals in expect.items():
        for k, name in enumerate(names):
            assert got[(name, agg)] == pytest.approx(vals[k], rel=1e-12), (name, agg)
    # IBSI: for merged matrices N_v is the voxel count times the number of merged matrices, so the run percentage of
    # the merged matrix is the mean run percentage over directions weighted equally
    rp = "run_percentage"
    assert got[(rp, "3d_merged")] == pytest.approx(got[(rp, "3d_averaged")])
    assert got[(rp, "3d_merged")] < 1


# --- properties -------------------------------------------------------------------------------------------------------
volumes = arrays(np.int32, st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 6)),
                 elements=st.integers(0, 4))


@FAST
@given(lv=volumes.filter(lambda a: (a > 0).any()))
def test_matrix_and_feature_bounds(lv):
    c = glrlm.count_matrices(lv, DIRECTIONS_3D, 4, max(lv.shape))[0]
    for counts in (*c, c.sum(0)):
        m = glrlm.RunLength.from_counts(counts)
        assert m.p.sum() == pytest.approx(1.0)
        eps = 1e-9
        assert -eps <= glrlm.run_entropy(m) <= math.log2(counts.size) + eps
        assert 0 < glrlm.run_percentage(m) <= 1 + eps
        assert 0 < glrlm.short_runs_emphasis(m) <= 1 + eps
        assert glrlm.long_runs_emphasis(m) >= 1 - eps
        assert 0 < glrlm.normalised_grey_level_non_uniformity(m) <= 1 + eps


@FAST
@given(lv=volumes.filter(lambda a: (a > 0).any()), shift=st.tuples(*(st.integers(0, 3),) * 3),
       noise=st.integers(0, 2**31 - 1))
def test_invariant_to_translation_and_to_voxels_outside_mask(lv, shift, noise):
    n = 4
    base = as_dict(glrlm.compute(make_roi(lv, n_levels=n)))
    shape = tuple(s + 2 * k + 1 for s, k in zip(lv.shape, shift))
    rng = np.random.default_rng(noise)
    big = rng.integers(1, n + 1, size=shape).astype(np.int32)
    mask = np.zeros(shape, dtype=bool)
    box = tuple(slice(k, k + s) for k, s in zip(shift, lv.shape))
    big[box] = np.where(lv > 0, lv, big[box])
    mask[box] = lv > 0
    moved = as_dict(glrlm.compute(make_roi(big, mask, n_levels=n)))
    assert moved.keys() == base.keys()
    for k, v in base.items():
        assert moved[k] == pytest.approx(v, rel=1e-12, nan_ok=True), k


# --- degenerate inputs -----------------------------------------------------------------------------------------------
def _compute_quietly(roi):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return as_dict(glrlm.compute(roi))


def test_one_voxel():
    got = _compute_quietly(make_roi(np.array([[[0, 0], [0, 2]]]), n_levels=2))
    for agg in DIRECTIONAL_AGGREGATIONS:
        assert got[("run_percentage", agg)] == 1.0
        assert got[("short_runs_emphasis", agg)] == 1.0
        assert got[("high_grey_level_run_emphasis", agg)] == 4.0
        assert got[("run_entropy", agg)] == 0.0
        assert got[("grey_level_variance", agg)] == 0.0


def test_one_grey_level_line():
    lv = np.zeros((1, 3, 5), dtype=np.int32)
    lv[0, 1, :] = 1
    got = _compute_quietly(make_roi(lv, n_levels=1))
    # 2D directions: one run of 5 (0 deg) and five runs of 1 in each of the three other directions
    assert got[("long_runs_emphasis", "2d_averaged")] == pytest.approx((25 + 1 + 1 + 1) / 4)
    assert got[("run_percentage", "2.5d_merged")] == pytest.approx(16 / 20)
    assert got[("run_percentage", "3d_averaged")] == pytest.approx((1 / 5 + 12) / 13)


def test_empty_slices_are_skipped():
    lv = np.zeros((3, 3, 3), dtype=np.int32)
    lv[0] = [[1, 2, 1], [2, 2, 1], [1, 1, 1]]
    lv[2] = lv[0]
    full = _compute_quietly(make_roi(lv, n_levels=2))
    alone = _compute_quietly(make_roi(lv[:1], n_levels=2))
    for agg in ("2d_averaged", "2d_slice_merged", "2.5d_direction_merged", "2.5d_merged"):
        assert full[("run_entropy", agg)] == pytest.approx(alone[("run_entropy", agg)])


# --- the whole-volume raster kernel (issue #6) -------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(12))
def test_volume_kernel_matches_reference_and_per_direction_kernel(seed):
    """The one-pass kernel (run positions, counts as differences) gives exactly the counts of the NumPy reference and
    of the per-direction run-following kernel, for directions given either way round."""
    from radiomix.kernels import glrlm_kernels as gk

    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(1, 10, size=3))
    n_levels = int(rng.integers(1, 5))
    lv = rng.integers(1, n_levels + 1, size=shape).astype(np.int32)
    lv[rng.random(shape) < [0.0, 0.1, 0.4][seed % 3]] = 0
    max_run = max(shape)
    flip = np.where(rng.random((13, 1)) < 0.5, 1, -1)
    fast = gk.glrlm_counts(lv, DIRECTIONS_3D * flip, n_levels, max_run, 0, shape[0], False)[0]
    np.testing.assert_array_equal(fast, glrlm_counts_reference(lv, DIRECTIONS_3D, n_levels, max_run))
    lp = np.pad(lv, 1)
    flat = DIRECTIONS_3D[:, 0] * lp.shape[1] * lp.shape[2] + DIRECTIONS_3D[:, 1] * lp.shape[2] + DIRECTIONS_3D[:, 2]
    old = gk._glrlm_counts_flat(lp.ravel(), shape, 1, np.ascontiguousarray(flat), n_levels, max_run, 0, shape[0], False)
    np.testing.assert_array_equal(fast, old[0])


def test_volume_kernel_long_runs_and_many_levels():
    """Runs as long as the array (uniform volume) and more than 255 grey levels (the int32 level path)."""
    from radiomix.kernels import glrlm_kernels as gk

    flat = np.full((3, 4, 9), 2, dtype=np.int32)
    np.testing.assert_array_equal(gk.glrlm_counts(flat, DIRECTIONS_3D, 2, 9, 0, 3, False)[0],
                                  glrlm_counts_reference(flat, DIRECTIONS_3D, 2, 9))
    rng = np.random.default_rng(7)
    lv = rng.integers(250, 262, size=(4, 6, 5)).astype(np.int32)
    lv[0, 0, :] = 300
    np.testing.assert_array_equal(gk.glrlm_counts(lv, DIRECTIONS_3D, 300, 6, 0, 4, False)[0],
                                  glrlm_counts_reference(lv, DIRECTIONS_3D, 300, 6))
    assert gk._forward_unit_directions(np.array([[0, 0, 2]])) is None  # not a unit step: per-direction kernel
    assert gk._forward_unit_directions(np.array([[0, 0, 0]])) is None


def test_batch_evaluation_equals_one_matrix_at_a_time():
    from radiomix.features.glrlm import evaluate, evaluate_batch

    from .batch_check import assert_batch_matches

    rng = np.random.default_rng(8)
    for n_g, n_r in ((1, 1), (1, 5), (6, 3), (20, 40)):
        stack = rng.integers(0, 4, size=(7, n_g, n_r)).astype(float) * (rng.random((7, n_g, n_r)) < 0.5)
        stack[3] = 0.0  # empty
        stack[0, 0, 0] += 1.0
        assert_batch_matches(evaluate, evaluate_batch, stack, 1e-14)
