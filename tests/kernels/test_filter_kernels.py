"""The filters' 1D correlation kernel against ``scipy.ndimage.correlate1d``: every boundary mode, kernel centres
across the kernel, kernels longer than the axis, every axis, and split across threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.ndimage as ndi

from radiomix.kernels.filter_kernels import MODES, correlate1d


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("seed", range(4))
def test_correlate1d_matches_scipy(mode, seed):
    """Also symmetric and antisymmetric kernels (taken in pairs about the centre tap)."""
    rng = np.random.default_rng(seed)
    for _ in range(25):
        shape = tuple(int(v) for v in rng.integers(1, 9, 3))
        x = rng.normal(size=shape)
        taps = int(rng.integers(1, 20))  # often longer than the axis: the boundary map repeats
        w = rng.normal(size=taps)
        kind = rng.integers(0, 3)
        if kind == 1:
            w = (w + w[::-1]) / 2  # symmetric: taps taken in pairs (as SciPy does) when centred
        elif kind == 2:
            w = (w - w[::-1]) / 2  # antisymmetric
        axis = int(rng.integers(0, 3))
        origin = 0 if rng.random() < 0.5 else int(rng.integers(-(taps // 2), (taps - 1) // 2 + 1))
        want = ndi.correlate1d(x, w, axis=axis, mode=mode, origin=origin)
        got = correlate1d(x, w, axis, mode, taps // 2 + origin)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(want).max()))


@pytest.mark.parametrize("axis", range(3))
def test_threads_give_the_same_numbers(axis):
    rng = np.random.default_rng(axis)
    x = rng.normal(size=(7, 9, 11))
    w = rng.normal(size=5)
    with ThreadPoolExecutor(3) as pool:
        split = correlate1d(x, w, axis, "reflect", 2, threads=3, pool=pool)
    np.testing.assert_array_equal(split, correlate1d(x, w, axis, "reflect", 2))


def test_non_contiguous_and_integer_input_is_read_as_float64():
    x = np.arange(4 * 5 * 6).reshape(4, 5, 6)
    w = np.array([0.25, 0.5, 0.25])
    want = ndi.correlate1d(x.astype(float)[:, ::2], w, axis=2, mode="nearest")
    np.testing.assert_allclose(correlate1d(x[:, ::2], w, 2, "nearest", 1), want, rtol=1e-14)


def test_empty_array_gives_an_empty_result():
    assert correlate1d(np.zeros((0, 4, 5)), np.ones(3), 1, "reflect", 1).shape == (0, 4, 5)
