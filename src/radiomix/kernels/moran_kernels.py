"""Moran's I and Geary's C (IBSI 3.1.18, 3.1.19): the inverse-distance-weighted sums over all pairs of ROI voxels.

Implementations that must agree within floating-point tolerance:

* :func:`pair_sums_direct` (numba): the O(N^2) sum over ROI voxel pairs, the definition itself.
* :func:`pair_sums_fft` (NumPy/SciPy FFT): the same sums written as a convolution with the inverse-distance kernel on
  the voxel grid (weights depend only on the offset between two voxels), O(M log M) in the bounding-box size M.
* :func:`pair_sums_parseval`: the FFT sums by Parseval, with pruned transforms (the one used on large ROIs).

:func:`pair_sums` picks one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from radiomix.kernels._jit import jit_loaded, njit, prange
from radiomix.kernels.texture_common import bounding_box

#: Work (elements) below which kernels run single-threaded: starting a parallel region costs ~0.1 ms on an idle
#: machine but milliseconds when the cores are busy (other families, other processes, spinning BLAS threads).
PARALLEL_MIN_WORK = 1_000_000

# --- Moran's I / Geary's C ---------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _pair_rows(coords, d, t, step):  # pragma: no cover - compiled
    """Sums over the unordered pairs (i, j > i) of rows i = t, t + step, ...: (sum w, sum w d_i d_j,
    sum w (d_i - d_j)^2)."""
    n = coords.shape[0]
    s_w = 0.0
    s_dd = 0.0
    s_diff = 0.0
    for i in range(t, n, step):
        zi = coords[i, 0]
        yi = coords[i, 1]
        xi = coords[i, 2]
        di = d[i]
        for j in range(i + 1, n):
            dz = coords[j, 0] - zi
            dy = coords[j, 1] - yi
            dx = coords[j, 2] - xi
            w = 1.0 / np.sqrt(dz * dz + dy * dy + dx * dx)
            dj = d[j]
            s_w += w
            s_dd += w * di * dj
            s_diff += w * (di - dj) * (di - dj)
    return s_w, s_dd, s_diff


#: the rows of the direct sum are dealt into this many interleaved parts (row i to part i % PAIR_PARTS), summed
#: separately, then added in order: the serial and the parallel kernel give the same bits on any number of threads
PAIR_PARTS = 64


@njit(cache=True, nogil=True, parallel=True)
def _pair_sums_direct(coords, d):  # pragma: no cover - compiled
    acc = np.zeros((PAIR_PARTS, 3))
    # interleaved rows balance the triangular loop j > i across threads
    for t in prange(PAIR_PARTS):
        acc[t, 0], acc[t, 1], acc[t, 2] = _pair_rows(coords, d, t, PAIR_PARTS)
    return _sum_parts(acc)


@njit(cache=True, nogil=True)
def _pair_sums_direct_serial(coords, d):  # pragma: no cover - compiled
    acc = np.zeros((PAIR_PARTS, 3))
    for t in range(PAIR_PARTS):
        acc[t, 0], acc[t, 1], acc[t, 2] = _pair_rows(coords, d, t, PAIR_PARTS)
    return _sum_parts(acc)


@njit(cache=True, nogil=True)
def _sum_parts(acc):  # pragma: no cover - compiled
    out = np.zeros(3)
    for t in range(acc.shape[0]):
        for k in range(3):
            out[k] += acc[t, k]
    return out


#: unordered pairs below which the direct sum runs serially (from the ahead-of-time build: no numba start-up, ~0.4 s);
#: at ~5 ns per pair that is ~0.25 s
SERIAL_MAX_PAIRS = 50_000_000


def pair_sums_direct(coords_mm: np.ndarray, d: np.ndarray) -> tuple[float, float, float]:
    """Sums over ordered voxel pairs k != k' of ``w``, ``w d_k d_k'`` and ``w (d_k - d_k')^2`` with
    ``w = 1 / ||r_k - r_k'||`` (positions ``coords_mm`` (N, 3) in mm, values ``d`` (N,)). O(N^2); numba threads
    where numba is loaded or the pairs are many (:data:`SERIAL_MAX_PAIRS`), one thread otherwise: the same bits
    either way (:data:`PAIR_PARTS`)."""
    coords = np.ascontiguousarray(coords_mm, dtype=np.float64)
    dd = np.ascontiguousarray(d, dtype=np.float64)
    n = coords.shape[0]
    if jit_loaded() or n * (n - 1) // 2 > SERIAL_MAX_PAIRS:
        s = _pair_sums_direct(coords, dd)
    else:
        s = _pair_sums_direct_serial(coords, dd)
    # the kernels visit unordered pairs once; ordered sums are twice that
    return 2.0 * float(s[0]), 2.0 * float(s[1]), 2.0 * float(s[2])


@njit(cache=True, nogil=True)
def _inverse_distance_plane(i, az, ay, ax, out):  # pragma: no cover - compiled
    z2 = az[i] * az[i]
    for j in range(ay.size):
        zy2 = z2 + ay[j] * ay[j]
        for k in range(ax.size):
            r2 = zy2 + ax[k] * ax[k]
            out[i, j, k] = 1.0 / np.sqrt(r2) if r2 > 0 else 0.0


@njit(cache=True, nogil=True, parallel=True)
def _inverse_distance_grid_parallel(az, ay, ax, out):  # pragma: no cover - compiled
    for i in prange(az.size):
        _inverse_distance_plane(i, az, ay, ax, out)


@njit(cache=True, nogil=True)
def _inverse_distance_grid_serial(az, ay, ax, out):  # pragma: no cover - compiled
    for i in range(az.size):
        _inverse_distance_plane(i, az, ay, ax, out)


def _inverse_distance_grid(az, ay, ax, out) -> None:
    """``out[i, j, k] = 1 / sqrt(az_i^2 + ay_j^2 + ax_k^2)`` (0 at the origin); numba, threads only for large grids
    (a parallel region costs milliseconds on a busy machine) and only once numba is loaded: the serial kernel runs
    from the ahead-of-time build, and on the large phantom's 1.6M-element grid it takes 1.5 ms (0.8 ms on two
    threads), against ~0.3 s to start numba for the parallel one. Planes are independent: both give the same values."""
    if out.size > PARALLEL_MIN_WORK and jit_loaded():
        _inverse_distance_grid_parallel(az, ay, ax, out)
    else:
        _inverse_distance_grid_serial(az, ay, ax, out)


def _inverse_distance_kernel(shape2, spacing) -> np.ndarray:
    """1/||offset|| (mm) on a circular grid of ``shape2`` = 2 * box shape; offset 0 has weight 0 (numba, parallel)."""
    axes = []
    for n2, s in zip(shape2, spacing):
        o = np.arange(n2, dtype=np.float64)
        o = np.where(o < n2 // 2, o, o - n2) * s  # circular offsets -n..n-1
        axes.append(o)
    w = np.empty(tuple(int(n) for n in shape2))
    _inverse_distance_grid(axes[0], axes[1], axes[2], w)
    return w


def inverse_distance_kernel_reference(shape2, spacing) -> np.ndarray:
    """Plain NumPy version of :func:`_inverse_distance_kernel` (for tests)."""
    axes = []
    for n2, s in zip(shape2, spacing):
        o = np.arange(n2, dtype=np.float64)
        axes.append(np.where(o < n2 // 2, o, o - n2) * s)
    r2 = axes[0][:, None, None] ** 2 + axes[1][None, :, None] ** 2 + axes[2][None, None, :] ** 2
    with np.errstate(divide="ignore"):
        w = 1.0 / np.sqrt(r2)
    w[0, 0, 0] = 0.0
    return w


def pair_sums_fft(mask: np.ndarray, d: np.ndarray, spacing) -> tuple[float, float, float]:
    """The sums of :func:`pair_sums_direct` for the voxels of a 3D boolean ``mask`` (``d`` holds their values in mask
    order, i.e. ``d = values[mask]``), as circular convolutions on a grid twice the mask's bounding box (no wrap-around).

    With ``W`` the inverse-distance kernel and ``m`` the mask indicator: ``sum w = <m, W*m>``,
    ``sum w d d' = <d, W*d>``, ``sum w (d - d')^2 = 2 <d^2, W*m> - 2 <d, W*d>``.
    """
    idx = np.argwhere(mask)
    lo, hi = idx.min(0), idx.max(0) + 1
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
    m = mask[box].astype(np.float64)
    dv = np.zeros(m.shape)
    dv[mask[box]] = d
    shape2 = tuple(2 * n for n in m.shape)
    import scipy.fft

    fshape = tuple(scipy.fft.next_fast_len(n, real=True) for n in shape2)
    # the kernel must be laid out on the padded grid itself: offsets wrap at fshape, never reaching across the box
    w_hat = scipy.fft.rfftn(_inverse_distance_kernel(fshape, spacing), workers=-1)
    wm = scipy.fft.irfftn(scipy.fft.rfftn(m, fshape, workers=-1) * w_hat, fshape, workers=-1)
    wd = scipy.fft.irfftn(scipy.fft.rfftn(dv, fshape, workers=-1) * w_hat, fshape, workers=-1)
    sl = tuple(slice(0, n) for n in m.shape)
    wm, wd = wm[sl], wd[sl]
    s_w = float(np.sum(m * wm))
    s_dd = float(np.sum(dv * wd))
    s_diff = 2.0 * float(np.sum(dv * dv * wm)) - 2.0 * s_dd
    return s_w, s_dd, s_diff


def _next_regular(n: int) -> int:
    """Smallest 5-smooth number (2^a 3^b 5^c) >= n: the lengths real FFTs handle fastest (``scipy.fft.next_fast_len``
    with ``real=True`` gives the same)."""
    if n <= 6:
        return max(n, 1)
    best = 1 << (n - 1).bit_length()  # the next power of two is 5-smooth
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35 * (1 << max(0, (-(-n // p35) - 1).bit_length()))  # least power of two taking p35 to >= n
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def _even_fast_len(n: int) -> int:
    """Smallest even length >= n that real FFTs handle fast."""
    m = _next_regular(n)
    while m % 2:
        m = _next_regular(m + 1)
    return m


def _dct1n_numpy(x: np.ndarray) -> np.ndarray:
    """Type-I DCT over every axis (unnormalised, as ``scipy.fft.dctn(x, type=1)``): the real FFT of the even
    extension ``x_0 .. x_{L-1} .. x_1`` (period ``2 (L - 1)``) of each axis, whose spectrum is real."""
    for axis in range(x.ndim):
        n = x.shape[axis]
        if n < 2:
            continue
        inner = np.flip(np.take(x, np.arange(1, n - 1), axis=axis), axis=axis)
        x = np.fft.rfft(np.concatenate([x, inner], axis=axis), axis=axis).real
    return np.ascontiguousarray(x)


#: NumPy's FFT functions take ``out`` from NumPy 2.0 on (radiomix supports 1.26 too)
_NUMPY_FFT_OUT = int(np.__version__.split(".")[0]) >= 2


class _NumpyFFT:
    """The transforms :func:`pair_sums_parseval` needs, from NumPy's FFT (the same pocketfft as SciPy's, one thread,
    1.1-1.6x slower here): used on small grids (:data:`NUMPY_FFT_MAX_ELEMENTS`), where that costs ~0.2 ms and spares
    the process SciPy's import (~0.17 s: scipy.fft pulls in scipy.special)."""

    @staticmethod
    def dct1n(x, workers):
        return _dct1n_numpy(x)

    @staticmethod
    def rfft(x, axis, workers, out=None):
        if _NUMPY_FFT_OUT and out is not None:
            return np.fft.rfft(x, axis=axis, out=out)
        return np.fft.rfft(x, axis=axis)

    @staticmethod
    def fft_inplace(x, axis, workers):
        if _NUMPY_FFT_OUT:  # no fresh output array per call (a small ROI's warm call then page-faults none)
            np.fft.fft(x, axis=axis, out=x)
        else:
            x[...] = np.fft.fft(x, axis=axis)


class _ScipyFFT:
    """The same transforms from ``scipy.fft``, with ``workers`` threads and in place where the input is spare."""

    @staticmethod
    def dct1n(x, workers):
        import scipy.fft

        return scipy.fft.dctn(x, type=1, workers=workers, overwrite_x=True)

    @staticmethod
    def rfft(x, axis, workers, out=None):  # scipy.fft has no out: a fresh array
        import scipy.fft

        return scipy.fft.rfft(x, axis=axis, workers=workers)

    @staticmethod
    def fft_inplace(x, axis, workers):
        import scipy.fft

        y = scipy.fft.fft(x, axis=axis, workers=workers, overwrite_x=True)
        if y is not x:  # pragma: no cover - scipy.fft transforms a complex array in place when allowed to
            x[...] = y


def _half_spectrum_weights(n_last: int) -> np.ndarray:
    """Weights that turn a sum over an rfft half-spectrum into the sum over the full spectrum (Parseval)."""
    w = np.full(n_last // 2 + 1, 2.0)
    w[0] = 1.0
    if n_last % 2 == 0:
        w[-1] = 1.0
    return w


@njit(cache=True, nogil=True, fastmath=True)
def _spectral_dots3(w_hat, wl, a, b, c, k0, out):  # pragma: no cover - compiled
    """Adds to ``out`` the sums over a block of the spectrum of ``W_k |A_k|^2``, ``W_k Re(conj(A_k) B_k)`` and
    ``W_k |C_k|^2``. ``a``, ``b``, ``c`` (nk, n1, n2): planes ``k0 .. k0+nk`` of axis 0 of half-spectra (real
    transform along axis 0); ``w_hat`` the real kernel spectrum on k = 0..n/2 per axis (mirrored on axes 1, 2);
    ``wl`` the half-spectrum weights of axis 0."""
    nk, n1, n2 = a.shape
    h2 = n2 // 2
    for kk in range(nk):
        k = k0 + kk
        for j in range(n1):
            mj = j if 2 * j <= n1 else n1 - j
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            for m in range(n2):
                w = w_hat[k, mj, m if m <= h2 else n2 - m]
                x = a[kk, j, m]
                y = b[kk, j, m]
                z = c[kk, j, m]
                s0 += w * (x.real * x.real + x.imag * x.imag)
                s1 += w * (x.real * y.real + x.imag * y.imag)
                s2 += w * (z.real * z.real + z.imag * z.imag)
            out[0] += wl[k] * s0
            out[1] += wl[k] * s1
            out[2] += wl[k] * s2


#: the kernel spectra (:func:`_kernel_spectrum`) of at most this many bytes are kept, the last few of them
SPECTRUM_CACHE_MAX_BYTES = 4 << 20
SPECTRUM_CACHE_ENTRIES = 8
_spectra: OrderedDict = OrderedDict()
_spectra_lock = threading.Lock()


def _kernel_spectrum(fshape: tuple[int, ...], spacing, real_t, fft, workers) -> np.ndarray:
    """The spectrum (k = 0..N/2 per axis) of the inverse-distance kernel on the even periodic grid ``fshape``: the
    type-I DCT of its octant. A function of the grid, the spacing and the precision only, so the last few small ones
    are kept (:data:`SPECTRUM_CACHE_MAX_BYTES`): ROIs of similar size on scans of one protocol share grids, and a
    repeated grid then costs neither the transforms nor their fresh memory (page faults). Never written to."""
    key = (fshape, tuple(float(v) for v in spacing), np.dtype(real_t).str, fft.__name__)
    with _spectra_lock:
        hit = _spectra.get(key)
        if hit is not None:
            _spectra.move_to_end(key)
            return hit
    octant = tuple(n // 2 + 1 for n in fshape)
    w_oct = np.empty(octant)
    _inverse_distance_grid(*(np.arange(n, dtype=np.float64) * s for n, s in zip(octant, spacing)), w_oct)
    w_hat = fft.dct1n(w_oct.astype(real_t, copy=False), workers)
    if w_hat.nbytes <= SPECTRUM_CACHE_MAX_BYTES:
        with _spectra_lock:
            _spectra[key] = w_hat
            while len(_spectra) > SPECTRUM_CACHE_ENTRIES:
                _spectra.popitem(last=False)
    return w_hat


#: work arrays of :func:`pair_sums_parseval` are kept per thread between calls while they take at most this many bytes
#: in all (small ROIs: a few MB), so that a process's later calls touch no fresh memory; larger ones are allocated
SCRATCH_MAX_BYTES = 16 << 20
_scratch_local = threading.local()


def _work_arrays(specs: list[tuple[tuple[int, ...], type]]) -> list[np.ndarray] | None:
    """Uninitialised arrays of the given (shape, dtype), this thread's kept ones (grown when too small); None when they
    would take more than :data:`SCRATCH_MAX_BYTES` in all (the caller then allocates its own, as it needs them)."""
    sizes = [int(np.prod(shape)) * np.dtype(dt).itemsize for shape, dt in specs]
    if sum(sizes) > SCRATCH_MAX_BYTES:
        return None
    kept = getattr(_scratch_local, "arrays", None)
    if kept is None or len(kept) != len(specs):
        kept = _scratch_local.arrays = [np.empty(0, np.uint8) for _ in specs]
    out = []
    for k, ((shape, dt), size) in enumerate(zip(specs, sizes)):
        if kept[k].size < size:
            kept[k] = np.empty(size, np.uint8)
        out.append(kept[k][:size].view(dt).reshape(shape))
    return out


def pair_sums_parseval(mask: np.ndarray, d: np.ndarray, spacing, *, workers: int = -1, block_bytes: int = 3 << 20,
                       single: bool = False, numpy_fft: bool = False) -> tuple[float, float, float]:
    """The sums of :func:`pair_sums_direct`, as :func:`pair_sums_fft` computes them, with fewer and cheaper transforms.

    The three sums are inner products ``<a, W*b>``; by Parseval they equal ``(1/N) sum_k conj(A_k) W_k B_k`` over
    the spectrum, so no inverse transform is needed. ``W`` (1/r on a circular grid of even period N per axis) is even
    along every axis, so its spectrum is real and equals the type-I DCT of one octant (1/8 of the grid).

    The zero padding is pruned: the real transform along z runs over the box's rows and columns only. Then, block by
    block over the z frequencies (contiguous planes), the transform along x runs over the box's rows only and the one
    along y over the whole block, in place in one buffer reused from block to block, and each block's three spectral
    sums are taken while it is in cache. The padded spectra never exist: memory is the three z-transformed fields
    (~1/4 of the padded grid each) plus one block of ``block_bytes`` for the three. Fresh memory is what a process's
    first call pays for (page faults: ~2.5 us per 4 KiB page on the benchmark VM), so it is kept small; on small grids
    the work arrays are kept per thread and the kernel spectrum per grid (:func:`_work_arrays`,
    :func:`_kernel_spectrum`), so a process's later calls touch none (the small phantom's second extraction: ~430 page
    faults -> ~40).
    Cost: three pruned forward FFTs (~60% of three full ones) plus a DCT of an eighth of the grid. Agrees with the
    direct sum to ~1e-12 relative. ``workers``: threads of each ``scipy.fft`` call (the GIL is released throughout).
    ``numpy_fft``: NumPy's FFT instead of SciPy's (one thread; the same values to ~1e-16 relative).

    ``single``: the three fields are transformed in single precision (complex64: half the memory traffic, ~1.5x
    faster), the kernel spectrum and every sum stay in double precision. Moran's I and Geary's C then agree with the
    double-precision sums to ~5e-8 relative (measured on the benchmark phantoms), far inside the IBSI tolerances.
    """
    real_t = np.float32 if single else np.float64
    cplx_t = np.complex64 if single else np.complex128
    fft = _NumpyFFT if numpy_fft else _ScipyFFT
    box = bounding_box(mask)
    mb = mask[box]
    m0, m1, m2 = mb.shape
    # offsets between two voxels of the box run over -(n - 1) .. n - 1 per axis; on an even period N >= 2 (n - 1) the
    # offsets n - 1 and -(n - 1) may share the grid point N / 2: the kernel is even, so both get the right weight
    fshape = tuple(_even_fast_len(max(2, 2 * n - 2)) for n in mb.shape)
    n0, n1, n2 = fshape
    # spectrum at k = 0..N/2 per axis (single: transformed in single precision too, then summed in double)
    w_hat = _kernel_spectrum(fshape, spacing, real_t, fft, workers)
    wl = _half_spectrum_weights(n0)
    kz = n0 // 2 + 1
    nk = max(1, min(kz, int(block_bytes // (3 * n1 * n2 * np.dtype(cplx_t).itemsize))))
    nk = -(-kz // -(-kz // nk))  # the same number of blocks, evenly filled
    # one z-padded field at a time, written in place (no padding copy); the three z-transformed fields (written in
    # place where the FFT takes an output); the three fields' blocks, transformed together (two calls per block)
    in_place = fft is _NumpyFFT and _NUMPY_FFT_OUT
    kept = _work_arrays([((n0, m1, m2), real_t), ((3, kz, m1, m2) if in_place else (0,), cplx_t),
                         ((3, nk, n1, n2), cplx_t)])
    x, h_all, buf = kept if kept is not None else (np.empty((n0, m1, m2), real_t), None, None)
    x[m0:] = 0
    hs = []
    for f, field in enumerate((None, d * d, d)):
        if field is None:
            x[:m0] = mb
        else:
            x[:m0][mb] = field
        hs.append(fft.rfft(x, 0, workers, out=h_all[f] if in_place and h_all is not None else None))
    del x
    if buf is None:  # allocated only now: the z-padded field is gone (peak memory)
        buf = np.empty((3, nk, n1, n2), cplx_t)
    out = np.zeros(3)
    for k0 in range(0, kz, nk):
        nb = min(nk, kz - k0)
        v = buf[:, :nb]
        for f, h in enumerate(hs):
            v[f, :, :m1, :m2] = h[k0:k0 + nb]
        v[:, :, :m1, m2:] = 0
        v[:, :, m1:] = 0
        fft.fft_inplace(v[:, :, :m1], 3, workers)  # along x over the box's rows only
        fft.fft_inplace(v, 2, workers)
        _spectral_dots3(w_hat, wl, v[0], v[1], v[2], k0, out)
    s_w, s_d2m, s_dd = (float(v) for v in out / float(np.prod(fshape)))
    return s_w, s_dd, 2.0 * s_d2m - 2.0 * s_dd


#: padded FFT grids (8x the ROI's bounding box) below this many elements are transformed by NumPy's FFT, larger ones by
#: SciPy's (the small phantom's grid is ~90k elements, the medium's 0.5M)
NUMPY_FFT_MAX_ELEMENTS = 262_144

#: padded FFT grids (8x the ROI's bounding box) of at least this many elements are transformed in single precision
#: (IBSI CT phantom, 125k voxels: 2.2M elements, 65 -> 35 ms; Moran's I moves by ~1e-7 relative)
SINGLE_PRECISION_MIN_ELEMENTS = 1_000_000


def pair_sums(mask: np.ndarray, values: np.ndarray, spacing, *, fft_max_elements: int = 128_000_000):
    """Choose the cheaper exact method (:func:`choose_method`): direct pairs for few voxels or sparse ROIs, FFT
    convolution otherwise. The FFT grid is 8x the bounding box (:func:`pair_sums_parseval` holds about 16 bytes per grid
    element at peak); beyond ``fft_max_elements`` the direct sum is used instead.

    Timings on the IBSI CT phantom (2 CPU cores): 46k voxels FFT 0.16 s, direct 1.5 s; 115k voxels FFT 0.14 s,
    direct ~7 s. Both agree to ~1e-10 relative. Grids of :data:`SINGLE_PRECISION_MIN_ELEMENTS` or more (bounding
    boxes of about 125k voxels and up) are transformed in single precision (see :func:`pair_sums_parseval`)."""
    method, grid = choose_method(mask, fft_max_elements)
    if method == "direct":
        coords = np.argwhere(mask) * np.asarray(spacing, dtype=np.float64)
        return pair_sums_direct(coords, values)
    # small grids: one thread per transform (a thread pool's start costs more than it saves below ~1M elements)
    return pair_sums_parseval(mask, values, spacing, single=grid >= SINGLE_PRECISION_MIN_ELEMENTS,
                              workers=-1 if grid >= PARALLEL_MIN_WORK else 1, numpy_fft=method == "numpy_fft")


#: the cost model :func:`choose_method` compares, in nanoseconds on one core (measured on the benchmark VM): the direct
#: sum ~5 per unordered pair (no fastmath, so that threads give the same bits); the FFT path ~0.13 ms plus ~16 per
#: padded grid element
DIRECT_NS_PER_PAIR = 5.0
FFT_NS_FIXED = 130_000.0
FFT_NS_PER_ELEMENT = 16.0


def choose_method(mask: np.ndarray, fft_max_elements: int = 128_000_000) -> tuple[str, int]:
    """(method, padded grid elements) :func:`pair_sums` takes for ``mask``: ``"direct"``, ``"numpy_fft"`` (grids
    below :data:`NUMPY_FFT_MAX_ELEMENTS`) or ``"scipy_fft"``. The grid is 8x the mask's bounding box. The direct sum
    is taken where it is expected to be cheaper (a few hundred voxels, or few voxels spread over a large box) or the
    grid is beyond ``fft_max_elements``."""
    grid = 8 * int(np.prod([sl.stop - sl.start for sl in bounding_box(mask)]))
    n = int(np.count_nonzero(mask))
    direct_ns = DIRECT_NS_PER_PAIR * n * (n - 1) / 2
    if direct_ns <= FFT_NS_FIXED + FFT_NS_PER_ELEMENT * grid or grid > fft_max_elements:
        return "direct", grid
    return ("numpy_fft" if grid < NUMPY_FFT_MAX_ELEMENTS else "scipy_fft"), grid


def prefetch_fft(mask: np.ndarray) -> None:
    """Imports SciPy's FFT now if Moran's sums on ``mask`` will need it (:func:`choose_method`), so that the first
    extraction does not pay the import (~0.17 s). Called when a mask is read; a guess only (resampling changes the
    grid), which never changes a value."""
    if mask.any() and choose_method(mask)[0] == "scipy_fft":
        import scipy.fft  # noqa: F401
