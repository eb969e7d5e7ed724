"""Fast unit tests of the filters: boundary handling, kernel sums, energy conservation, margins, specs and names."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from radiomix.filters import FILTERS, FilterSpec, apply_filters, filter_margin, simple
from radiomix.filters._core import convolve1d, fft_convolve, frequency_grid, pad, signed_permutations
from radiomix.filters.laws import KERNELS_1D, laws_filter
from radiomix.filters.log import log_filter
from radiomix.filters.wavelet import wavelet_filter

RNG = np.random.default_rng(7)


def test_periodic_boundary_equals_explicit_wrap():
    x = RNG.normal(size=(5, 9, 11))
    k = RNG.normal(size=7)
    got = convolve1d(x, k, axis=2, boundary="periodic")
    # circular convolution by explicit rolls: out[i] = sum_k h[k] x[i + c - k]
    want = sum(k[j] * np.roll(x, -(3 - j), axis=2) for j in range(7))
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_fft_convolution_matches_direct_convolution():
    x = RNG.normal(size=(4, 10, 12))
    k = RNG.normal(size=(5, 3))
    direct = convolve1d(convolve1d(x, np.array([1.0]), 1, "mirror"), np.array([1.0]), 2, "mirror")
    got = fft_convolve(x, k, axes=(1, 2), boundary="mirror")
    xp = pad(direct, [(0, 0), (2, 2), (1, 1)], "mirror")
    want = np.zeros_like(x)
    for a in range(5):
        for b in range(3):
            want += k[a, b] * xp[:, 4 - a:4 - a + 10, 2 - b:2 - b + 12]
    np.testing.assert_allclose(got, want, atol=1e-10)


@pytest.mark.parametrize("boundary,expected", [("zero", [0, 1, 2, 3, 0]), ("nearest", [1, 1, 2, 3, 3]),
                                                ("periodic", [3, 1, 2, 3, 1]), ("mirror", [1, 1, 2, 3, 3])])
def test_boundary_padding(boundary, expected):
    np.testing.assert_array_equal(pad(np.array([1.0, 2.0, 3.0]), [(1, 1)], boundary), expected)


def test_mirror_repeats_the_edge_voxel():
    np.testing.assert_array_equal(pad(np.array([1.0, 2.0, 3.0]), [(2, 0)], "mirror"), [2, 1, 1, 2, 3])


def test_signed_permutations_counts():
    assert len(signed_permutations(2)) == 8
    assert len(signed_permutations(3)) == 48
    assert len(signed_permutations(3, proper_only=True)) == 24


def test_log_impulse_response_is_the_sampled_formula():
    x = np.zeros((31, 31, 31))
    x[15, 15, 15] = 1.0
    r = log_filter(x, (2.0, 2.0, 2.0), sigma_mm=3.0, boundary="zero")
    s = 1.5  # sigma in voxels
    z, y, xx = np.mgrid[-15:16, -15:16, -15:16]
    r2 = (z**2 + y**2 + xx**2) / s**2
    want = -1 / s**2 * (2 * np.pi * s**2) ** -1.5 * (3 - r2) * np.exp(-r2 / 2)
    want[np.maximum.reduce([abs(z), abs(y), abs(xx)]) > 6] = 0  # radius int(4 * 1.5 + 0.5) = 6 voxels per axis
    np.testing.assert_allclose(r, want, atol=1e-12)
    # the truncated kernel sums to almost 0; a constant image gives that sum times the constant (nearest padding)
    assert abs(want.sum()) < 1e-3
    flat = log_filter(np.full((8, 20, 20), 5.0), (2.0, 2.0, 2.0), sigma_mm=3.0, boundary="nearest")
    np.testing.assert_allclose(flat, 5.0 * want.sum(), rtol=1e-9)


def test_mean_filter_keeps_constants_and_sums_to_one():
    out = apply_filters(np.full((6, 7, 8), 3.0), (1, 1, 1), [FilterSpec(kind="mean", support=5, boundary="mirror")])
    np.testing.assert_allclose(out["mean_5"], 3.0)
    x = np.zeros((9, 9, 9))
    x[4, 4, 4] = 1.0
    r = apply_filters(x, (1, 1, 1), [FilterSpec(kind="mean", support=3, boundary="zero")])["mean_3"]
    assert r.sum() == pytest.approx(1.0)
    assert r[3:6, 3:6, 3:6] == pytest.approx(np.full((3, 3, 3), 1 / 27))


@pytest.mark.parametrize("wavelet", ["haar", "db2", "coif1", "sym4"])
def test_wavelet_subband_energy_conservation(wavelet):
    """Orthogonal filter banks with periodic boundaries: |H|^2 + |G|^2 = 2 per axis, so the 8 level-1 sub-bands hold
    8 times the image energy, and the 8 level-2 sub-bands 8 times the energy of the level-1 LLL band."""
    x = RNG.normal(size=(16, 16, 16))
    bands = [a + b + c for a in "LH" for b in "LH" for c in "LH"]
    e1 = sum(np.sum(wavelet_filter(x, wavelet, sb, 1, "periodic") ** 2) for sb in bands)
    assert e1 == pytest.approx(8 * np.sum(x**2), rel=1e-10)
    lll = wavelet_filter(x, wavelet, "LLL", 1, "periodic")
    e2 = sum(np.sum(wavelet_filter(x, wavelet, sb, 2, "periodic") ** 2) for sb in bands)
    assert e2 == pytest.approx(8 * np.sum(lll**2), rel=1e-10)


def test_rotation_invariant_filters_commute_with_grid_rotations():
    x = RNG.normal(size=(12, 12, 12))
    rot = np.rot90(x, 1, axes=(1, 2))
    for f in (lambda a: wavelet_filter(a, "db2", "LLH", 1, "periodic", rotation_invariant=True),
              lambda a: laws_filter(a, "L5E5E5", "periodic", rotation_invariant=True, pooling="max")):
        np.testing.assert_allclose(f(rot), np.rot90(f(x), 1, axes=(1, 2)), atol=1e-10)
    # without rotation invariance the response is not equivariant (guards against a test that cannot fail)
    f = lambda a: wavelet_filter(a, "db2", "LLH", 1, "periodic")
    assert not np.allclose(f(rot), np.rot90(f(x), 1, axes=(1, 2)))


def test_laws_kernels_normalised():
    for name, k in KERNELS_1D.items():
        assert np.linalg.norm(k) == pytest.approx(1.0)
        if not name.startswith("L"):
            assert k.sum() == pytest.approx(0.0)


def test_2d_filters_work_slice_by_slice():
    x = RNG.normal(size=(4, 20, 20))
    specs = [FilterSpec(kind="log", sigma_mm=2.0, dimensions="2d"),
             FilterSpec(kind="laws", kernel="L5E5", rotation_invariant=True, energy_delta=2, dimensions="2d"),
             FilterSpec(kind="gabor", sigma_mm=3.0, lambda_mm=2.0, gamma=1.5, theta_step=np.pi / 4, dimensions="2d"),
             FilterSpec(kind="wavelet", wavelet="db3", subband="HH", level=2, rotation_invariant=True,
                        dimensions="2d")]
    whole = apply_filters(x, (3.0, 1.0, 1.0), specs)
    for z in range(4):
        one = apply_filters(x[z:z + 1], (3.0, 1.0, 1.0), specs)
        for name in whole:
            np.testing.assert_allclose(whole[name][z], one[name][0], atol=1e-10)


@pytest.mark.parametrize("spec", [
    FilterSpec(kind="mean", support=5),
    FilterSpec(kind="log", sigma_mm=1.5),
    FilterSpec(kind="laws", kernel="L5E5E5", rotation_invariant=True, pooling="max", energy_delta=3),
    FilterSpec(kind="wavelet", wavelet="db3", subband="HHH", level=2, rotation_invariant=True),
    FilterSpec(kind="gabor", sigma_mm=2.0, lambda_mm=2.0, gamma=1.5, theta_step=np.pi / 2, dimensions="3d"),
    FilterSpec(kind="gabor", sigma_mm=2.0, lambda_mm=2.0, gamma=1.5, dimensions="2d"),
    FilterSpec(kind="gradient"),
    FilterSpec(kind="lbp", dimensions="3d"),
], ids=lambda s: s.name())
def test_crop_with_margin_gives_the_whole_image_response_inside_the_roi(spec):
    """Filtering the ROI box plus filter_margin equals filtering the whole image, inside the ROI (mirror boundary)."""
    spacing = (2.0, 1.0, 1.0)
    x = RNG.normal(size=(36, 44, 46))
    lo = np.array([15, 17, 18])
    hi = np.array([21, 24, 26])
    m = np.array(filter_margin(spec, spacing))
    a, b = np.maximum(lo - m, 0), np.minimum(hi + m, x.shape)
    assert np.all(a > 0) and np.all(b < x.shape), "the test needs the margin to fit inside the image"
    crop = x[a[0]:b[0], a[1]:b[1], a[2]:b[2]]
    (_name, whole), = apply_filters(x, spacing, [spec]).items()
    (_, part), = apply_filters(crop, spacing, [spec]).items()
    roi_whole = whole[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    roi_part = part[lo[0] - a[0]:hi[0] - a[0], lo[1] - a[1]:hi[1] - a[1], lo[2] - a[2]:hi[2] - a[2]]
    np.testing.assert_allclose(roi_part, roi_whole, atol=1e-9)
    # one voxel less margin changes the response when the margin is > 0 (the margin is not too generous)
    if m.max() > 1 and spec.kind in ("mean", "log", "laws", "wavelet"):
        ax = int(np.argmax(m))
        a2 = a.copy()
        a2[ax] += 1
        crop2 = x[a2[0]:b[0], a2[1]:b[1], a2[2]:b[2]]
        (_, part2), = apply_filters(crop2, spacing, [spec]).items()
        roi2 = part2[lo[0] - a2[0]:hi[0] - a2[0], lo[1] - a2[1]:hi[1] - a2[1], lo[2] - a2[2]:hi[2] - a2[2]]
        assert not np.allclose(roi2, roi_whole, atol=1e-9)


def test_names_are_stable():
    assert FilterSpec(kind="log", sigma_mm=1.5).name() == "log_sigma_1.5mm"
    assert FilterSpec(kind="mean", support=5).name() == "mean_5"
    assert FilterSpec(kind="mean", support=5).name("2d") == "mean_5_2d"
    assert FilterSpec(kind="laws", kernel="l5e5e5", rotation_invariant=True, pooling="max",
                      energy_delta=7).name() == "laws_l5e5e5_energy_delta7_max"
    assert FilterSpec(kind="wavelet", wavelet="db3", subband="llh", level=1).name() == "wavelet_db3_level1_llh"
    assert FilterSpec(kind="wavelet", wavelet="db3", subband="HH", level=2, rotation_invariant=True,
                      dimensions="2d").name() == "wavelet_db3_level2_hh_mean_2d"
    assert FilterSpec(kind="simoncelli", level=1).name() == "simoncelli_level1"
    assert FilterSpec(kind="gabor", sigma_mm=5, lambda_mm=2, gamma=1.5, theta_step=np.pi / 8).name() == \
        "gabor_sigma_5mm_lambda_2mm_gamma_1.5_theta_0deg_step_22.5deg_mean"
    assert FilterSpec(kind="lbp").name() == "lbp_3d" and FilterSpec(kind="lbp").name("2d") == "lbp_2d"
    assert FilterSpec(kind="riesz_log", sigma_mm=3, riesz_order=(1, 0, 0)).name() == "riesz_100_log_sigma_3mm"


@pytest.mark.parametrize("bad,needle", [
    ({"kind": "log"}, "needs sigma_mm"),
    ({"kind": "log", "sigma_mm": 1.0, "support": 3}, "does not take support"),
    ({"kind": "mean", "support": 4}, "odd"),
    ({"kind": "laws", "kernel": "L5X5"}, "Laws"),
    ({"kind": "wavelet", "wavelet": "nope", "subband": "LL"}, "unknown wavelet"),
    ({"kind": "wavelet", "wavelet": "db2", "subband": "LXH"}, "sub-band"),
    ({"kind": "mean", "support": 3, "sigma": 2}, "Extra inputs"),
    ({"kind": "mean", "support": 3, "boundary": "reflect"}, "boundary"),
])
def test_spec_validation_names_the_problem(bad, needle):
    with pytest.raises(ValidationError, match=needle):
        FilterSpec(**bad)


def test_spec_is_frozen_and_hashable():
    s = FilterSpec(kind="log", sigma_mm=1.5)
    assert hash(s) == hash(FilterSpec(kind="log", sigma_mm=1.5))
    with pytest.raises(ValidationError):
        s.sigma_mm = 2.0  # type: ignore[misc]


def test_duplicate_image_types_are_an_error():
    with pytest.raises(ValueError, match="log_sigma_1mm"):
        apply_filters(np.zeros((3, 8, 8)), (1, 1, 1), [{"kind": "log", "sigma_mm": 1}, {"kind": "log", "sigma_mm": 1.0}])


def test_registry_covers_every_kind():
    from typing import get_args

    from radiomix.filters.spec import FilterKind

    assert set(FILTERS) == set(get_args(FilterKind))


def test_simple_image_types():
    x = np.array([[[-4.0, 0.0, 1.0, 4.0]]])
    np.testing.assert_allclose(simple.square(x), [[[4.0, 0.0, 0.25, 4.0]]])
    np.testing.assert_allclose(simple.square_root(x), [[[-4.0, 0.0, 2.0, 4.0]]])
    lg = simple.logarithm(x)
    assert np.max(np.abs(lg)) == pytest.approx(4.0) and lg[0, 0, 0] == pytest.approx(-4.0) and lg[0, 0, 1] == 0
    assert lg[0, 0, 2] == pytest.approx(np.log(2) / np.log(5) * 4)
    np.testing.assert_allclose(simple.exponential(x)[0, 0, [1, 3]], [1.0, 4.0])
    ramp = np.broadcast_to(np.arange(10.0) * 3.0, (4, 5, 10))
    g = simple.gradient_magnitude(ramp, (1.0, 1.0, 2.0))
    np.testing.assert_allclose(g, 1.5)  # 3 per voxel / 2 mm
    assert np.all(simple.lbp(np.ones((3, 5, 5)), "2d") == 8) and np.all(simple.lbp(np.ones((3, 5, 5)), "3d") == 26)
    peak = np.zeros((1, 3, 3))
    peak[0, 1, 1] = 1.0
    assert simple.lbp(peak, "2d")[0, 1, 1] == 0  # no neighbour >= centre: uniform code 0
    stripe = np.zeros((1, 3, 3))
    stripe[0, :, 1] = 1.0  # neighbours above and below are >= centre: two separate runs, not uniform
    assert simple.lbp(stripe, "2d")[0, 1, 1] == 9


def test_frequency_grids():
    np.testing.assert_allclose(frequency_grid(4, "dft"), [0, np.pi / 2, -np.pi, -np.pi / 2])
    g = frequency_grid(5, "ibsi")
    assert g[0] == 0 and np.isclose(np.max(np.abs(g)), np.pi)


def test_wavelet_subbands_share_their_first_passes_with_identical_responses(monkeypatch):
    """Inside shared_passes the 8 first-level sub-bands of one image take 14 one-axis passes instead of 24 (and a
    level-2 bank shares its level-1 approximation too); every response is bit-identical to a lone decomposition."""
    from radiomix.filters import _core
    from radiomix.filters import wavelet as wv

    rng = np.random.default_rng(0)
    img = rng.normal(size=(9, 11, 13))
    bands = [a + b + c for a in "LH" for b in "LH" for c in "LH"]
    alone = {sb: wv.wavelet_filter(img, "coif1", sb, 1, "mirror") for sb in bands}
    calls = []
    real = wv.convolve1d
    monkeypatch.setattr(wv, "convolve1d", lambda *a, **k: calls.append(1) or real(*a, **k))
    with _core.shared_passes():
        shared = {sb: wv.wavelet_filter(img, "coif1", sb, 1, "mirror") for sb in bands}
        assert len(calls) == 2 + 4 + 8
        calls.clear()
        level2 = [wv.wavelet_filter(img, "haar", sb, 2, "mirror") for sb in ("LLH", "HHH")]
        assert len(calls) == 3 + (2 + 1) + (2 + 1)  # level-1 approximation once, then 2 shared + 1 own pass each
    for sb in bands:
        np.testing.assert_array_equal(shared[sb], alone[sb])
    np.testing.assert_array_equal(level2[1], wv.wavelet_filter(img, "haar", "HHH", 2, "mirror"))
    calls.clear()
    wv.wavelet_filter(img, "coif1", "LLH", 1, "mirror")  # outside the context nothing is kept
    wv.wavelet_filter(img, "coif1", "LLH", 1, "mirror")
    assert len(calls) == 6
