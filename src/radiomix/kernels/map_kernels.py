"""Voxel-wise (sliding-kernel) feature kernels for ``radiomix.maps``: one serial kernel per block of ROI voxels, the
blocks on threads side by side.

For every centre voxel the kernel is the cube of side ``2 R + 1`` around it, restricted to voxels of the intensity
mask that lie in the image. The features are those of the statistics family (IBSI 3.3) and of the GLCM family (IBSI
3.6, aggregations 3D averaged and 3D merged), with the same definitions and degenerate-input conventions as
``features/statistics.py`` and ``features/glcm.py``; tests compare every value with those families run on the kernel as
a tiny ROI, and :func:`glcm_features` / :func:`_stats` with the families on random inputs.

How the work is kept small per voxel (the cost is dominated by the 13 directional GLCMs plus the merged one):

* The arrays are padded by ``R`` voxels of "outside", so a kernel is read through fixed linear offsets (``cube``)
  without bounds checks; the voxel pairs of each direction inside the cube are precomputed (:func:`cube_pairs`).
* Inside one kernel the co-occurrence matrix is indexed by the grey levels present there only (compact codes), and
  only its non-zero cells are visited (a list of touched cells, which also resets the matrix), so the cost depends on
  the number of voxel pairs, not on ``N_g`` or on the number of levels squared.
* Counts stay integers until the end; every ``p log2 p`` term uses a table of ``log2`` of integers:
  ``-(c/T) (log2 c - log2 T)``, which is exactly 0 for a single-cell matrix, as the families give.
"""

from __future__ import annotations

import numpy as np

from radiomix.kernels._jit import njit

#: number of statistics features, in ``features.statistics.FEATURES`` order
N_STATS = 18
#: number of GLCM features, in ``features.glcm.FEATURES`` order
N_GLCM = 25
#: up to this many values a kernel's intensities are sorted by insertion (no allocation), above by ``np.sort``
_INSERTION_MAX = 64


@njit(cache=True, inline="always")
def _pct(s, n, q):  # pragma: no cover - compiled
    """Percentile of the sorted s[:n], linear interpolation between order statistics (NumPy 'linear')."""
    h = (n - 1) * q / 100.0
    lo = int(np.floor(h))
    if lo >= n - 1:
        return s[n - 1]
    t = h - lo
    a = s[lo]
    b = s[lo + 1]
    d = b - a
    return b - d * (1.0 - t) if t >= 0.5 else a + d * t


@njit(cache=True, inline="always")
def _sort_head(x, n):  # pragma: no cover - compiled
    """Sort x[:n] in place."""
    if n > _INSERTION_MAX:
        x[:n] = np.sort(x[:n])
        return
    for i in range(1, n):
        v = x[i]
        j = i - 1
        while j >= 0 and x[j] > v:
            x[j + 1] = x[j]
            j -= 1
        x[j + 1] = v


@njit(cache=True)
def _stats(x, n, out):  # pragma: no cover - compiled
    """The 18 statistics features of x[:n] (sorted in place) into out; NaN for n == 0."""
    _sort_head(x, n)
    _stats_sorted(x, n, out)


@njit(cache=True)
def _stats_sorted(s, n, out):  # pragma: no cover - compiled
    """The 18 statistics features of the sorted s[:n] into out."""
    if n == 0:
        out[:] = np.nan
        return
    mu = 0.0
    for k in range(n):
        mu += s[k]
    mu /= n
    m2 = 0.0
    m3 = 0.0
    m4 = 0.0
    mad = 0.0
    en = 0.0
    for k in range(n):
        d = s[k] - mu
        d2 = d * d
        m2 += d2
        m3 += d2 * d
        m4 += d2 * d2
        mad += abs(d)
        en += s[k] * s[k]
    m2 /= n
    m3 /= n
    m4 /= n
    med = _pct(s, n, 50.0)
    p10 = _pct(s, n, 10.0)
    p90 = _pct(s, n, 90.0)
    p25 = _pct(s, n, 25.0)
    p75 = _pct(s, n, 75.0)
    out[0] = mu
    out[1] = m2
    out[2] = 0.0 if m2 == 0 else m3 / m2 ** 1.5
    out[3] = 0.0 if m2 == 0 else m4 / m2 ** 2 - 3.0
    out[4] = med
    out[5] = s[0]
    out[6] = p10
    out[7] = p90
    out[8] = s[n - 1]
    out[9] = p75 - p25
    out[10] = s[n - 1] - s[0]
    out[11] = mad / n
    # robust MAD over p10 <= x <= p90
    c = 0
    sm = 0.0
    for k in range(n):
        if s[k] >= p10 and s[k] <= p90:
            sm += s[k]
            c += 1
    if c == 0:
        out[12] = np.nan
    else:
        sm /= c
        r = 0.0
        for k in range(n):
            if s[k] >= p10 and s[k] <= p90:
                r += abs(s[k] - sm)
        out[12] = r / c
    md = 0.0
    for k in range(n):
        md += abs(s[k] - med)
    out[13] = md / n
    out[14] = np.sqrt(m2) / mu if mu != 0 else np.nan
    out[15] = (p75 - p25) / (p75 + p25) if (p75 + p25) != 0 else np.nan
    out[16] = en
    out[17] = np.sqrt(en / n)


@njit(cache=True)
def _diff_weights(n_g):  # pragma: no cover - compiled
    """Weights of the grey-level difference t = 0..n_g-1 in the inverse-difference features: rows 1 / (1 + t),
    1 / (1 + t / N_g), 1 / (1 + t^2), 1 / (1 + (t / N_g)^2) and 1 / t^2 (0 for t = 0)."""
    w = np.zeros((5, n_g))
    for t in range(n_g):
        w[0, t] = 1.0 / (1.0 + t)
        w[1, t] = 1.0 / (1.0 + t / n_g)
        w[2, t] = 1.0 / (1.0 + t * t)
        w[3, t] = 1.0 / (1.0 + (t / n_g) ** 2)
        if t > 0:
            w[4, t] = 1.0 / (t * t)
    return w


@njit(cache=True, inline="always")
def _cell(i, j, n, sym, lev, lmin, log2n, l2t, px, py, pd, ps, cmax, asm, sum_ij, hxy):  # pragma: no cover
    """Add the cell (i, j) with count n (of U when sym: the cells (i, j) and (j, i) of U + U^T) to the marginals and
    return the updated (max count, sum of squares, sum of i j n, sum of -n log2(n / T))."""
    v = float(n)
    li = lev[i]
    lj = lev[j]
    w = 1.0  # number of cells with this count: 2 for an off-diagonal cell of a symmetric matrix
    if sym:
        if i == j:
            v *= 2.0
        else:
            w = 2.0
            px[j] += v
            py[i] += v
    px[i] += v
    py[j] += v
    pd[int(abs(li - lj))] += w * v
    ps[int(li + lj - 2 * lmin)] += w * v
    return max(cmax, v), asm + w * v * v, sum_ij + w * li * lj * v, hxy - w * v * (log2n[int(v)] - l2t)


@njit(cache=True, inline="always")
def _glcm_sparse(counts, ci, cj, c0, c1, total, sym, k, spare, lev, lmin, lmax, n_g, log2n, rdiff, out, px, py,
                 pd, ps, merge, do_merge):  # pragma: no cover - compiled
    """The 25 GLCM features of an integer count matrix ``counts`` (at least (k + 1) x (k + 1)) into ``out``; returns
    False (out untouched) for an empty matrix (``total == 0``). Every non-zero cell of ``counts`` is listed at
    least once among ``(ci[c], cj[c])``, ``c0 <= c < c1`` (repeats allowed); a cell is used the first time it is met and
    every listed cell is reset to 0 on the way, so ``counts`` is all zero afterwards. Cells in row or column ``spare``
    (the code of "outside") are reset and ignored. ``total``: the number of pairs in the matrix (the sum of the
    non-ignored cells, counted twice when ``sym``). ``sym=False``: ``counts[:k, :k]`` is the matrix. ``sym=True``: the
    matrix is ``U + U^T`` with ``U = counts`` upper triangular (unordered pair counts; ``ci <= cj``). ``lev[:k]``:
    the grey level of each row/column, all within ``lmin..lmax``; ``log2n[c] = log2(c)`` for every count and
    marginal sum; ``rdiff``: :func:`_diff_weights`. With ``do_merge`` the counts are also added to ``merge`` (same
    shape as ``counts``). Scratch: ``px``, ``py`` (k), ``pd`` (>= lmax - lmin + 1), ``ps`` (>= 2 (lmax - lmin) + 1)."""
    if total <= 0:
        for c in range(c0, c1):
            counts[ci[c], cj[c]] = 0
        return False
    inv = 1.0 / total
    l2t = log2n[int(total)]
    nd = int(lmax - lmin) + 1
    ns = 2 * nd - 1
    for i in range(k):
        px[i] = 0.0
        py[i] = 0.0
    for t in range(nd):
        pd[t] = 0.0
    for t in range(ns):
        ps[t] = 0.0
    cmax = 0.0
    asm = 0.0
    sum_ij = 0.0
    hxy = 0.0
    if (k * (k + 1) // 2 if sym else k * k) <= c1 - c0:
        # few levels: visit the k x k cells (upper triangle when sym) without branches; empty cells add 0
        for i in range(k):
            for j in range(i if sym else 0, k):
                n = counts[i, j]
                counts[i, j] = 0
                if do_merge:
                    merge[i, j] += n
                cmax, asm, sum_ij, hxy = _cell(i, j, n, sym, lev, lmin, log2n, l2t, px, py, pd, ps, cmax, asm,
                                               sum_ij, hxy)
        for i in range(k):
            counts[i, spare] = 0
            counts[spare, i] = 0
        counts[spare, spare] = 0
    else:
        # many levels: visit the listed cells, each the first time it is met
        for c in range(c0, c1):
            i = ci[c]
            j = cj[c]
            n = counts[i, j]
            counts[i, j] = 0
            if n == 0 or i == spare or j == spare:
                continue
            if do_merge:
                merge[i, j] += n
            cmax, asm, sum_ij, hxy = _cell(i, j, n, sym, lev, lmin, log2n, l2t, px, py, pd, ps, cmax, asm, sum_ij,
                                           hxy)
    hxy *= inv
    asm *= inv * inv
    sum_ij *= inv
    mu_x = 0.0
    mu_y = 0.0
    for i in range(k):
        mu_x += lev[i] * px[i]
        mu_y += lev[i] * py[i]
    mu_x *= inv
    mu_y *= inv
    var_x = 0.0
    var_y = 0.0
    hx = 0.0
    hy = 0.0
    for i in range(k):
        var_x += (lev[i] - mu_x) ** 2 * px[i]
        var_y += (lev[i] - mu_y) ** 2 * py[i]
        # no branches on empty bins here and below: log2n[0] = 0, so an empty bin adds exactly 0
        hx -= px[i] * (log2n[int(px[i])] - l2t)
        hy -= py[i] * (log2n[int(py[i])] - l2t)
    var_x *= inv
    var_y *= inv
    hx *= inv
    hy *= inv
    d_avg = 0.0
    for t in range(nd):
        d_avg += t * pd[t]
    d_avg *= inv
    d_var = 0.0
    d_ent = 0.0
    contrast = 0.0
    inv_d = 0.0
    n_inv_d = 0.0
    idm = 0.0
    n_idm = 0.0
    inv_var = 0.0
    for t in range(nd):
        c = pd[t]
        v = c * inv
        d_var += (t - d_avg) ** 2 * v
        d_ent -= v * (log2n[int(c)] - l2t)
        contrast += t * t * v
        inv_d += v * rdiff[0, t]
        n_inv_d += v * rdiff[1, t]
        idm += v * rdiff[2, t]
        n_idm += v * rdiff[3, t]
        inv_var += v * rdiff[4, t]
    s_avg = 0.0
    for t in range(ns):
        s_avg += (t + 2 * lmin) * ps[t]
    s_avg *= inv
    s_var = 0.0
    s_ent = 0.0
    c2 = 0.0
    c3 = 0.0
    c4 = 0.0
    for t in range(ns):
        c = ps[t]
        v = c * inv
        s = t + 2 * lmin
        s_var += (s - s_avg) ** 2 * v
        s_ent -= v * (log2n[int(c)] - l2t)
        e = s - mu_x - mu_y
        e2 = e * e
        c2 += e2 * v
        c3 += e2 * e * v
        c4 += e2 * e2 * v
    out[0] = cmax * inv
    out[1] = mu_x
    out[2] = var_x
    out[3] = hxy
    out[4] = d_avg
    out[5] = d_var
    out[6] = d_ent
    out[7] = s_avg
    out[8] = s_var
    out[9] = s_ent
    out[10] = asm
    out[11] = contrast
    out[12] = d_avg
    out[13] = inv_d
    out[14] = n_inv_d
    out[15] = idm
    out[16] = n_idm
    out[17] = inv_var
    den = np.sqrt(var_x * var_y)
    out[18] = (sum_ij - mu_x * mu_y) / den if den > 0 else np.nan
    out[19] = sum_ij
    out[20] = c2
    out[21] = c3
    out[22] = c4
    hm = max(hx, hy)
    out[23] = (hxy - (hx + hy)) / hm if hm > 0 else np.nan
    out[24] = np.sqrt(max(0.0, 1.0 - np.exp(-2.0 * (hx + hy - hxy))))
    return True


@njit(cache=True)
def glcm_features(counts, lev, n_g, out):  # pragma: no cover - compiled
    """The 25 GLCM features of the integer count matrix ``counts`` (k x k) over the grey levels ``lev`` (k,) of an
    ``n_g``-level discretisation, into ``out``. Returns False (out untouched) for an empty matrix."""
    k = lev.size
    m = np.zeros((k + 1, k + 1), np.int64)
    ci = np.empty(k * k, np.int64)
    cj = np.empty(k * k, np.int64)
    nc = 0
    total = 0
    for i in range(k):
        for j in range(k):
            if counts[i, j] > 0:
                m[i, j] = int(counts[i, j])
                ci[nc] = i
                cj[nc] = j
                nc += 1
                total += m[i, j]
    log2n = np.zeros(total + 1)
    for c in range(1, total + 1):
        log2n[c] = np.log2(c)
    lmin = lev.min()
    lmax = lev.max()
    span = int(lmax - lmin) + 1
    return _glcm_sparse(m, ci, cj, 0, nc, total, False, k, k, lev, lmin, lmax, n_g, log2n, _diff_weights(n_g), out,
                        np.empty(k), np.empty(k), np.empty(span), np.empty(2 * span - 1), m, False)


def cube_pairs(radius: int, offsets: np.ndarray, padded_shape) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                        np.ndarray]:
    """Geometry of a cubic kernel of side ``2 radius + 1`` in a C-ordered array of ``padded_shape``:
    ``cube`` (K,): linear offsets of the kernel's voxels from its centre; ``pair_a``, ``pair_b``: kernel-voxel indices
    of every voxel pair ``(a, a + offset)`` that lies inside the cube, grouped by direction; ``dir_start`` (n_dir + 1):
    where each direction's pairs start."""
    side = 2 * radius + 1
    rel = np.stack(np.meshgrid(*[np.arange(-radius, radius + 1)] * 3, indexing="ij"), -1).reshape(-1, 3)
    strides = np.array([padded_shape[1] * padded_shape[2], padded_shape[2], 1], dtype=np.int64)
    cube = rel @ strides
    pa, pb, start = [], [], [0]
    for off in np.asarray(offsets, dtype=np.int64):
        b = rel + off
        ok = np.all(np.abs(b) <= radius, axis=1)
        ia = np.flatnonzero(ok)
        ib = ((b[ok, 0] + radius) * side + b[ok, 1] + radius) * side + b[ok, 2] + radius
        pa.append(ia)
        pb.append(ib)
        start.append(start[-1] + ia.size)
    return (np.ascontiguousarray(cube, dtype=np.int64), np.concatenate(pa).astype(np.int64),
            np.concatenate(pb).astype(np.int64), np.array(start, dtype=np.int64))


@njit(cache=True, nogil=True)
def voxel_maps_block(image, lv, inside, points, p0, p1, radius, cube, pair_a, pair_b, dir_start, n_g, symmetric,
                     stat_slot, avg_slot, mrg_slot, out):  # pragma: no cover - compiled
    """:func:`voxel_maps` for ``points[p0:p1]``: one block of the points, serially (without the GIL, so that blocks
    run on threads side by side)."""
    n_log = 2 * pair_a.size + 2
    rdiff = _diff_weights(n_g)
    log2n = np.zeros(n_log)
    for c in range(1, n_log):
        log2n[c] = np.log2(c)
    _maps_chunk(image, lv, inside, points, p0, p1, radius, cube, pair_a, pair_b, dir_start, n_g, symmetric,
                stat_slot, avg_slot, mrg_slot, out, rdiff, log2n)


def voxel_maps(image, lv, inside, points, radius, cube, pair_a, pair_b, dir_start, n_g, symmetric,
               stat_slot, avg_slot, mrg_slot, out, n_chunks, threads: int = 1) -> None:
    """Statistics and GLCM features of the kernel around each of ``points`` (M, 3), written straight into the maps.

    ``image`` (float64), ``lv`` (int32: grey levels 1..n_g inside the intensity mask, 0 outside) and ``inside``
    (bool) are the ROI box padded by ``radius`` voxels of "outside" on every side; ``points`` are (z, y, x) in the
    unpadded box. ``cube``, ``pair_a``, ``pair_b``, ``dir_start``: :func:`cube_pairs` for the padded shape.
    ``out`` (F, box voxels) float32: feature ``t`` of the statistics family goes to row ``stat_slot[t]`` (skipped if
    -1), GLCM 3D averaged to ``avg_slot[t]``, 3D merged to ``mrg_slot[t]``, at the point's C-order index in the box.
    Statistics of a kernel without voxels and GLCM features of a kernel without pairs are NaN; an averaged feature is
    the mean over the directions where it is defined.

    The points are split into ``n_chunks`` blocks (:func:`voxel_maps_block`, each with its own scratch arrays: no
    allocation per voxel), run on ``threads`` threads of a shared pool. Every point's values are computed alone, so
    they do not depend on the split. The blocks are serial kernels on Python threads rather than one numba
    ``prange`` loop, so that they run from the ahead-of-time build too: a process that makes maps never starts
    numba's runtime (~0.3 s)."""
    args = (image, lv, inside, points)
    rest = (radius, cube, pair_a, pair_b, dir_start, n_g, symmetric, stat_slot, avg_slot, mrg_slot, out)
    npts = points.shape[0]
    n_chunks = max(1, min(npts, n_chunks))
    bounds = [(ch * npts // n_chunks, (ch + 1) * npts // n_chunks) for ch in range(n_chunks)]
    if threads <= 1 or n_chunks == 1:
        for p0, p1 in bounds:
            voxel_maps_block(*args, p0, p1, *rest)
        return
    from radiomix.threads import shared_pool

    pool = shared_pool("maps", threads)
    for job in [pool.submit(voxel_maps_block, *args, p0, p1, *rest) for p0, p1 in bounds]:
        job.result()


@njit(cache=True)
def _maps_chunk(image, lv, inside, points, p0, p1, radius, cube, pair_a, pair_b, dir_start, n_g, symmetric,
                stat_slot, avg_slot, mrg_slot, out, rdiff, log2n):  # pragma: no cover - compiled
    """:func:`voxel_maps` for ``points[p0:p1]`` (one thread's share; the tables ``rdiff`` and ``log2n`` are shared)."""
    _, py_, px_ = image.shape
    by, bx = py_ - 2 * radius, px_ - 2 * radius
    img = image.ravel()
    lvf = lv.ravel()
    ins = inside.ravel()
    kn = cube.size
    nd = dir_start.size - 1
    kc = min(kn, n_g)  # distinct levels in one kernel
    n_all = pair_a.size
    do_stats = False
    for t in range(N_STATS):
        if stat_slot[t] >= 0:
            do_stats = True
    do_glcm = False
    for t in range(N_GLCM):
        if avg_slot[t] >= 0 or mrg_slot[t] >= 0:
            do_glcm = True
    buf = np.empty(kn)
    st = np.empty(N_STATS)
    gq = np.empty(kn, np.int64)
    code = np.full(n_g + 1, -1, np.int64)
    lev = np.empty(kc)
    cnt = np.zeros((kc + 1, kc + 1), np.int64)
    mcnt = np.zeros((kc + 1, kc + 1), np.int64)
    ci = np.empty(n_all, np.int64)
    cj = np.empty(n_all, np.int64)
    f = np.empty(N_GLCM)
    acc = np.empty(N_GLCM)
    px = np.empty(kc)
    py = np.empty(kc)
    pd = np.empty(n_g)
    ps = np.empty(2 * n_g - 1)
    for p in range(p0, p1):
        z = points[p, 0]
        y = points[p, 1]
        x = points[p, 2]
        o = (z * by + y) * bx + x
        c0 = ((z + radius) * py_ + y + radius) * px_ + x + radius
        if do_stats:
            n = 0
            for q in range(kn):
                a = c0 + cube[q]
                if ins[a]:
                    buf[n] = img[a]
                    n += 1
            _sort_head(buf, n)
            _stats_sorted(buf, n, st)
            for t in range(N_STATS):
                if stat_slot[t] >= 0:
                    out[stat_slot[t], o] = st[t]
        if not do_glcm:
            continue
        # distinct levels of the kernel -> compact codes
        k = 0
        lmin = n_g + 1.0
        lmax = 0.0
        for q in range(kn):
            a = lvf[c0 + cube[q]]
            if a > 0:
                if code[a] < 0:
                    code[a] = k
                    lev[k] = a
                    k += 1
                    lmin = min(lmin, a)
                    lmax = max(lmax, a)
                gq[q] = code[a]
            else:
                gq[q] = kc
        acc[:] = 0.0
        n_dir = 0  # directions with pairs; correlation (18) and information correlation 1 (23) can be NaN
        n_18 = 0
        n_23 = 0
        m_total = 0
        for d in range(nd):
            # branch-free counting: voxels outside the mask have the code kc (a spare last row and column,
            # ignored and reset by _glcm_sparse); every pair is listed, _glcm_sparse skips repeated cells
            n_pairs = 0
            for t in range(dir_start[d], dir_start[d + 1]):
                a = gq[pair_a[t]]
                b = gq[pair_b[t]]
                if symmetric:
                    a, b = min(a, b), max(a, b)
                ci[t] = a
                cj[t] = b
                n_pairs += (a < kc) & (b < kc)
                cnt[a, b] += 1
            total = 2 * n_pairs if symmetric else n_pairs
            m_total += total
            if _glcm_sparse(cnt, ci, cj, dir_start[d], dir_start[d + 1], total, symmetric, k, kc, lev, lmin,
                            lmax, n_g, log2n, rdiff, f, px, py, pd, ps, mcnt, True):
                n_dir += 1
                if np.isfinite(f[18]):
                    n_18 += 1
                else:
                    f[18] = 0.0
                if np.isfinite(f[23]):
                    n_23 += 1
                else:
                    f[23] = 0.0
                for t in range(N_GLCM):
                    acc[t] += f[t]
        for t in range(N_GLCM):
            if avg_slot[t] >= 0:
                m = n_18 if t == 18 else (n_23 if t == 23 else n_dir)
                out[avg_slot[t], o] = acc[t] / m if m > 0 else np.nan
        if _glcm_sparse(mcnt, ci, cj, 0, n_all, m_total, symmetric, k, kc, lev, lmin, lmax, n_g, log2n, rdiff, f,
                        px, py, pd, ps, mcnt, False):
            for t in range(N_GLCM):
                if mrg_slot[t] >= 0:
                    out[mrg_slot[t], o] = f[t]
        else:
            for t in range(N_GLCM):
                if mrg_slot[t] >= 0:
                    out[mrg_slot[t], o] = np.nan
        for t in range(k):  # reset the level codes for the next voxel
            code[int(lev[t])] = -1
