"""One-dimensional correlation along an axis of a 3D array with IBSI's boundary conditions: the convolution pass of
every separable filter (mean, LoG, Laws, wavelets).

It computes what ``scipy.ndimage.correlate1d`` computes (``out[i] = sum_j w[j] x[i + j - offset]``, the out-of-range
indices mapped by the boundary mode, also for kernels longer than the axis), so that a filter bank needs no SciPy
(~0.2 s to import: a small image's whole filter bank takes less). The sums run over the taps in order; SciPy pairs
the taps of a symmetric kernel, so the two agree to round-off (~1e-16 relative), not bit for bit.
"""

from __future__ import annotations

import itertools

import numpy as np

from radiomix.kernels._jit import njit

#: boundary modes (as ``scipy.ndimage`` names them) -> the kernel's code
MODES = {"constant": 0, "nearest": 1, "wrap": 2, "reflect": 3, "mirror": 4}


@njit(cache=True, nogil=True)
def _source_index(q, n, mode):  # pragma: no cover - compiled
    """Index into an axis of ``n`` voxels that position ``q`` (any integer) reads under ``mode``; -1: a zero."""
    if 0 <= q < n:
        return q
    if mode == 0:
        return -1
    if mode == 1:
        return 0 if q < 0 else n - 1
    if mode == 2:
        return q % n
    if mode == 3:  # d c b a | a b c d | d c b a: period 2n
        m = q % (2 * n)
        return m if m < n else 2 * n - 1 - m
    if n == 1:  # mirror: d c b | a b c d | c b a: period 2n - 2
        return 0
    m = q % (2 * n - 2)
    return m if m < n else 2 * n - 2 - m


@njit(cache=True, nogil=True)
def correlate_lines(x, w, mode, offset, sym, o_lo, o_hi, k_lo, k_hi, out):  # pragma: no cover - compiled
    """``out[o, i, k] = sum_j w[j] x[o, s(i + j - offset), k]`` for ``o_lo <= o < o_hi`` and ``k_lo <= k < k_hi``,
    with ``s`` the boundary map of ``mode`` (:data:`MODES`; a -1 reads zero). ``x`` and ``out`` are
    (outer, n, inner) views of C-ordered arrays: the axis filtered is the middle one, so the inner loop runs over
    contiguous memory. The ranges let threads share one output (the lines are independent).

    ``sym`` 1 (-1): the kernel is symmetric (antisymmetric) about its centre tap, which ``offset`` then is: the taps
    are taken in pairs, ``w[j] (x[i - c + j] +- x[i + c - j])``, half the products (Gaussians and their
    derivatives, the LoG's kernels, are such)."""
    n = x.shape[1]
    taps = w.shape[0]
    src = np.empty(n + taps - 1, np.int64)  # the source index of every position a tap reads
    for q in range(n + taps - 1):
        src[q] = _source_index(q - offset, n, mode)
    half = taps // 2 if sym != 0 else 0
    sign = float(sym)
    if x.shape[2] == 1:  # along the last axis: each line extended by its boundary into a buffer, then plain sums
        ext = np.empty(n + taps - 1)
        for o in range(o_lo, o_hi):
            for q in range(n + taps - 1):
                t = src[q]
                ext[q] = x[o, t, 0] if t >= 0 else 0.0
            for i in range(n):
                if sym != 0:
                    acc = w[half] * ext[i + half]
                    for j in range(half):
                        acc += w[j] * (ext[i + j] + sign * ext[i + taps - 1 - j])
                else:
                    acc = 0.0
                    for j in range(taps):
                        acc += w[j] * ext[i + j]
                out[o, i, 0] = acc
        return
    for o in range(o_lo, o_hi):
        for i in range(n):
            for k in range(k_lo, k_hi):
                out[o, i, k] = 0.0
            if sym != 0:
                t = src[i + half]
                if t >= 0 and w[half] != 0.0:
                    wc = w[half]
                    for k in range(k_lo, k_hi):
                        out[o, i, k] += wc * x[o, t, k]
                for j in range(half):
                    t1 = src[i + j]
                    t2 = src[i + taps - 1 - j]
                    wj = w[j]
                    if t1 >= 0 and t2 >= 0:
                        for k in range(k_lo, k_hi):
                            out[o, i, k] += wj * (x[o, t1, k] + sign * x[o, t2, k])
                    elif t1 >= 0:
                        for k in range(k_lo, k_hi):
                            out[o, i, k] += wj * x[o, t1, k]
                    elif t2 >= 0:
                        for k in range(k_lo, k_hi):
                            out[o, i, k] += (sign * wj) * x[o, t2, k]
                continue
            for j in range(taps):
                t = src[i + j]
                if t < 0:
                    continue
                wj = w[j]
                for k in range(k_lo, k_hi):
                    out[o, i, k] += wj * x[o, t, k]


def correlate1d(x: np.ndarray, weights: np.ndarray, axis: int, mode: str, offset: int, threads: int = 1,
                pool=None) -> np.ndarray:
    """``scipy.ndimage.correlate1d``-like pass along ``axis`` of an array (``offset`` = ``len(weights) // 2 + origin``
    in SciPy's terms), in float64. ``threads`` > 1 (with ``pool``, an executor): the lines split into that many
    blocks (over the axes before ``axis``, else after it), the same numbers as one call."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty(x.shape)
    if x.size == 0:
        return out
    n = x.shape[axis]
    n_outer = int(np.prod(x.shape[:axis], dtype=np.int64))
    x3 = x.reshape(n_outer, n, -1)
    o3 = out.reshape(n_outer, n, -1)
    n_inner = x3.shape[2]
    w = np.ascontiguousarray(weights, dtype=np.float64)
    sym = 0
    if w.size % 2 and w.size > 1 and int(offset) == w.size // 2:
        sym = 1 if np.array_equal(w, w[::-1]) else -1 if np.array_equal(w, -w[::-1]) else 0
    args = (w, MODES[mode], int(offset), sym)
    if threads <= 1 or pool is None or max(n_outer, n_inner) < 2 * threads:
        correlate_lines(x3, *args, 0, n_outer, 0, n_inner, o3)
        return out
    cuts = np.linspace(0, max(n_outer, n_inner), threads + 1).astype(np.int64).tolist()
    blocks = [(a, b, 0, n_inner) if n_outer >= n_inner else (0, n_outer, a, b) for a, b in itertools.pairwise(cuts)]
    for job in [pool.submit(correlate_lines, x3, *args, *block, o3) for block in blocks]:
        job.result()
    return out
