"""Shared machinery of the convolutional filters: boundary conditions, convolution with explicit kernel centres,
FFT convolution, dimensionality (2D slice-wise or 3D) and the voxel rotations used for rotation invariance.

Conventions (IBSI 2):

* Arrays are (z, y, x); 2D filtering is slice-wise in the (y, x) plane of every z slice.
* Filtering is a *convolution*: ``out[i] = sum_k h[k] * x[i + c - k]`` with ``c`` the kernel centre index.
* Boundary conditions (IBSI name -> numpy padding):

  ============ ============================== ==========================
  IBSI         meaning                        ``numpy.pad`` mode
  ============ ============================== ==========================
  ``zero``     constant 0 outside             ``constant``
  ``nearest``  the edge voxel repeated        ``edge``
  ``periodic`` the image tiled                ``wrap``
  ``mirror``   symmetric, edge voxel repeated ``symmetric`` (scipy.ndimage ``reflect``)
  ============ ============================== ==========================

  IBSI's ``mirror`` repeats the edge voxel (``d c b a | a b c d``, scipy.ndimage's ``reflect``). Checked against the
  IBSI 2 reference map 2.b (LoG on the checkerboard): it matches with the edge repeated and fails by twice the
  tolerance with scipy's ``mirror`` mode, which does not repeat the edge. (Map 1.a.4 cannot tell the two apart.)
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np

Boundary = Literal["zero", "nearest", "periodic", "mirror"]
Dimensions = Literal["2d", "3d"]

#: accepted spellings -> canonical IBSI boundary name
BOUNDARY_ALIASES: dict[str, str] = {
    "zero": "zero", "constant": "zero",
    "nearest": "nearest", "edge": "nearest",
    "periodic": "periodic", "wrap": "periodic",
    "mirror": "mirror", "reflect": "mirror", "symmetric": "mirror",
}
_NUMPY_PAD = {"zero": "constant", "nearest": "edge", "periodic": "wrap", "mirror": "symmetric"}
_SCIPY_MODE = {"zero": "constant", "nearest": "nearest", "periodic": "wrap", "mirror": "reflect"}


def canonical_boundary(boundary: str) -> str:
    try:
        return BOUNDARY_ALIASES[boundary]
    except KeyError:
        raise ValueError(f"unknown boundary condition {boundary!r}; use one of zero, nearest, periodic, mirror") from None


def spatial_axes(dimensions: str) -> tuple[int, ...]:
    """Array axes a filter acts on: (1, 2) slice-wise for 2D, (0, 1, 2) for 3D."""
    if dimensions == "2d":
        return (1, 2)
    if dimensions == "3d":
        return (0, 1, 2)
    raise ValueError(f"dimensions must be '2d' or '3d', got {dimensions!r}")


def pad(array: np.ndarray, widths, boundary: str) -> np.ndarray:
    """Pad ``array`` by ``widths`` (per axis (before, after)) with an IBSI boundary condition.

    Pads wider than the array are allowed (numpy repeats the reflection or tiling as often as needed)."""
    mode = _NUMPY_PAD[canonical_boundary(boundary)]
    widths = [(int(a), int(b)) for a, b in widths]
    if not any(a or b for a, b in widths):
        return array
    return np.pad(array, widths, mode=mode)


def convolve1d(array: np.ndarray, kernel: np.ndarray, axis: int, boundary: str, centre: int | None = None):
    """Convolve along one axis: ``out[i] = sum_k kernel[k] * x[i + centre - k]`` (default centre: ``len // 2``).

    Boundaries as ``scipy.ndimage`` handles them (its ``constant``, ``nearest``, ``wrap`` and ``reflect`` modes are
    IBSI's zero, nearest, periodic and mirror, also for kernels longer than the axis); no padded copy of the array is
    made. Float64 arrays (every filter's input) take :func:`radiomix.kernels.filter_kernels.correlate1d`, which
    computes the same sums without importing SciPy; other dtypes ``scipy.ndimage.correlate1d`` (output in the input's
    dtype, as SciPy gives it)."""
    kernel = np.asarray(kernel, dtype=float)
    n = kernel.size
    c = n // 2 if centre is None else int(centre)
    # correlate with the reversed kernel w[j] = kernel[n-1-j]: res[i] = sum_j w[j] x[i + j - offset] is out[i] when
    # offset = n - 1 - c (SciPy's origin = offset - n//2, within its range -(n//2) .. (n-1)//2 when 0 <= c < n)
    if not 0 <= c < n:
        raise ValueError(f"kernel centre {c} is outside the kernel of {n} taps")
    offset = n - 1 - c
    mode = _SCIPY_MODE[canonical_boundary(boundary)]
    weights = kernel[::-1]
    threads = filter_threads() if array.size >= THREADED_MIN_VOXELS else 1
    if array.dtype == np.float64:
        from radiomix.kernels.filter_kernels import correlate1d

        # the lines along `axis` are independent: blocks of them on several threads (the kernel releases the GIL)
        return correlate1d(array, weights, axis, mode, offset, threads, _pool(threads) if threads > 1 else None)
    from scipy import ndimage

    return ndimage.correlate1d(array, weights, axis=axis, mode=mode, origin=offset - n // 2)


#: arrays of at least this many voxels are convolved on several threads (see :func:`filter_threads`); below it a
#: pass takes a few ms and, measured on a loaded 2-core machine, the threads cost more than they gain
THREADED_MIN_VOXELS = 1_048_576


def filter_threads() -> int:
    """Threads a convolution may use (:func:`radiomix.threads.available_threads`, as for the feature families)."""
    from radiomix.threads import available_threads

    return available_threads()


def _pool(threads: int) -> ThreadPoolExecutor:
    from radiomix.threads import shared_pool

    return shared_pool("filter", threads)


def convolve_separable(array: np.ndarray, kernels: dict[int, np.ndarray], boundary: str,
                       centres: dict[int, int] | None = None) -> np.ndarray:
    """Apply one 1D kernel per axis (a separable kernel)."""
    out = array
    for axis, k in kernels.items():
        out = convolve1d(out, k, axis, boundary, None if centres is None else centres.get(axis))
    return out


def fft_convolve(array: np.ndarray, kernel: np.ndarray, axes: tuple[int, ...], boundary: str) -> np.ndarray:
    """Convolve with an explicit (possibly complex) kernel via the FFT. ``kernel`` has one axis per entry of ``axes``
    (other array axes are batch axes), odd sizes, centred. Exact linear convolution with the boundary padding."""
    kernel = np.asarray(kernel)
    widths = [(0, 0)] * array.ndim
    for ax, n in zip(axes, kernel.shape):
        widths[ax] = (n // 2, n // 2)
    xp = pad(array, widths, boundary)
    shape = [xp.shape[ax] for ax in axes]
    import scipy.fft

    fshape = [scipy.fft.next_fast_len(s + k - 1) for s, k in zip(shape, kernel.shape)]
    kshape = [1] * array.ndim
    for ax, n in zip(axes, kernel.shape):
        kshape[ax] = n
    X = scipy.fft.fftn(xp, s=fshape, axes=axes, workers=-1)
    K = scipy.fft.fftn(kernel.reshape(kshape), s=fshape, axes=axes, workers=-1)
    full = scipy.fft.ifftn(X * K, axes=axes, workers=-1)
    sl = [slice(None)] * array.ndim
    for ax, n in zip(axes, kernel.shape):
        # full[j] = sum_k h[k] xp[j - k]; we want out[i] = sum_k h[k] x[i + c - k] = sum_k h[k] xp[i + 2c - k]
        sl[ax] = slice(2 * (n // 2), 2 * (n // 2) + array.shape[ax])
    out = full[tuple(sl)]
    return out if np.iscomplexobj(kernel) else out.real


def frequency_grid(n: int, grid: str = "ibsi") -> np.ndarray:
    """Angular frequencies (rad/voxel) of the ``n`` DFT bins, in FFT order.

    ``grid='dft'``: the exact DFT frequencies ``2 pi k / n``. ``grid='ibsi'``: ``linspace(-pi, pi, n)`` moved to FFT
    order (``ifftshift``), i.e. a step of ``2 pi / (n - 1)`` and, for even ``n``, a half-step asymmetry. This is the grid
    the IBSI 2 consensus maps of the Simoncelli wavelet were made with: maps 8.a.2 and 8.a.3 agree with it to
    floating-point precision and 8.a.1 to 38 % of the tolerance, whereas the exact DFT grid fails 8.a.2 and 8.a.3.
    """
    if grid == "dft":
        return 2 * np.pi * np.fft.fftfreq(n)
    if grid == "ibsi":
        return np.fft.ifftshift(np.linspace(-np.pi, np.pi, n))
    raise ValueError(f"frequency grid must be 'ibsi' or 'dft', got {grid!r}")


def frequency_filter(array: np.ndarray, transfer, axes: tuple[int, ...], boundary: str, margin: int,
                     grid: str = "ibsi") -> np.ndarray:
    """Apply a filter defined by its transfer function ``transfer(omegas) -> array`` in the Fourier domain.

    ``omegas`` is a list with one angular-frequency grid (rad/voxel, see :func:`frequency_grid`) per filtered axis,
    broadcastable. Non-periodic boundaries pad by ``margin`` voxels on each side first; ``periodic`` uses the image as
    it is. Returns a complex array (callers take the real part or modulus).
    """
    if canonical_boundary(boundary) != "periodic" and margin > 0:
        widths = [(0, 0)] * array.ndim
        for ax in axes:
            widths[ax] = (margin, margin)
        xp = pad(array, widths, boundary)
    else:
        margin = 0
        xp = array
    omegas = []
    for i, ax in enumerate(axes):
        n = xp.shape[ax]
        w = frequency_grid(n, grid)
        shape = [1] * len(axes)
        shape[i] = n
        omegas.append(w.reshape(shape))
    H = transfer(omegas)
    hshape = [1] * array.ndim
    for i, ax in enumerate(axes):
        hshape[ax] = H.shape[i]
    import scipy.fft

    X = scipy.fft.fftn(xp, axes=axes, workers=-1)
    out = scipy.fft.ifftn(X * H.reshape(hshape), axes=axes, workers=-1)
    if margin:
        sl = [slice(None)] * array.ndim
        for ax in axes:
            sl[ax] = slice(margin, margin + array.shape[ax])
        out = out[tuple(sl)]
    return out


_SHARED_PASSES: contextvars.ContextVar[dict | None] = contextvars.ContextVar("radiomix_shared_passes", default=None)


@contextlib.contextmanager
def shared_passes():
    """Within this context, filters of the same image share the intermediate results they have in common (see
    :func:`shared_pass`): e.g. the 8 first-level wavelet sub-bands of a 3D image need 14 one-axis passes instead of
    24. The intermediates are dropped when the context ends; responses themselves are never kept."""
    token = _SHARED_PASSES.set({})
    try:
        yield
    finally:
        _SHARED_PASSES.reset(token)


def shared_pass(source: np.ndarray, key: tuple, compute):
    """``compute()``, an intermediate result derived from ``source`` and described by ``key`` (hashable). Inside
    :func:`shared_passes` it is computed once per (source, key) and reused (the caller must not modify it); outside,
    it is always computed. The entry holds ``source`` itself, so its identity cannot be reused by another array."""
    memo = _SHARED_PASSES.get()
    if memo is None:
        return compute()
    hit = memo.get((id(source), key))
    if hit is not None and hit[0] is source:
        return hit[1]
    out = compute()
    memo[(id(source), key)] = (source, out)
    return out


def signed_permutations(ndim: int, proper_only: bool = False):
    """All (permutation, flips) of ``ndim`` axes: 2D gives 8, 3D 48 (24 with ``proper_only``: rotations only)."""
    out = []
    for perm in itertools.permutations(range(ndim)):
        parity = np.linalg.det(np.eye(ndim)[list(perm)])
        for flips in itertools.product((False, True), repeat=ndim):
            det = parity * (-1) ** sum(flips)
            if proper_only and det < 0:
                continue
            out.append((perm, flips))
    return out


def pool(responses, pooling: str) -> np.ndarray:
    """Pool a sequence of response maps voxel-wise by ``max``, ``min`` or ``mean`` without stacking them."""
    acc = None
    n = 0
    for r in responses:
        n += 1
        if acc is None:
            acc = np.array(r, dtype=float, copy=True)
        elif pooling == "max":
            np.maximum(acc, r, out=acc)
        elif pooling == "min":
            np.minimum(acc, r, out=acc)
        elif pooling == "mean":
            acc += r
        else:
            raise ValueError(f"pooling must be max, min or mean, got {pooling!r}")
    if acc is None:
        raise ValueError("nothing to pool")
    return acc / n if pooling == "mean" else acc


def fmt(value: float) -> str:
    """Compact number for image-type names: 1.5 -> '1.5', 2.0 -> '2', 0.125 -> '0.125'."""
    return f"{float(value):g}"
