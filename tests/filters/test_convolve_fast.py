"""The fast convolution paths against plain NumPy references on random data: ``_core.convolve1d`` (scipy.ndimage
boundary modes with the kernel centre as ``origin``, optionally on several threads) against explicit padding and a
direct sum, and the 7-pass 3D LoG against the sum of its three separable terms."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.filters import _core
from radiomix.filters.log import gaussian_1d, log_filter

_NP_PAD = {"zero": "constant", "nearest": "edge", "periodic": "wrap", "mirror": "symmetric"}


def _reference_conv(x: np.ndarray, kernel: np.ndarray, axis: int, boundary: str, centre: int) -> np.ndarray:
    """out[i] = sum_k kernel[k] x[i + centre - k] with the boundary as numpy padding, by a direct sum."""
    n = kernel.size
    widths = [(0, 0)] * x.ndim
    widths[axis] = (n, n)
    xp = np.moveaxis(np.pad(x, widths, mode=_NP_PAD[boundary]), axis, 0)
    out = np.zeros(np.moveaxis(x, axis, 0).shape)
    for i in range(out.shape[0]):
        for k in range(n):
            out[i] += kernel[k] * xp[i + centre - k + n]
    return np.moveaxis(out, 0, axis)


@pytest.mark.parametrize("boundary", ["zero", "nearest", "periodic", "mirror"])
@pytest.mark.parametrize("length", [1, 2, 5, 11])
def test_convolve1d_matches_direct_sum(boundary, length):
    rng = np.random.default_rng(length)
    x = rng.normal(size=(3, length, 4))
    for n in (1, 2, 3, 4, 7, 9):  # kernels longer than the axis included (length 1, 2, 5)
        k = rng.normal(size=n)
        for c in range(n):
            np.testing.assert_allclose(_core.convolve1d(x, k, 1, boundary, c), _reference_conv(x, k, 1, boundary, c),
                                       rtol=1e-12, atol=1e-12, err_msg=f"{boundary} taps {n} centre {c}")


def test_convolve1d_rejects_a_centre_outside_the_kernel():
    with pytest.raises(ValueError, match="centre"):
        _core.convolve1d(np.zeros((2, 3, 4)), np.ones(3), 1, "zero", 3)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_threaded_convolution_gives_the_same_numbers(monkeypatch, axis):
    x = np.random.default_rng(axis).normal(size=(9, 12, 10))
    k = np.random.default_rng(7).normal(size=6)
    monkeypatch.setenv("RADIOMIX_THREADS", "1")
    one = _core.convolve1d(x, k, axis, "mirror", 2)
    monkeypatch.setattr(_core, "THREADED_MIN_VOXELS", 1)
    monkeypatch.setenv("RADIOMIX_THREADS", "3")
    assert _core.filter_threads() == 3
    np.testing.assert_array_equal(_core.convolve1d(x, k, axis, "mirror", 2), one)


def test_filter_threads_reads_the_environment(monkeypatch):
    from radiomix.errors import SettingsError

    monkeypatch.setenv("RADIOMIX_THREADS", "2")
    assert _core.filter_threads() == 2
    monkeypatch.setenv("RADIOMIX_THREADS", "two")
    with pytest.raises(SettingsError, match="RADIOMIX_THREADS"):
        _core.filter_threads()
    monkeypatch.delenv("RADIOMIX_THREADS")
    assert 1 <= _core.filter_threads() <= 4


@pytest.mark.parametrize("boundary", ["zero", "mirror", "periodic"])
@pytest.mark.parametrize("dimensions", ["3d", "2d"])
def test_log_matches_the_sum_of_separable_terms(boundary, dimensions):
    rng = np.random.default_rng(11)
    x = rng.normal(size=(7, 10, 9))
    spacing = (2.0, 0.8, 1.0)
    axes = _core.spatial_axes(dimensions)
    g, g2 = {}, {}
    for ax in axes:
        g[ax], g2[ax] = gaussian_1d(1.5 / spacing[ax], 4.0)
    ref = np.zeros_like(x)
    for ax in axes:
        term = x
        for a in axes:
            kern = g2[a] if a == ax else g[a]
            term = _reference_conv(term, kern, a, boundary, kern.size // 2)
        ref += term
    np.testing.assert_allclose(log_filter(x, spacing, 1.5, boundary, dimensions), ref, rtol=1e-10, atol=1e-12)
