"""Hot loops of the morphology and local intensity families (IBSI 3.1, 3.2).

Two pairwise-sum implementations for Moran's I / Geary's C, which must agree within floating-point tolerance:

* :func:`pair_sums_direct` (numba, parallel): the O(N^2) sum over ROI voxel pairs, the definition itself.
* :func:`pair_sums_fft` (NumPy/SciPy FFT): the same sums written as a convolution with the inverse-distance kernel on
  the voxel grid (weights depend only on the offset between two voxels), O(M log M) in the bounding-box size M.

The local means of the intensity peaks live in :mod:`radiomix.kernels.sphere_kernels` (re-exported here).
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.fft

from radiomix.kernels.texture_common import bounding_box

#: Work (elements) below which kernels run single-threaded: starting a parallel region costs ~0.1 ms on an idle
#: machine but milliseconds when the cores are busy (other families, other processes, spinning BLAS threads).
PARALLEL_MIN_WORK = 1_000_000

# --- Moran's I / Geary's C ---------------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True, parallel=True, fastmath=True)
def _pair_sums_direct(coords, d, nthreads):  # pragma: no cover - compiled
    n = coords.shape[0]
    acc = np.zeros((nthreads, 3))
    # interleaved rows balance the triangular loop j > i across threads
    for t in numba.prange(nthreads):
        s_w = 0.0
        s_dd = 0.0
        s_diff = 0.0
        for i in range(t, n, nthreads):
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
        acc[t, 0] = s_w
        acc[t, 1] = s_dd
        acc[t, 2] = s_diff
    out = np.zeros(3)
    for t in range(nthreads):
        for k in range(3):
            out[k] += acc[t, k]
    return out


def pair_sums_direct(coords_mm: np.ndarray, d: np.ndarray) -> tuple[float, float, float]:
    """Sums over ordered voxel pairs k != k' of ``w``, ``w d_k d_k'`` and ``w (d_k - d_k')^2`` with
    ``w = 1 / ||r_k - r_k'||`` (positions ``coords_mm`` (N, 3) in mm, values ``d`` (N,)). O(N^2), numba parallel."""
    coords = np.ascontiguousarray(coords_mm, dtype=np.float64)
    dd = np.ascontiguousarray(d, dtype=np.float64)
    s = _pair_sums_direct(coords, dd, max(1, 4 * numba.get_num_threads()))
    # the kernel visits unordered pairs once; ordered sums are twice that
    return 2.0 * float(s[0]), 2.0 * float(s[1]), 2.0 * float(s[2])


@numba.njit(cache=True, nogil=True)
def _inverse_distance_plane(i, az, ay, ax, out):  # pragma: no cover - compiled
    z2 = az[i] * az[i]
    for j in range(ay.size):
        zy2 = z2 + ay[j] * ay[j]
        for k in range(ax.size):
            r2 = zy2 + ax[k] * ax[k]
            out[i, j, k] = 1.0 / np.sqrt(r2) if r2 > 0 else 0.0


@numba.njit(cache=True, nogil=True, parallel=True)
def _inverse_distance_grid_parallel(az, ay, ax, out):  # pragma: no cover - compiled
    for i in numba.prange(az.size):
        _inverse_distance_plane(i, az, ay, ax, out)


@numba.njit(cache=True, nogil=True)
def _inverse_distance_grid_serial(az, ay, ax, out):  # pragma: no cover - compiled
    for i in range(az.size):
        _inverse_distance_plane(i, az, ay, ax, out)


def _inverse_distance_grid(az, ay, ax, out) -> None:
    """``out[i, j, k] = 1 / sqrt(az_i^2 + ay_j^2 + ax_k^2)`` (0 at the origin); numba, threads only for large grids
    (a parallel region costs milliseconds on a busy machine)."""
    if out.size > PARALLEL_MIN_WORK:
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


def _even_fast_len(n: int) -> int:
    """Smallest even length >= n that real FFTs handle fast."""
    m = scipy.fft.next_fast_len(n, real=True)
    while m % 2:
        m = scipy.fft.next_fast_len(m + 1, real=True)
    return m


def _half_spectrum_weights(n_last: int) -> np.ndarray:
    """Weights that turn a sum over an rfft half-spectrum into the sum over the full spectrum (Parseval)."""
    w = np.full(n_last // 2 + 1, 2.0)
    w[0] = 1.0
    if n_last % 2 == 0:
        w[-1] = 1.0
    return w


@numba.njit(cache=True, nogil=True)
def _spectral_dots3(w_hat, wl, a, b, c, j0, n1, out):  # pragma: no cover - compiled
    """Adds to ``out`` the sums over a block of the spectrum of ``W_k |A_k|^2``, ``W_k Re(conj(A_k) B_k)`` and
    ``W_k |C_k|^2``. ``a``, ``b``, ``c`` (n0, nj, n2//2+1): rows ``j0 .. j0+nj`` (of ``n1``) of axis 1 of rfft
    half-spectra; ``w_hat`` the real kernel spectrum on k = 0..n/2 per axis (mirrored on axes 0, 1); ``wl`` the
    half-spectrum weights of the last axis."""
    n0, nj, n2 = a.shape
    for i in range(n0):
        mi = i if 2 * i <= n0 else n0 - i
        for jj in range(nj):
            j = j0 + jj
            mj = j if 2 * j <= n1 else n1 - j
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            for k in range(n2):
                w = w_hat[mi, mj, k] * wl[k]
                x = a[i, jj, k]
                y = b[i, jj, k]
                z = c[i, jj, k]
                s0 += w * (x.real * x.real + x.imag * x.imag)
                s1 += w * (x.real * y.real + x.imag * y.imag)
                s2 += w * (z.real * z.real + z.imag * z.imag)
            out[0] += s0
            out[1] += s1
            out[2] += s2


def pair_sums_parseval(mask: np.ndarray, d: np.ndarray, spacing, *, workers: int = -1,
                       block_bytes: int = 4 << 20) -> tuple[float, float, float]:
    """The sums of :func:`pair_sums_direct`, as :func:`pair_sums_fft` computes them, with fewer and cheaper transforms.

    The three sums are inner products ``<a, W*b>``; by Parseval they equal ``(1/N) sum_k conj(A_k) W_k B_k`` over
    the spectrum, so no inverse transform is needed. ``W`` (1/r on a circular grid of even period N per axis) is even
    along every axis, so its spectrum is real and equals the type-I DCT of one octant (1/8 of the grid).

    The zero padding is pruned: the real transform along x runs over the box's rows only, the one along y over the
    box's slices only, and the last one (along z) block by block over y, each block's three spectral sums taken while
    it is in cache, so the full padded spectra never exist (memory ~1/2 of the padded grid per field instead of 1).
    Cost: three pruned forward FFTs (~60% of three full ones) plus a DCT of an eighth of the grid. Agrees with the
    direct sum to ~1e-12 relative. ``workers``: threads of each ``scipy.fft`` call (the GIL is released throughout).
    """
    box = bounding_box(mask)
    mb = mask[box]
    m = mb.astype(np.float64)
    dv = np.zeros(m.shape)
    dv[mb] = d
    fshape = tuple(_even_fast_len(2 * n) for n in m.shape)
    n0, n1, n2 = fshape
    octant = tuple(n // 2 + 1 for n in fshape)
    w_oct = np.empty(octant)
    _inverse_distance_grid(*(np.arange(n, dtype=np.float64) * s for n, s in zip(octant, spacing)), w_oct)
    w_hat = scipy.fft.dctn(w_oct, type=1, workers=workers)  # spectrum at k = 0..N/2 on each axis (real, even)
    del w_oct
    wl = _half_spectrum_weights(n2)

    def xy_transform(x):
        h = scipy.fft.rfft(x, n2, axis=2, workers=workers)
        return scipy.fft.fft(h, n1, axis=1, workers=workers, overwrite_x=True)

    h_m, h_d2, h_d = xy_transform(m), xy_transform(dv * dv), xy_transform(dv)
    del m, dv
    nj = max(1, int(block_bytes // (n0 * h_m.shape[2] * 16)))
    out = np.zeros(3)
    for j0 in range(0, n1, nj):
        blk = np.s_[:, j0:j0 + nj, :]
        _spectral_dots3(w_hat, wl, scipy.fft.fft(h_m[blk], n0, axis=0, workers=workers),
                        scipy.fft.fft(h_d2[blk], n0, axis=0, workers=workers),
                        scipy.fft.fft(h_d[blk], n0, axis=0, workers=workers), j0, n1, out)
    s_w, s_d2m, s_dd = (float(v) for v in out / float(np.prod(fshape)))
    return s_w, s_dd, 2.0 * s_d2m - 2.0 * s_dd


def pair_sums(mask: np.ndarray, values: np.ndarray, spacing, *, direct_max_voxels: int = 4000,
              fft_max_elements: int = 128_000_000):
    """Choose the cheaper exact method: direct pairs for small ROIs, FFT convolution otherwise. The FFT grid is 8x the
    bounding box (:func:`pair_sums_parseval` holds about 14 bytes per grid element at peak); beyond
    ``fft_max_elements`` the direct sum is used instead.

    Timings on the IBSI CT phantom (2 CPU cores): 46k voxels FFT 0.16 s, direct 1.5 s; 115k voxels FFT 0.14 s,
    direct ~7 s. Both agree to ~1e-10 relative."""
    n = int(np.count_nonzero(mask))
    box = [sl.stop - sl.start for sl in bounding_box(mask)]
    if n <= direct_max_voxels or 8 * int(np.prod(box)) > fft_max_elements:
        coords = np.argwhere(mask) * np.asarray(spacing, dtype=np.float64)
        return pair_sums_direct(coords, values)
    return pair_sums_parseval(mask, values, spacing)


# --- minimum-volume enclosing ellipsoid ---------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _mvee_m(q, u):  # pragma: no cover - compiled
    n, d1 = q.shape
    x = np.zeros((d1, d1))
    for k in range(n):
        for a in range(d1):
            for b in range(d1):
                x[a, b] += u[k] * q[k, a] * q[k, b]
    xi = np.linalg.inv(x)
    m = np.empty(n)
    for k in range(n):
        t = 0.0
        for a in range(d1):
            for b in range(d1):
                t += q[k, a] * xi[a, b] * q[k, b]
        m[k] = t
    return xi, m


@numba.njit(cache=True, nogil=True)
def _mvee_extremes(u, m):  # pragma: no cover - compiled
    """(argmax m (the first; a NaN counts as the maximum, as in ``np.argmax``), argmin of m over u > 0 (the first))."""
    j_up = 0
    j_dn = -1
    for k in range(m.size):
        if k > 0 and (m[k] > m[j_up] or (m[k] != m[k] and m[j_up] == m[j_up])):
            j_up = k
        if u[k] > 0 and (j_dn < 0 or m[k] < m[j_dn]):
            j_dn = k
    return j_up, j_dn


@numba.njit(cache=True, nogil=True)
def mvee_weights(p, tol, max_iter, refresh):  # pragma: no cover - compiled
    """Dual weights ``u`` and the final ``m_k = q_k^T X(u)^{-1} q_k`` of Khachiyan's algorithm with the
    Wolfe-Atwood away steps of Todd and Yildirim (2007), for the points ``p`` (n, dim) (centred); the loop of
    ``features.morphology._mvee``. ``X(u)^{-1}`` and ``m`` are updated by the Sherman-Morrison formula after each step
    (O(n d) instead of O(n d^2) and a solve) and recomputed from ``u`` every ``refresh`` steps and before each
    convergence decision that would stop the loop. Returns (u, m, iterations)."""
    n, dim = p.shape
    d1 = dim + 1
    q = np.empty((n, d1))
    q[:, :dim] = p
    q[:, dim] = 1.0
    u = np.full(n, 1.0 / n)
    xi, m = _mvee_m(q, u)
    j_up, j_dn = _mvee_extremes(u, m)
    fresh = True
    it = 0
    while it < max_iter:
        eps_up = m[j_up] / d1 - 1.0
        eps_dn = 1.0 - m[j_dn] / d1
        if max(eps_up, eps_dn) <= tol:
            if fresh:
                break
            xi, m = _mvee_m(q, u)  # decide on exact values
            j_up, j_dn = _mvee_extremes(u, m)
            fresh = True
            continue
        if eps_up >= eps_dn:
            j = j_up
            step = (m[j] - d1) / (d1 * (m[j] - 1.0))
        else:
            j = j_dn
            step = max((m[j] - d1) / (d1 * (m[j] - 1.0)), -u[j] / (1.0 - u[j]))
        clipped = False
        for k in range(n):  # u <- (1 - s) u + s e_j, clipped at 0
            u[k] *= 1.0 - step
            if k == j:
                u[k] += step
            if u[k] < 0:
                u[k] = 0.0
                clipped = True
        it += 1
        if clipped or it % refresh == 0:
            xi, m = _mvee_m(q, u)
            j_up, j_dn = _mvee_extremes(u, m)
            fresh = True
            continue
        # X' = (1 - s) X + s q_j q_j^T  ->  X'^-1 = (X^-1 - c v v^T / (1 + c m_j)) / (1 - s), c = s / (1 - s)
        v = xi @ q[j]
        c = step / (1.0 - step)
        den = 1.0 + c * m[j]
        xi = (xi - (c / den) * np.outer(v, v)) / (1.0 - step)
        # update m and find the next step's extremes in the same pass (as _mvee_extremes would)
        j_up = 0
        j_dn = -1
        for k in range(n):
            t = 0.0
            for a in range(d1):
                t += q[k, a] * v[a]
            m[k] = (m[k] - c * t * t / den) / (1.0 - step)
            if k > 0 and (m[k] > m[j_up] or (m[k] != m[k] and m[j_up] == m[j_up])):
                j_up = k
            if u[k] > 0 and (j_dn < 0 or m[k] < m[j_dn]):
                j_dn = k
        fresh = False
    return u, m, it


# --- convex hull candidates ---------------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _line_end_points(g, lo, shape):  # pragma: no cover - compiled
    n = g.shape[0]
    keep = np.ones(n, dtype=np.bool_)
    for ax in range(3):
        a1 = (ax + 1) % 3
        a2 = (ax + 2) % 3
        n1 = shape[a1]
        n2 = shape[a2]
        big = np.iinfo(np.int64).max
        vmin = np.full(n1 * n2, big, dtype=np.int64)
        vmax = np.full(n1 * n2, -big, dtype=np.int64)
        for i in range(n):
            key = (g[i, a1] - lo[a1]) * n2 + (g[i, a2] - lo[a2])
            v = g[i, ax]
            vmin[key] = min(vmin[key], v)
            vmax[key] = max(vmax[key], v)
        for i in range(n):
            key = (g[i, a1] - lo[a1]) * n2 + (g[i, a2] - lo[a2])
            v = g[i, ax]
            if v != vmin[key] and v != vmax[key]:
                keep[i] = False
    return keep


def line_end_points(grid_points: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the integer points (n, 3) that are an end point of their line along each of the three
    axes (lowest or highest coordinate among the points sharing the other two coordinates). Every other point lies
    between two points of the set on a line, so it is not an extreme point: the convex hull of the kept points is the
    convex hull of all of them."""
    g = np.ascontiguousarray(grid_points, dtype=np.int64)
    if g.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    lo = g.min(axis=0)
    shape = g.max(axis=0) - lo + 1
    return np.flatnonzero(_line_end_points(g, lo, shape))


# --- oriented minimum bounding box ------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _hull2d(x, y):  # pragma: no cover - compiled
    """Indices of the 2D convex hull of (x, y), counter-clockwise, collinear points left out (monotone chain)."""
    n = x.size
    order = np.argsort(x, kind="mergesort")
    # ties in x: order by y (insertion sort inside each run of equal x)
    i = 0
    while i < n:
        j = i + 1
        while j < n and x[order[j]] == x[order[i]]:
            j += 1
        for a in range(i + 1, j):
            key = order[a]
            b = a - 1
            while b >= i and y[order[b]] > y[key]:
                order[b + 1] = order[b]
                b -= 1
            order[b + 1] = key
        i = j
    hull = np.empty(2 * n + 1, np.int64)
    k = 0
    for t in range(n):  # lower hull
        p = order[t]
        while k >= 2 and ((x[hull[k - 1]] - x[hull[k - 2]]) * (y[p] - y[hull[k - 2]])
                          - (y[hull[k - 1]] - y[hull[k - 2]]) * (x[p] - x[hull[k - 2]])) <= 0:
            k -= 1
        hull[k] = p
        k += 1
    lower = k + 1
    for t in range(n - 2, -1, -1):  # upper hull
        p = order[t]
        while k >= lower and ((x[hull[k - 1]] - x[hull[k - 2]]) * (y[p] - y[hull[k - 2]])
                              - (y[hull[k - 1]] - y[hull[k - 2]]) * (x[p] - x[hull[k - 2]])) <= 0:
            k -= 1
        hull[k] = p
        k += 1
    return hull[:max(k - 1, 0)]


@numba.njit(cache=True, nogil=True)
def _hull2d_filtered(x, y):  # pragma: no cover - compiled
    """:func:`_hull2d` after dropping the points strictly inside the octagon of the extreme points along x, y, x + y
    and x - y (Akl-Toussaint), with a safety margin. Those points are not on the hull, and the kept points keep their
    relative order, so the result (indices into ``x``, ``y``) is the one of :func:`_hull2d` on all points."""
    n = x.size
    if n < 16:
        return _hull2d(x, y)
    ext = np.empty(8, np.int64)  # counter-clockwise: min x, min x+y, min y, max x-y, max x, max x+y, max y, min x-y
    for k in range(8):
        ext[k] = 0
    for i in range(1, n):
        if x[i] < x[ext[0]]:
            ext[0] = i
        if x[i] + y[i] < x[ext[1]] + y[ext[1]]:
            ext[1] = i
        if y[i] < y[ext[2]]:
            ext[2] = i
        if x[i] - y[i] > x[ext[3]] - y[ext[3]]:
            ext[3] = i
        if x[i] > x[ext[4]]:
            ext[4] = i
        if x[i] + y[i] > x[ext[5]] + y[ext[5]]:
            ext[5] = i
        if y[i] > y[ext[6]]:
            ext[6] = i
        if x[i] - y[i] < x[ext[7]] - y[ext[7]]:
            ext[7] = i
    span = max(x[ext[4]] - x[ext[0]], y[ext[6]] - y[ext[2]])
    if not span > 0:
        return _hull2d(x, y)
    margin = 1e-9 * span * span
    keep = np.empty(n, np.int64)
    nk = 0
    for i in range(n):
        inside = True
        n_edges = 0
        for k in range(8):
            a = ext[k]
            b = ext[(k + 1) % 8]
            if x[a] == x[b] and y[a] == y[b]:
                continue
            n_edges += 1
            cross = (x[b] - x[a]) * (y[i] - y[a]) - (y[b] - y[a]) * (x[i] - x[a])
            if cross <= margin:
                inside = False
                break
        if not inside or n_edges < 3:
            keep[nk] = i
            nk += 1
    if nk == n:
        return _hull2d(x, y)
    sub = keep[:nk]
    h = _hull2d(x[sub], y[sub])
    out = np.empty(h.size, np.int64)
    for t in range(h.size):
        out[t] = sub[h[t]]
    return out


@numba.njit(cache=True, nogil=True)
def _face_box(f, pts, normals, us, vs, out):  # pragma: no cover - compiled
    """One row of :func:`face_boxes`."""
    n = pts.shape[0]
    half_pi = np.pi / 2
    x = np.empty(n)
    y = np.empty(n)
    hmin = np.inf
    hmax = -np.inf
    for i in range(n):
        x[i] = pts[i, 0] * us[f, 0] + pts[i, 1] * us[f, 1] + pts[i, 2] * us[f, 2]
        y[i] = pts[i, 0] * vs[f, 0] + pts[i, 1] * vs[f, 1] + pts[i, 2] * vs[f, 2]
        h = pts[i, 0] * normals[f, 0] + pts[i, 1] * normals[f, 1] + pts[i, 2] * normals[f, 2]
        hmin = min(hmin, h)
        hmax = max(hmax, h)
    height = hmax - hmin
    hull = _hull2d_filtered(x, y)
    m = hull.size
    if m < 3:
        out[f, 3] = 0.0
        return
    areas = np.empty(m)
    perims = np.empty(m)
    wus = np.empty(m)
    wvs = np.empty(m)
    for e in range(m):
        a = hull[e]
        b = hull[(e + 1) % m]
        ang = np.arctan2(y[b] - y[a], x[b] - x[a]) % half_pi
        c = np.cos(ang)
        s = np.sin(ang)
        umin = np.inf
        umax = -np.inf
        vmin = np.inf
        vmax = -np.inf
        for t in range(m):
            px = x[hull[t]]
            py = y[hull[t]]
            pu = px * c + py * s
            pv = -px * s + py * c
            umin = min(umin, pu)
            umax = max(umax, pu)
            vmin = min(vmin, pv)
            vmax = max(vmax, pv)
        wus[e] = umax - umin
        wvs[e] = vmax - vmin
        areas[e] = wus[e] * wvs[e]
        perims[e] = wus[e] + wvs[e]
    amin = areas.min()
    best = -1
    for e in range(m):
        if areas[e] <= amin * (1 + 1e-9) and (best < 0 or perims[e] < perims[best]):
            best = e
    rect = wus[best] * wvs[best]
    out[f, 0] = rect * height
    out[f, 1] = 2 * (rect + wus[best] * height + wvs[best] * height)
    out[f, 2] = rect
    out[f, 3] = 1.0


@numba.njit(cache=True, nogil=True, parallel=True)
def _face_boxes_parallel(pts, normals, us, vs, out):  # pragma: no cover - compiled
    for f in numba.prange(normals.shape[0]):
        _face_box(f, pts, normals, us, vs, out)


@numba.njit(cache=True, nogil=True)
def _face_boxes_serial(pts, normals, us, vs, out):  # pragma: no cover - compiled
    for f in range(normals.shape[0]):
        _face_box(f, pts, normals, us, vs, out)


def face_boxes(pts, normals, us, vs, out) -> None:
    """For each face normal f (unit, with in-plane unit axes us[f], vs[f]): the box with one axis along the normal and
    the minimum-area rectangle (one side flush with a 2D hull edge; among equal areas the smallest perimeter) of the
    projection onto the plane. out[f] = (volume, area, rectangle area, ok); ok = 0 when the projection's hull has
    fewer than 3 vertices (the caller handles those)."""
    if normals.shape[0] * pts.shape[0] > PARALLEL_MIN_WORK // 4:
        _face_boxes_parallel(pts, normals, us, vs, out)
    else:
        _face_boxes_serial(pts, normals, us, vs, out)


# --- local intensity: moved to kernels.sphere_kernels, names kept here for existing imports ----------------------------
from radiomix.kernels.sphere_kernels import (  # noqa: F401
    sphere_means_at,
    sphere_means_in_mask,
    sphere_means_reference,
    sphere_offsets,
    sphere_runs,
)
