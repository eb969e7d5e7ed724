"""Resampling to a new voxel grid (IBSI 2.4 "interpolation"), evaluated only where it is needed.

Grid definition (spacings ``s_a`` old, ``s_b`` new, ``n_a`` old voxel count, per axis; indices are continuous voxel
indices of the old grid, voxel centres at integers):

* ``centre`` (IBSI "align grid centres", the IBSI default): ``n_b = ceil(n_a s_a / s_b)``; the new grid is centred on
  the old one, so new voxel 0 sits at old index ``((n_a - 1) - (n_b - 1) s_b / s_a) / 2``. For the IBSI CT phantom
  (204 x 201 x 60 voxels of 0.977 x 0.977 x 3 mm) at 2 mm this gives 100 x 99 x 90 voxels.
* ``corner`` (what PyRadiomics does): same ``n_b``, but the outer corner of new voxel 0 coincides with the outer
  corner of old voxel 0, so new voxel 0 sits at old index ``-0.5 + s_b / (2 s_a)``.

An axis whose requested spacing is ``None`` or equal to the old spacing (relative difference < 1e-5, which absorbs
float32 header round-off) is an *identity axis*: it is neither filtered nor interpolated, its voxels pass through
unchanged. ``ceil`` ignores an excess of up to 1e-3 voxel (float round-off of ``n_a s_a / s_b``).

Interpolation is separable, one axis at a time, on the image extended beyond its border by repeating its edge voxels
(IBSI: extrapolate with the nearest voxel):

* ``nearest``: the voxel at ``floor(c + 0.5)``;
* ``linear``: (tri)linear;
* ``cubic``: cubic B-spline. The B-spline coefficients are computed with scipy's exact prefilter
  (``spline_filter1d``) on a window that reaches :data:`PREFILTER_MARGIN` voxels beyond the points evaluated; the
  prefilter's influence decays as 0.268^d, so at 32 voxels the window's own border changes values by < 1e-18 of the
  intensity range: a cropped evaluation equals the full one to floating-point round-off.

For nearest and linear a cropped evaluation is bit-identical to cropping the full resampled image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from radiomix.errors import InputError
from radiomix.image import Geometry

ORDERS = {"nearest": 0, "linear": 1, "cubic": 3}
#: voxels of extra window for the cubic B-spline prefilter (see module docstring).
PREFILTER_MARGIN = 32
#: relative spacing difference below which an axis is left as it is.
SPACING_RTOL = 1e-5
#: excess over an integer number of voxels that ``ceil`` ignores.
CEIL_TOL = 1e-3


@dataclass(frozen=True, eq=False)
class TargetGrid:
    """The full resampled grid and how it maps onto the source grid: target index ``j`` along axis ``k`` sits at
    continuous source index ``start[k] + j * step[k]`` (axes z, y, x)."""

    source: Geometry
    geometry: Geometry
    start: tuple[float, float, float]
    step: tuple[float, float, float]
    identity: tuple[bool, bool, bool]

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.geometry.shape

    @property
    def is_identity(self) -> bool:
        return all(self.identity)

    def coords(self, axis: int, sl: slice) -> np.ndarray:
        """Continuous source indices of target indices ``sl`` along ``axis``."""
        j = np.arange(sl.start, sl.stop, dtype=np.float64)
        if self.identity[axis]:
            return j
        return self.start[axis] + j * self.step[axis]

    def target_range(self, axis: int, src_lo: float, src_hi: float) -> slice:
        """Target indices whose source position lies in ``[src_lo, src_hi]``, clipped to the grid."""
        n = self.shape[axis]
        if self.identity[axis]:
            lo, hi = math.ceil(src_lo), math.floor(src_hi) + 1
        else:
            lo = math.ceil((src_lo - self.start[axis]) / self.step[axis])
            hi = math.floor((src_hi - self.start[axis]) / self.step[axis]) + 1
        return slice(int(min(max(lo, 0), n)), int(min(max(hi, 0), n)))


def target_grid(geometry: Geometry, spacing_mm_xyz, alignment: str = "centre", keep_z: bool = False) -> TargetGrid:
    """The resampled grid for new spacing ``spacing_mm_xyz`` (x, y, z mm; ``None`` keeps an axis).

    ``keep_z`` keeps the slice spacing whatever is requested (slice-wise 2D processing)."""
    if alignment not in ("centre", "corner"):
        raise InputError(f"unknown grid alignment {alignment!r} (use 'centre' or 'corner')")
    s_a = np.asarray(geometry.spacing, dtype=float)
    req = list(spacing_mm_xyz)[::-1]  # z, y, x
    if keep_z:
        req[0] = None
    shape, spacing, start, step, ident = [], [], [], [], []
    for k in range(3):
        n_a, sa, sb = geometry.shape[k], float(s_a[k]), req[k]
        if sb is None or abs(float(sb) - sa) <= SPACING_RTOL * sa:
            shape.append(n_a), spacing.append(sa), start.append(0.0), step.append(1.0), ident.append(True)
            continue
        sb = float(sb)
        st = sb / sa
        n_b = max(1, math.ceil(n_a * sa / sb - CEIL_TOL))
        s0 = ((n_a - 1) - st * (n_b - 1)) / 2.0 if alignment == "centre" else -0.5 + st / 2.0
        shape.append(n_b), spacing.append(sb), start.append(s0), step.append(st), ident.append(False)
    origin = geometry.index_to_physical(np.asarray(start))
    new = Geometry(tuple(shape), tuple(spacing), tuple(float(o) for o in origin), geometry.direction)
    return TargetGrid(geometry, new, tuple(start), tuple(step), tuple(ident))  # type: ignore[arg-type]


def _window(array: np.ndarray, lo, hi) -> np.ndarray:
    """``array[lo:hi]`` per axis, where indices outside the array repeat the edge voxel (nearest extrapolation)."""
    idx = [np.clip(np.arange(a, b), 0, n - 1) for a, b, n in zip(lo, hi, array.shape)]
    inside = all(a >= 0 and b <= n for a, b, n in zip(lo, hi, array.shape))
    if inside:
        return array[tuple(slice(a, b) for a, b in zip(lo, hi))]
    return array[np.ix_(*idx)]


def _cubic_bspline_weights(t: np.ndarray) -> tuple[np.ndarray, ...]:
    """Weights of the cubic B-spline at offsets -1, 0, +1, +2 from ``floor(c)``, ``t = c - floor(c)``."""
    t2, t3 = t * t, t * t * t
    return ((1 - t) ** 3 / 6.0, (4 - 6 * t2 + 3 * t3) / 6.0, (1 + 3 * t + 3 * t2 - 3 * t3) / 6.0, t3 / 6.0)


def _interp_axis(a: np.ndarray, axis: int, c: np.ndarray, offset: int, order: int) -> np.ndarray:
    """Interpolate ``a`` along ``axis`` at continuous source indices ``c``; ``a`` starts at source index ``offset``.

    Weights come from ``c - floor(c)`` of the absolute index (exact in floating point) and only integer indices are
    shifted by ``offset``, so a window gives bit-identical values to the full image."""
    shape = [1] * a.ndim
    shape[axis] = c.size
    if order == 0:
        return np.take(a, np.floor(c + 0.5).astype(np.intp) - offset, axis=axis)
    fl = np.floor(c)
    t = (c - fl).reshape(shape)
    i0 = fl.astype(np.intp) - offset
    if order == 1:
        return np.take(a, i0, axis=axis) * (1.0 - t) + np.take(a, i0 + 1, axis=axis) * t
    w = _cubic_bspline_weights(t)
    out = np.take(a, i0 - 1, axis=axis) * w[0]
    for d in (0, 1, 2):
        out += np.take(a, i0 + d, axis=axis) * w[d + 1]
    return out


def resample_box(array: np.ndarray, grid: TargetGrid, box, order: int, *, round_input: bool = False,
                 round_output: bool = False) -> np.ndarray:
    """Values of the resampled ``array`` on the target voxels ``box`` (three slices, z, y, x), as float64.

    ``round_input`` rounds the source voxels to integers before interpolation, ``round_output`` the interpolated
    values after it (IBSI: round intensities of the interpolated image). Reads only a window of the source around
    the box, so memory is proportional to the box."""
    if order not in (0, 1, 3):
        raise InputError(f"interpolation order must be 0, 1 or 3, got {order}")
    box = tuple(slice(*s.indices(n)[:2]) for s, n in zip(box, grid.shape))
    if any(s.stop <= s.start for s in box):
        return np.zeros(tuple(max(s.stop - s.start, 0) for s in box), dtype=np.float64)
    margin = {0: 0, 1: 1, 3: 2 + PREFILTER_MARGIN}[order]
    coords, lo, hi = [], [], []
    for k in range(3):
        c = grid.coords(k, box[k])
        if grid.identity[k]:
            a, b = box[k].start, box[k].stop
        else:
            a = int(np.floor(c.min())) - margin
            b = int(np.floor(c.max())) + margin + 2
        coords.append(c)
        lo.append(a), hi.append(b)
    out = np.array(_window(array, lo, hi), dtype=np.float64)  # always a copy: callers may modify it
    if round_input:
        np.round(out, out=out)
    # Prefilter and interpolation along different axes commute (tensor-product spline), so each axis is filtered
    # and interpolated in turn: the window shrinks to the box along an axis before the next axis is filtered.
    for k in range(3):
        if not grid.identity[k]:
            if order == 3:
                from scipy.ndimage import spline_filter1d  # here: SciPy's ndimage costs ~50 ms to import

                out = spline_filter1d(out, order=3, axis=k, mode="mirror", output=np.float64)
            out = _interp_axis(out, k, coords[k], lo[k], order)
    if round_output and not grid.is_identity:
        np.round(out, out=out)
    return out


def resample_mask_box(mask: np.ndarray, grid: TargetGrid, box, order: int, threshold: float) -> np.ndarray:
    """Resampled boolean mask on ``box``: the interpolated 0/1 mask ``>= threshold`` (values that equal the
    threshold up to 1e-9 round-off count as inside)."""
    if grid.is_identity:
        return np.asarray(mask[tuple(box)], dtype=bool).copy()
    return resample_box(mask, grid, box, order) >= threshold - 1e-9
