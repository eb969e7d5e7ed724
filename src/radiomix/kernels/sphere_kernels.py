"""Hot loops of the local intensity family (IBSI 3.2): the mean of the image in a sphere around ROI voxels.

* :func:`sphere_means_at` (numba): mean of the voxels in a sphere around each of a list of voxels.
* :func:`sphere_means_in_mask` (numba): the same at every voxel of a mask, a row of the mask at a time.
* :func:`sphere_means_reference` (SciPy ``ndimage.correlate``): the same mean everywhere, as the test reference.

The kernels are single-threaded and release the GIL: the row loops vectorise, and a parallel region would cost more
than it saves on a busy 2-core machine.
"""

from __future__ import annotations

import functools

import numpy as np

from radiomix.kernels._jit import njit, prange

# --- local intensity ---------------------------------------------------------------------------------------------------


def sphere_offsets(spacing, radius_mm: float) -> np.ndarray:
    """Integer (z, y, x) offsets of the voxels whose centres lie within ``radius_mm`` of a voxel centre (K, 3)."""
    n = [int(np.floor(radius_mm / s + 1e-9)) for s in spacing]
    grids = np.meshgrid(*[np.arange(-k, k + 1) for k in n], indexing="ij")
    off = np.stack([g.ravel() for g in grids], axis=1)
    r = np.sqrt(np.sum((off * np.asarray(spacing, dtype=np.float64)) ** 2, axis=1))
    return np.ascontiguousarray(off[r <= radius_mm * (1 + 1e-9)], dtype=np.int64)


@njit(cache=True, nogil=True)
def _sphere_means_at(image, points, offsets):  # pragma: no cover - compiled
    nz, ny, nx = image.shape
    out = np.empty(points.shape[0])
    for p in range(points.shape[0]):
        z0 = points[p, 0]
        y0 = points[p, 1]
        x0 = points[p, 2]
        s = 0.0
        c = 0
        for k in range(offsets.shape[0]):
            z = z0 + offsets[k, 0]
            y = y0 + offsets[k, 1]
            x = x0 + offsets[k, 2]
            if 0 <= z < nz and 0 <= y < ny and 0 <= x < nx:
                s += image[z, y, x]
                c += 1
        out[p] = s / c
    return out


@functools.lru_cache(maxsize=16)
def sphere_geometry(spacing: tuple[float, float, float], radius_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """(:func:`sphere_offsets`, :func:`sphere_runs`) of the sphere, kept for the last few (spacing, radius): a pure
    function of both (~0.2 ms for the 1 cm^3 sphere at 1 x 1 x 2 mm) that every extraction on a grid asks for again.
    Shared arrays: never written to."""
    offsets = sphere_offsets(spacing, radius_mm)
    return offsets, sphere_runs(offsets)


def sphere_runs(offsets: np.ndarray) -> np.ndarray:
    """The sphere ``offsets`` (K, 3) as runs along x: rows (dz, dy, dx_lo, dx_hi), one per (dz, dy) (a sphere is
    convex, so its x offsets at fixed (dz, dy) are contiguous)."""
    off = np.asarray(offsets, dtype=np.int64).reshape(-1, 3)
    if len(off) == 0:
        return np.zeros((0, 4), dtype=np.int64)
    off = off[np.lexsort((off[:, 2], off[:, 1], off[:, 0]))]  # sorted by (dz, dy, dx)
    new_row = np.ones(len(off), dtype=bool)
    new_row[1:] = (off[1:, 0] != off[:-1, 0]) | (off[1:, 1] != off[:-1, 1])
    first = np.flatnonzero(new_row)
    last = np.append(first[1:], len(off)) - 1
    if np.any(off[last, 2] - off[first, 2] != last - first) or np.any(np.diff(off[:, 2])[~new_row[1:]] == 0):
        raise ValueError("offsets are not contiguous along x")
    return np.ascontiguousarray(np.column_stack((off[first, 0], off[first, 1], off[first, 2], off[last, 2])))


@njit(cache=True, nogil=True)
def _row_prefix_sums(image):  # pragma: no cover - compiled
    nz, ny, nx = image.shape
    cs = np.zeros((nz, ny, nx + 1))
    for z in range(nz):
        for y in range(ny):
            acc = 0.0
            for x in range(nx):
                acc += image[z, y, x]
                cs[z, y, x + 1] = acc
    return cs


@njit(cache=True, nogil=True, inline="always")
def _runs_extent(runs):  # pragma: no cover - compiled
    """Voxel count of the sphere given as x-runs ``runs`` (dz, dy, dx_start, dx_end) and its extent:
    (count, dz_lo, dz_hi, dy_lo, dy_hi, dx_lo, dx_hi), the offset ranges always containing 0."""
    k_all = 0
    dz_lo = 0
    dz_hi = 0
    dy_lo = 0
    dy_hi = 0
    dx_lo = 0
    dx_hi = 0
    for r in range(runs.shape[0]):
        k_all += runs[r, 3] - runs[r, 2] + 1
        dz_lo = min(dz_lo, runs[r, 0])
        dz_hi = max(dz_hi, runs[r, 0])
        dy_lo = min(dy_lo, runs[r, 1])
        dy_hi = max(dy_hi, runs[r, 1])
        dx_lo = min(dx_lo, runs[r, 2])
        dx_hi = max(dx_hi, runs[r, 3])
    return k_all, dz_lo, dz_hi, dy_lo, dy_hi, dx_lo, dx_hi


@njit(cache=True, nogil=True, inline="always")
def _interior_row_sums(cs, z0, y0, xa, w, runs):  # pragma: no cover - compiled
    """Sphere sums at the ``w`` voxels (z0, y0, xa..xa+w-1), whose spheres all lie inside the image, run by run over
    the row prefix sums ``cs``; 1D views indexed from 0 (no negative-index wrap-around), so the loop vectorises."""
    acc = np.zeros(w)
    for r in range(runs.shape[0]):
        z = z0 + runs[r, 0]
        y = y0 + runs[r, 1]
        lo = xa + runs[r, 2]
        hi = xa + runs[r, 3] + 1
        right = cs[z, y, hi:hi + w]
        left = cs[z, y, lo:lo + w]
        for i in range(w):
            acc[i] += right[i] - left[i]
    return acc


@njit(cache=True, nogil=True, inline="always")
def _clipped_mean(cs, z0, y0, x0, runs):  # pragma: no cover - compiled
    """Mean over the part of the sphere at (z0, y0, x0) inside the image (runs clipped at the borders)."""
    nz, ny, nx1 = cs.shape
    nx = nx1 - 1
    s = 0.0
    c = 0
    for r in range(runs.shape[0]):
        z = z0 + runs[r, 0]
        y = y0 + runs[r, 1]
        if z < 0 or z >= nz or y < 0 or y >= ny:
            continue
        lo = max(x0 + runs[r, 2], 0)
        hi = min(x0 + runs[r, 3], nx - 1)
        if lo <= hi:
            s += cs[z, y, hi + 1] - cs[z, y, lo]
            c += hi - lo + 1
    return s / c


@njit(cache=True, nogil=True, parallel=True)
def _sphere_means_runs(cs, points, runs):  # pragma: no cover - compiled
    """Sphere means at ``points`` (n, 3), one point per parallel iteration (see :func:`_clipped_mean`)."""
    out = np.empty(points.shape[0])
    for p in prange(points.shape[0]):
        out[p] = _clipped_mean(cs, points[p, 0], points[p, 1], points[p, 2], runs)
    return out


@njit(cache=True, nogil=True)
def _sphere_means_rows(cs, points, runs, starts):  # pragma: no cover - compiled
    """:func:`_sphere_means_runs` for groups of points sharing (z, y) (``points[starts[g]:starts[g + 1]]``). A group
    whose spheres all lie inside the image is done run by run over the x span of the group (a contiguous, vectorisable
    loop); each point's sum adds the same terms in the same order as :func:`_sphere_means_runs`, so the results are
    identical. Other groups go voxel by voxel with the bounds checks."""
    nz, ny, nx1 = cs.shape
    nx = nx1 - 1
    k_all, dz_lo, dz_hi, dy_lo, dy_hi, dx_lo, dx_hi = _runs_extent(runs)
    out = np.empty(points.shape[0])
    for g in range(starts.size - 1):
        a = starts[g]
        b = starts[g + 1]
        z0 = points[a, 0]
        y0 = points[a, 1]
        xa = points[a, 2]
        xb = points[a, 2]
        for p in range(a, b):
            xa = min(xa, points[p, 2])
            xb = max(xb, points[p, 2])
        if (z0 + dz_lo >= 0 and z0 + dz_hi < nz and y0 + dy_lo >= 0 and y0 + dy_hi < ny and xa + dx_lo >= 0
                and xb + dx_hi < nx):
            w = xb - xa + 1
            acc = _interior_row_sums(cs, z0, y0, xa, w, runs)
            for p in range(a, b):
                out[p] = acc[points[p, 2] - xa] / k_all
            continue
        for p in range(a, b):
            out[p] = _clipped_mean(cs, z0, y0, points[p, 2], runs)
    return out


@njit(cache=True, nogil=True)
def _sphere_means_mask_rows(cs, mask, row_z, row_y, row_start, runs, n_out):  # pragma: no cover - compiled
    """The means of :func:`_sphere_means_rows` at every voxel of ``mask``, in raster (``np.argwhere``) order, rows
    (z, y) holding mask voxels given by ``row_z``, ``row_y`` and their first output index ``row_start``."""
    nz, ny, nx1 = cs.shape
    nx = nx1 - 1
    k_all, dz_lo, dz_hi, dy_lo, dy_hi, dx_lo, dx_hi = _runs_extent(runs)
    out = np.empty(n_out)
    for g in range(row_z.size):
        z0 = row_z[g]
        y0 = row_y[g]
        row = mask[z0, y0]
        xa = 0
        while not row[xa]:
            xa += 1
        xb = nx - 1
        while not row[xb]:
            xb -= 1
        p = row_start[g]
        if z0 + dz_lo >= 0 and z0 + dz_hi < nz and y0 + dy_lo >= 0 and y0 + dy_hi < ny and xa + dx_lo >= 0 \
                and xb + dx_hi < nx:
            w = xb - xa + 1
            acc = _interior_row_sums(cs, z0, y0, xa, w, runs)
            for i in range(w):
                if row[xa + i]:
                    out[p] = acc[i] / k_all
                    p += 1
            continue
        for x0 in range(xa, xb + 1):
            if not row[x0]:
                continue
            out[p] = _clipped_mean(cs, z0, y0, x0, runs)
            p += 1
    return out


def sphere_means_in_mask(image: np.ndarray, mask: np.ndarray, offsets: np.ndarray,
                         runs: np.ndarray | None = None) -> np.ndarray:
    """:func:`sphere_means_at` at every voxel of the boolean ``mask`` (same shape as ``image``), in ``np.argwhere``
    order, without listing the voxels: row by row over the mask (same numbers as the run-based path). ``runs``:
    :func:`sphere_runs` of the offsets, when the caller has them."""
    image = np.ascontiguousarray(image, dtype=np.float64)
    mask = np.ascontiguousarray(mask, dtype=bool)
    per_row = np.count_nonzero(mask, axis=2)
    row_z, row_y = np.nonzero(per_row)
    counts = per_row[row_z, row_y]
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return _sphere_means_mask_rows(_row_prefix_sums(image), mask, row_z.astype(np.int64), row_y.astype(np.int64),
                                   starts,
                                   sphere_runs(np.ascontiguousarray(offsets, dtype=np.int64)) if runs is None else runs,
                                   int(counts.sum()))


def _row_groups(points: np.ndarray) -> np.ndarray:
    """Start indices (and the end) of the runs of consecutive points with the same (z, y)."""
    if len(points) == 0:
        return np.zeros(1, dtype=np.int64)
    zy = points[:, 0] * (int(points[:, 1].max()) + 1) + points[:, 1]
    return np.concatenate(([0], np.flatnonzero(np.diff(zy)) + 1, [len(points)])).astype(np.int64)


def sphere_means_at(image: np.ndarray, points: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Mean of the image voxels at ``points + offsets`` that lie inside the image, for each of ``points`` (M, 3).

    Many points: the sphere is summed as runs along x over row prefix sums (one subtraction per run instead of one
    addition per voxel; exact for integer intensities, ~1e-16 relative otherwise); points in rows (same z, y,
    consecutive) are done a row at a time (:func:`_sphere_means_rows`, same numbers). Few points: voxel by voxel."""
    image = np.ascontiguousarray(image, dtype=np.float64)
    points = np.ascontiguousarray(points, dtype=np.int64)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    if len(points) * len(offsets) > 4 * image.size:
        starts = _row_groups(points)
        if len(points) >= 4 * (len(starts) - 1):  # points come in rows (e.g. np.argwhere order): row-wise kernel
            return _sphere_means_rows(_row_prefix_sums(image), points, sphere_runs(offsets), starts)
        return _sphere_means_runs(_row_prefix_sums(image), points, sphere_runs(offsets))
    return _sphere_means_at(image, points, offsets)


def sphere_means_reference(image: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Reference for :func:`sphere_means_at`: the local mean at every voxel, by ``ndimage.correlate``."""
    from scipy import ndimage

    half = np.abs(offsets).max(0)
    fp = np.zeros(tuple(2 * h + 1 for h in half))
    fp[tuple((offsets + half).T)] = 1.0
    img = image.astype(np.float64)
    s = ndimage.correlate(img, fp, mode="constant", cval=0.0)
    c = ndimage.correlate(np.ones_like(img), fp, mode="constant", cval=0.0)
    return s / c
