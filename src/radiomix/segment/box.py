"""Bounding-box ROIs: from two corners (physical mm or voxel indices) and around an existing mask.

Coordinates given by users are always in (x, y, z) order: physical points in mm in patient LPS (as DICOM, ITK and
viewers show them), voxel indices as (i, j, k) = (column, row, slice), as ITK and viewers number them. Arrays stay
(z, y, x) inside radiomix.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from radiomix.errors import EmptyMaskError, InputError
from radiomix.image import Geometry, Image, Mask


def _geometry(reference: Image | Mask | Geometry) -> tuple[Geometry, str]:
    if isinstance(reference, Geometry):
        return reference, "<grid>"
    return reference.geometry, reference.source


def parse_point(text: str, what: str = "point") -> tuple[float, float, float]:
    """Parse ``"x,y,z"`` into three floats (InputError naming ``what`` otherwise)."""
    parts = [p for p in str(text).replace(";", ",").split(",") if p.strip()]
    try:
        vals = tuple(float(p) for p in parts)
    except ValueError:
        raise InputError(f"{what} {text!r}: expected three numbers x,y,z") from None
    if len(vals) != 3 or not all(math.isfinite(v) for v in vals):
        raise InputError(f"{what} {text!r}: expected three finite numbers x,y,z")
    return vals  # type: ignore[return-value]


def to_index(geometry: Geometry, point_xyz, *, voxel: bool = False, source: str = "<grid>",
             what: str = "point") -> np.ndarray:
    """The continuous (z, y, x) index of a point given as physical (x, y, z) mm, or as a voxel index (i, j, k)
    when ``voxel`` is true. Raises InputError when the point lies outside the grid."""
    p = np.asarray(point_xyz, dtype=float)
    idx = p[::-1].copy() if voxel else geometry.physical_to_index(p)
    if np.any(idx < -0.5) or np.any(idx > np.asarray(geometry.shape) - 0.5):
        unit = "voxel index (x, y, z)" if voxel else "physical (x, y, z) mm"
        raise InputError(f"{source}: {what} {tuple(float(v) for v in p)} ({unit}) lies outside the image grid "
                         f"of {geometry.shape[::-1]} voxels (x, y, z)")
    return idx


def box_mask(reference: Image | Mask | Geometry, corner1, corner2, *, voxel: bool = False) -> Mask:
    """A box ROI on ``reference``'s grid between two opposite corners (both included).

    With ``voxel=False`` the corners are physical (x, y, z) mm and the box is axis-aligned in physical space: every
    voxel whose centre lies inside it is selected (on an oblique grid the selection follows the physical box). With
    ``voxel=True`` the corners are voxel indices (i, j, k) and every voxel between them is selected.
    """
    geom, source = _geometry(reference)
    shape = np.asarray(geom.shape)
    out = np.zeros(geom.shape, dtype=bool)
    if voxel:
        a = np.rint(to_index(geom, corner1, voxel=True, source=source, what="corner")).astype(int)
        b = np.rint(to_index(geom, corner2, voxel=True, source=source, what="corner")).astype(int)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        out[tuple(slice(int(lo_), int(hi_) + 1) for lo_, hi_ in zip(lo, hi))] = True
        return Mask(out, geom, f"box{tuple(corner1)}-{tuple(corner2)}")
    c1, c2 = np.asarray(corner1, float), np.asarray(corner2, float)
    pmin, pmax = np.minimum(c1, c2), np.maximum(c1, c2)
    # index range of the 8 physical corners, then test voxel centres in that index box only
    corners = np.array(list(itertools.product(*zip(pmin, pmax))))
    idx = geom.physical_to_index(corners)
    lo = np.clip(np.floor(idx.min(0)).astype(int), 0, shape - 1)
    hi = np.clip(np.ceil(idx.max(0)).astype(int), 0, shape - 1)
    if np.any(idx.max(0) < -0.5) or np.any(idx.min(0) > shape - 0.5):
        raise InputError(f"{source}: the box {tuple(pmin)}..{tuple(pmax)} mm (x, y, z) lies outside the image")
    zz, yy, xx = np.meshgrid(*(np.arange(l_, h_ + 1) for l_, h_ in zip(lo, hi)), indexing="ij")
    pts = geom.index_to_physical(np.stack([zz, yy, xx], axis=-1))
    tol = 1e-6 * max(1.0, float(np.abs(pts).max()))
    inside = np.all((pts >= pmin - tol) & (pts <= pmax + tol), axis=-1)
    out[tuple(slice(int(l_), int(h_) + 1) for l_, h_ in zip(lo, hi))] = inside
    if not out.any():
        raise EmptyMaskError(f"{source}: the box {tuple(pmin)}..{tuple(pmax)} mm (x, y, z) holds no voxel centre")
    return Mask(out, geom, f"box{tuple(c1)}-{tuple(c2)}")


def mask_box(mask: Mask, margin_mm: float = 0.0) -> Mask:
    """The bounding box of ``mask`` (in index space), grown by ``margin_mm`` on every side and cut at the image
    border. The margin is converted to whole voxels per axis with the axis' spacing (rounded up)."""
    if margin_mm < 0 or not math.isfinite(margin_mm):
        raise InputError(f"{mask.source}: margin_mm must be a finite number >= 0, got {margin_mm}")
    if not mask.array.any():
        raise EmptyMaskError(f"{mask.source}: the mask is empty, it has no bounding box")
    box = mask.bounding_box()
    grow = [math.ceil(margin_mm / s - 1e-9) for s in mask.spacing]
    sl = tuple(slice(max(b.start - g, 0), min(b.stop + g, n)) for b, g, n in zip(box, grow, mask.shape))
    out = np.zeros(mask.shape, dtype=bool)
    out[sl] = True
    return Mask(out, mask.geometry, f"box({mask.source}, margin {margin_mm} mm)", mask.label)
