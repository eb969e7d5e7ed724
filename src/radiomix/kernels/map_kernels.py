"""Voxel-wise (sliding-kernel) feature kernels for ``radiomix.maps``: numba, parallel over the ROI voxels.

For every centre voxel ``points[p]`` the kernel is the cube of side ``2 R + 1`` around it, restricted to voxels of the
intensity mask that lie in the image (``lv > 0`` / ``inside``). The features are those of the statistics family
(IBSI 3.3) and of the GLCM family (IBSI 3.6, aggregations 3D averaged and 3D merged), with the same definitions and
degenerate-input conventions as ``features/statistics.py`` and ``features/glcm.py``; tests compare every value with
those families run on the kernel as a tiny ROI.

Inside one kernel the co-occurrence matrix is built on the grey levels present there only (at most ``(2R+1)^3`` of
them), so its cost does not depend on the number of grey levels of the whole ROI; the features use the true level
values (and ``N_g``, the number of levels of the ROI's discretisation, where IBSI normalises by it).
"""

from __future__ import annotations

import numba
import numpy as np

#: number of statistics features, in ``features.statistics.FEATURES`` order
N_STATS = 18
#: number of GLCM features, in ``features.glcm.FEATURES`` order
N_GLCM = 25


@numba.njit(cache=True, inline="always")
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


@numba.njit(cache=True)
def _stats(x, n, out):  # pragma: no cover - compiled
    """The 18 statistics features of x[:n] (sorted in place) into out."""
    if n == 0:
        out[:] = np.nan
        return
    s = np.sort(x[:n])
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
        m2 += d * d
        m3 += d * d * d
        m4 += d * d * d * d
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


@numba.njit(cache=True, parallel=True)
def statistics_map(image, inside, points, radius, out):  # pragma: no cover - compiled
    """Statistics features (out[p, :18]) of the kernel around each of ``points`` (M, 3)."""
    nz, ny, nx = image.shape
    side = 2 * radius + 1
    for p in numba.prange(points.shape[0]):
        buf = np.empty(side * side * side)
        n = 0
        z0 = points[p, 0]
        y0 = points[p, 1]
        x0 = points[p, 2]
        for z in range(max(z0 - radius, 0), min(z0 + radius + 1, nz)):
            for y in range(max(y0 - radius, 0), min(y0 + radius + 1, ny)):
                for x in range(max(x0 - radius, 0), min(x0 + radius + 1, nx)):
                    if inside[z, y, x]:
                        buf[n] = image[z, y, x]
                        n += 1
        _stats(buf, n, out[p])


@numba.njit(cache=True)
def _entropy(v):  # pragma: no cover - compiled
    h = 0.0
    for k in range(v.size):
        if v[k] > 0:
            h -= v[k] * np.log2(v[k])
    return h


@numba.njit(cache=True)
def glcm_features(counts, lev, n_g, out):  # pragma: no cover - compiled
    """The 25 GLCM features of the count matrix ``counts`` (k x k) over the grey levels ``lev`` (k,), into ``out``.
    Returns False (out untouched) for an empty matrix."""
    k = lev.size
    return _glcm_features(counts, k, lev, n_g, out, np.empty(k), np.empty(k), np.empty(n_g), np.empty(2 * n_g - 1))


@numba.njit(cache=True)
def _glcm_features(counts, k, lev, n_g, out, px, py, pd, ps):  # pragma: no cover - compiled
    """:func:`glcm_features` on ``counts[:k, :k]`` with caller-owned scratch arrays (no allocation)."""
    total = 0.0
    for i in range(k):
        for j in range(k):
            total += counts[i, j]
    if total <= 0:
        return False
    inv = 1.0 / total
    px[:k] = 0.0
    py[:k] = 0.0
    pd[:] = 0.0
    ps[:] = 0.0
    pmax = 0.0
    asm = 0.0
    sum_ij = 0.0
    hxy = 0.0
    for i in range(k):
        for j in range(k):
            c = counts[i, j]
            if c == 0:
                continue
            v = c * inv
            px[i] += v
            py[j] += v
            li = lev[i]
            lj = lev[j]
            pd[int(abs(li - lj))] += v
            ps[int(li + lj) - 2] += v
            if v > pmax:
                pmax = v
            asm += v * v
            sum_ij += li * lj * v
            hxy -= v * np.log2(v)
    mu_x = 0.0
    mu_y = 0.0
    for i in range(k):
        mu_x += lev[i] * px[i]
        mu_y += lev[i] * py[i]
    var_x = 0.0
    var_y = 0.0
    hx = 0.0
    hy = 0.0
    for i in range(k):
        var_x += (lev[i] - mu_x) ** 2 * px[i]
        var_y += (lev[i] - mu_y) ** 2 * py[i]
        if px[i] > 0:
            hx -= px[i] * np.log2(px[i])
        if py[i] > 0:
            hy -= py[i] * np.log2(py[i])
    d_avg = 0.0
    for t in range(n_g):
        d_avg += t * pd[t]
    d_var = 0.0
    d_ent = 0.0
    contrast = 0.0
    inv_d = 0.0
    n_inv_d = 0.0
    idm = 0.0
    n_idm = 0.0
    inv_var = 0.0
    for t in range(n_g):
        v = pd[t]
        if v == 0:
            continue
        d_var += (t - d_avg) ** 2 * v
        d_ent -= v * np.log2(v)
        contrast += t * t * v
        inv_d += v / (1.0 + t)
        n_inv_d += v / (1.0 + t / n_g)
        idm += v / (1.0 + t * t)
        n_idm += v / (1.0 + (t / n_g) ** 2)
        if t > 0:
            inv_var += v / (t * t)
    s_avg = 0.0
    for t in range(2 * n_g - 1):
        s_avg += (t + 2) * ps[t]
    s_var = 0.0
    s_ent = 0.0
    c2 = 0.0
    c3 = 0.0
    c4 = 0.0
    for t in range(2 * n_g - 1):
        v = ps[t]
        if v == 0:
            continue
        s_var += (t + 2 - s_avg) ** 2 * v
        s_ent -= v * np.log2(v)
        c = t + 2 - mu_x - mu_y
        c2 += c * c * v
        c3 += c * c * c * v
        c4 += c * c * c * c * v
    out[0] = pmax
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


@numba.njit(cache=True, parallel=True)
def glcm_map(lv, points, radius, offsets, n_g, symmetric, out_avg, out_merged, n_chunks):  # pragma: no cover - compiled
    """GLCM features of the kernel around each of ``points``: 3D averaged over the directions (out_avg[p, :25]) and
    3D merged (out_merged[p, :25]); NaN where the kernel has no pair (or the feature is undefined everywhere).
    ``lv``: grey levels 1..n_g inside the intensity mask, 0 outside; ``offsets`` (n_dir, 3) already times the
    distance. The points are split into ``n_chunks`` chunks (a few per thread), each with its own scratch arrays (no
    allocation per voxel)."""
    nz, ny, nx = lv.shape
    nd = offsets.shape[0]
    side = 2 * radius + 1
    kmax = side * side * side
    npts = points.shape[0]
    n_chunks = max(1, min(npts, n_chunks))
    for ch in numba.prange(n_chunks):
        code = np.full(n_g + 1, -1, np.int64)
        lev = np.empty(kmax)
        counts = np.zeros((nd, kmax, kmax))
        merged = np.zeros((kmax, kmax))
        f = np.empty(N_GLCM)
        acc = np.empty(N_GLCM)
        cnt = np.empty(N_GLCM)
        px = np.empty(kmax)
        py = np.empty(kmax)
        pd = np.empty(n_g)
        ps = np.empty(2 * n_g - 1)
        for p in range(ch * npts // n_chunks, (ch + 1) * npts // n_chunks):
            z0 = points[p, 0]
            y0 = points[p, 1]
            x0 = points[p, 2]
            za, zb = max(z0 - radius, 0), min(z0 + radius + 1, nz)
            ya, yb = max(y0 - radius, 0), min(y0 + radius + 1, ny)
            xa, xb = max(x0 - radius, 0), min(x0 + radius + 1, nx)
            # distinct levels of the kernel -> compact index
            k = 0
            for z in range(za, zb):
                for y in range(ya, yb):
                    for x in range(xa, xb):
                        a = lv[z, y, x]
                        if a > 0 and code[a] < 0:
                            code[a] = k
                            lev[k] = a
                            k += 1
            counts[:, :k, :k] = 0.0
            for z in range(za, zb):
                for y in range(ya, yb):
                    for x in range(xa, xb):
                        a = lv[z, y, x]
                        if a <= 0:
                            continue
                        for d in range(nd):
                            zz = z + offsets[d, 0]
                            yy = y + offsets[d, 1]
                            xx = x + offsets[d, 2]
                            if zz < za or zz >= zb or yy < ya or yy >= yb or xx < xa or xx >= xb:
                                continue
                            b = lv[zz, yy, xx]
                            if b <= 0:
                                continue
                            counts[d, code[a], code[b]] += 1.0
                            if symmetric:
                                counts[d, code[b], code[a]] += 1.0
            acc[:] = 0.0
            cnt[:] = 0.0
            merged[:k, :k] = 0.0
            for d in range(nd):
                merged[:k, :k] += counts[d, :k, :k]
                if _glcm_features(counts[d], k, lev, n_g, f, px, py, pd, ps):
                    for t in range(N_GLCM):
                        if np.isfinite(f[t]):
                            acc[t] += f[t]
                            cnt[t] += 1.0
            for t in range(N_GLCM):
                out_avg[p, t] = acc[t] / cnt[t] if cnt[t] > 0 else np.nan
            if _glcm_features(merged, k, lev, n_g, f, px, py, pd, ps):
                out_merged[p, :] = f
            else:
                out_merged[p, :] = np.nan
            for t in range(k):  # reset the level codes for the next voxel
                code[int(lev[t])] = -1
