"""Paths of the small-ROI morphology speed-ups against their references: the one-pass mesh volume and area, the row
de-duplication of the hull normals and the Moran / Geary FFT grid of period 2 (n - 1). The bounded OMBB face boxes
are tested in test_morphology_fast.py."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.features import morphology as M
from radiomix.kernels import moran_kernels as mo


@pytest.mark.parametrize("seed", range(3))
def test_mesh_volume_area_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    mask = np.pad(rng.random((9, 12, 10)) < 0.6, 1)
    s = M.Shape(mask, mask, np.ones(mask.shape), (2.0, 0.8, 0.7))
    v, f = s.mesh
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    vol = abs(np.sum(np.einsum("ij,ij->i", a, np.cross(b, c)))) / 6.0
    area = 0.5 * np.sum(np.linalg.norm(np.cross(b - a, c - a), axis=1))
    assert s.volume == pytest.approx(vol, rel=1e-13)
    assert s.area == pytest.approx(area, rel=1e-13)


def test_unique_rows_equals_numpy_unique():
    rng = np.random.default_rng(5)
    a = np.round(rng.normal(size=(300, 3)), 1)
    a = np.vstack([a, a[:120], [[0.0, -0.0, 1.0], [-0.0, 0.0, 1.0]]])
    np.testing.assert_array_equal(M._unique_rows(a), np.unique(a, axis=0))


@pytest.mark.parametrize("shape", [(1, 5, 4), (2, 2, 7), (3, 1, 2), (6, 9, 5)])
@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.5, 0.75, 0.9)])
def test_parseval_on_the_shortest_grid_matches_direct(shape, spacing):
    rng = np.random.default_rng(sum(shape))
    mask = rng.random(shape) < 0.7
    mask.flat[0] = mask.flat[-1] = True  # the box spans the whole array: offsets reach n - 1 on every axis
    d = rng.normal(size=int(mask.sum()))
    coords = np.argwhere(mask) * np.asarray(spacing)
    direct = mo.pair_sums_direct(coords, d)
    np.testing.assert_allclose(mo.pair_sums_parseval(mask, d, spacing, workers=1), direct, rtol=1e-11)
    np.testing.assert_allclose(mo.pair_sums_parseval(mask, d, spacing, numpy_fft=True), direct, rtol=1e-11)


@pytest.mark.parametrize("single", [False, True])
def test_numpy_fft_gives_scipy_fft_sums(single):
    """NumPy's FFT (small grids: no SciPy import) and SciPy's give the same sums: the same pocketfft transforms."""
    rng = np.random.default_rng(11)
    mask = rng.random((7, 13, 11)) < 0.5
    d = rng.normal(size=int(mask.sum()))
    a = mo.pair_sums_parseval(mask, d, (2.0, 0.8, 0.7), workers=1, single=single, numpy_fft=True)
    b = mo.pair_sums_parseval(mask, d, (2.0, 0.8, 0.7), workers=1, single=single)
    np.testing.assert_allclose(a, b, rtol=1e-6 if single else 1e-13)


def test_numpy_fft_without_out_gives_the_same_sums(monkeypatch):
    """NumPy < 2.0 has no ``out`` in its FFT functions: the in-place transform then copies the result back."""
    rng = np.random.default_rng(5)
    mask = rng.random((6, 11, 9)) < 0.6
    d = rng.normal(size=int(mask.sum()))
    with_out = mo.pair_sums_parseval(mask, d, (2.0, 0.8, 0.7), workers=1, numpy_fft=True)
    monkeypatch.setattr(mo, "_NUMPY_FFT_OUT", False)
    assert mo.pair_sums_parseval(mask, d, (2.0, 0.8, 0.7), workers=1, numpy_fft=True) == with_out


def test_type_one_dct_from_numpy_matches_scipy():
    import scipy.fft

    x = np.random.default_rng(2).random((3, 9, 14))
    np.testing.assert_allclose(mo._dct1n_numpy(x), scipy.fft.dctn(x, type=1), rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 7, 11, 97, 1000, 4097, 123457])
def test_next_regular_length_matches_scipy(n):
    import scipy.fft

    assert mo._next_regular(n) == scipy.fft.next_fast_len(n, real=True)


def test_pair_sums_takes_numpy_fft_on_small_grids_only(monkeypatch):
    seen = []
    real = mo.pair_sums_parseval
    monkeypatch.setattr(mo, "pair_sums_parseval", lambda *a, **k: seen.append(k["numpy_fft"]) or real(*a, **k))
    for shape in [(12, 20, 20), (30, 40, 40)]:  # 4,800 and 48,000 voxels: grids of 38.4k and 384k elements
        mask = np.ones(shape, dtype=bool)
        mo.pair_sums(mask, np.random.default_rng(0).normal(size=mask.size), (1.0, 1.0, 1.0))
    assert seen == [True, False]


def test_reading_a_mask_imports_scipy_fft_only_where_moran_needs_it(tmp_path):
    """A mask whose Moran grid is large imports SciPy's FFT when it is read (not in the first extraction); a small
    one never does."""
    import subprocess
    import sys

    from radiomix.image import Geometry, Mask
    from radiomix.io import write_mask

    geom = Geometry((40, 80, 80), (1.0, 1.0, 1.0))
    small = np.zeros(geom.shape, np.uint8)
    small[10:20, 10:30, 10:30] = 1  # grid 8 * 4,000 elements
    large = np.zeros(geom.shape, np.uint8)
    large[2:38, 5:75, 5:75] = 1  # grid 8 * 176,400 elements
    for name, arr in (("small", small), ("large", large)):
        write_mask(Mask(arr, geom), tmp_path / f"{name}.nii.gz")
    code = ("import sys; from radiomix.io import read_mask; read_mask(sys.argv[1]); "
            "print('scipy.fft' in sys.modules)")
    seen = [subprocess.run([sys.executable, "-c", code, str(tmp_path / f"{name}.nii.gz")], capture_output=True,
                           text=True, check=True).stdout.strip() for name in ("small", "large")]
    assert seen == ["False", "True"]


@pytest.mark.parametrize("n", [1, 2, 63, 64, 65, 700])
def test_direct_sum_serial_and_parallel_give_the_same_bits(n):
    """Rows are dealt into :data:`PAIR_PARTS` parts summed in order, whatever the threads: the serial kernel (the
    ahead-of-time build's, before numba is loaded) and the parallel one agree exactly, and with the definition."""
    rng = np.random.default_rng(n)
    coords = rng.integers(0, 30, size=(n, 3)) * np.array([2.5, 0.75, 0.7])
    coords = np.unique(coords, axis=0)
    d = rng.normal(size=len(coords))
    serial = mo._pair_sums_direct_serial(coords, d)
    assert np.array_equal(serial, mo._pair_sums_direct(coords, d))
    diff = coords[:, None, :] - coords[None, :, :]
    r = np.sqrt((diff ** 2).sum(-1))
    np.fill_diagonal(r, np.inf)
    w = 1.0 / r
    ref = (w.sum() / 2, (w * np.outer(d, d)).sum() / 2, (w * (d[:, None] - d[None, :]) ** 2).sum() / 2)
    np.testing.assert_allclose(serial, ref, rtol=1e-12, atol=1e-12)


def test_the_direct_sum_runs_serially_until_numba_is_loaded(monkeypatch):
    calls = []
    for name in ("_pair_sums_direct_serial", "_pair_sums_direct"):
        kernel = getattr(mo, name)
        monkeypatch.setattr(mo, name, lambda *a, k=kernel, n=name: (calls.append(n), k(*a))[1])
    coords = np.argwhere(np.ones((3, 4, 5), bool)).astype(np.float64)
    d = np.arange(60, dtype=np.float64)
    out = []
    for loaded in (False, True):
        monkeypatch.setattr(mo, "jit_loaded", lambda v=loaded: v)
        out.append(mo.pair_sums_direct(coords, d))
    assert calls == ["_pair_sums_direct_serial", "_pair_sums_direct"]
    assert out[0] == out[1]


def test_choose_method_takes_the_cheaper_exact_method():
    """Direct pairs for a few hundred voxels or a sparse ROI, FFT otherwise (the cost model of choose_method). Every ROI
    of <= 4,000 voxels used to take the direct sum: 24 ms at 3,551 voxels against 0.8 ms by FFT (measured), and
    numba's start-up (~0.4 s) on a process's first call."""
    assert mo.choose_method(np.ones((4, 6, 6), bool))[0] == "direct"  # 144 voxels
    assert mo.choose_method(np.ones((10, 10, 10), bool))[0] == "numpy_fft"  # 1,000 voxels
    z, y, x = np.mgrid[:16, :24, :24]
    lesion = ((z - 8) / 7.5) ** 2 + ((y - 12) / 11.5) ** 2 + ((x - 12) / 11.5) ** 2 <= 1  # ~4,000 voxels
    assert 3000 < lesion.sum() < 5000 and mo.choose_method(lesion)[0] == "numpy_fft"
    scattered = np.zeros((40, 200, 200), bool)
    scattered.flat[::1601] = True  # 1,000 voxels over a 1.6M-voxel box
    assert mo.choose_method(scattered)[0] == "direct"


def test_choose_method_matches_what_pair_sums_does():
    """The choice :func:`prefetch_fft` relies on: a sparse ROI of few voxels in a large box takes the direct sum, so
    reading its mask imports no FFT."""
    sparse = np.zeros((40, 80, 80), bool)
    sparse[0, 0, 0] = sparse[-1, -1, -1] = True
    assert mo.choose_method(sparse)[0] == "direct"
    assert mo.choose_method(np.ones((12, 20, 20), bool)) == ("numpy_fft", 8 * 12 * 20 * 20)
    assert mo.choose_method(np.ones((30, 40, 40), bool))[0] == "scipy_fft"


def _fresh_parseval(mask, d, spacing, **kw):
    """pair_sums_parseval with nothing kept from earlier calls (no kept spectrum, no kept work arrays)."""
    mo._spectra.clear()
    mo._scratch_local.__dict__.clear()
    return mo.pair_sums_parseval(mask, d, spacing, **kw)


def test_kept_work_arrays_and_spectra_give_the_same_sums():
    """Calls of growing and shrinking grids reuse this thread's work arrays and the kept kernel spectra: every call
    gives the bits of a call with nothing kept."""
    rng = np.random.default_rng(11)
    cases = []
    for shape in [(4, 6, 5), (12, 20, 17), (3, 3, 9), (12, 20, 17), (9, 4, 7)]:
        mask = rng.random(shape) < 0.6
        mask.flat[0] = True
        cases.append((mask, rng.normal(size=int(mask.sum()))))
    spacing = (2.0, 0.7, 0.9)
    for numpy_fft in (True, False):
        expected = [_fresh_parseval(m, d, spacing, numpy_fft=numpy_fft) for m, d in cases]
        mo._spectra.clear()
        mo._scratch_local.__dict__.clear()
        for _ in range(2):
            assert [mo.pair_sums_parseval(m, d, spacing, numpy_fft=numpy_fft) for m, d in cases] == expected


def test_spectrum_cache_is_bounded_and_keyed_by_grid_spacing_and_precision(monkeypatch):
    mo._spectra.clear()
    a = mo._kernel_spectrum((8, 10, 6), (1.0, 1.0, 2.0), np.float64, mo._NumpyFFT, 1)
    assert mo._kernel_spectrum((8, 10, 6), (1.0, 1.0, 2.0), np.float64, mo._NumpyFFT, 1) is a
    assert mo._kernel_spectrum((8, 10, 6), (1.0, 1.0, 2.5), np.float64, mo._NumpyFFT, 1) is not a
    assert mo._kernel_spectrum((8, 10, 6), (1.0, 1.0, 2.0), np.float32, mo._NumpyFFT, 1).dtype == np.float32
    for n in range(4, 4 + 2 * mo.SPECTRUM_CACHE_ENTRIES, 2):
        mo._kernel_spectrum((n, 4, 4), (1.0, 1.0, 1.0), np.float64, mo._NumpyFFT, 1)
    assert len(mo._spectra) == mo.SPECTRUM_CACHE_ENTRIES
    monkeypatch.setattr(mo, "SPECTRUM_CACHE_MAX_BYTES", 100)  # too large to keep: computed every time
    mo._spectra.clear()
    mo._kernel_spectrum((8, 10, 6), (1.0, 1.0, 2.0), np.float64, mo._NumpyFFT, 1)
    assert not mo._spectra


def test_work_arrays_beyond_the_budget_are_fresh(monkeypatch):
    rng = np.random.default_rng(12)
    mask = rng.random((10, 12, 9)) < 0.7
    d = rng.normal(size=int(mask.sum()))
    expected = _fresh_parseval(mask, d, (1.0, 1.0, 1.0), numpy_fft=True)
    monkeypatch.setattr(mo, "SCRATCH_MAX_BYTES", 1000)
    mo._scratch_local.__dict__.clear()
    assert mo.pair_sums_parseval(mask, d, (1.0, 1.0, 1.0), numpy_fft=True) == expected
    assert not getattr(mo._scratch_local, "arrays", None)


def test_threads_keep_their_own_work_arrays():
    import threading

    rng = np.random.default_rng(13)
    cases = [(rng.random(shape) < 0.6, None) for shape in [(7, 9, 8), (11, 5, 13), (6, 14, 10)]]
    cases = [(m, rng.normal(size=int(m.sum()))) for m, _ in cases]
    expected = [_fresh_parseval(m, d, (1.0, 2.0, 1.0), numpy_fft=True) for m, d in cases]
    got: dict = {}

    def work(k):
        got[k] = [mo.pair_sums_parseval(*cases[(k + j) % 3], (1.0, 2.0, 1.0), numpy_fft=True) for j in range(30)]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(3):
        assert got[k] == [expected[(k + j) % 3] for j in range(30)]
