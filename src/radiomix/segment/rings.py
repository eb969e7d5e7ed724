"""Peritumoral rings and margins with physical distances on anisotropic grids.

Distances are Euclidean distances in mm between voxel centres (``scipy.ndimage.distance_transform_edt`` with
``sampling=spacing``):

* the **outer shell** of thickness ``outer_mm`` holds every voxel outside the mask whose centre lies within
  ``outer_mm`` of the centre of a mask voxel (so one voxel of spacing ``s`` is ``s`` mm thick);
* the **inner shell** of thickness ``inner_mm`` holds every mask voxel whose centre lies within ``inner_mm`` of the
  centre of a voxel outside the mask (the image border counts as outside).

A ring is the union of both shells; ``within`` (a body or organ mask on the same grid) cuts it. The shell is exact
up to the voxel grid: its thickness, measured from the true boundary, is within one voxel diagonal of the request.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi

from radiomix.errors import EmptyMaskError, GeometryError, InputError
from radiomix.image import Mask


def _check_grid(mask: Mask, other: Mask, what: str) -> None:
    diffs = mask.geometry.differences(other.geometry)
    if diffs:
        raise GeometryError(f"{what} {other.source} does not lie on the grid of mask {mask.source}: "
                            + "; ".join(diffs))


def _mm(v: float) -> str:
    """5.0 -> '5mm', 2.5 -> '2p5mm' (no dots in names)."""
    return (f"{v:g}".replace(".", "p").replace("-", "m")) + "mm"


def ring_name(outer_mm: float, inner_mm: float = 0.0) -> str:
    """Region name used in tables: ``peritumoral_5mm``, or ``peritumoral_in2mm_out5mm`` with an inner shell."""
    if inner_mm > 0:
        return f"peritumoral_in{_mm(inner_mm)}_out{_mm(outer_mm)}"
    return f"peritumoral_{_mm(outer_mm)}"


def outside_distance_mm(mask: Mask, reach_mm: float) -> tuple[np.ndarray, tuple[slice, slice, slice]]:
    """Distance (mm) of every voxel of the mask's bounding box grown by ``reach_mm`` to the nearest mask voxel centre
    (0 inside the mask), and that box. Voxels outside the box are farther than ``reach_mm``."""
    box = mask.bounding_box()
    pad = [math.ceil(reach_mm / s) + 1 for s in mask.spacing]
    crop = tuple(slice(max(b.start - p, 0), min(b.stop + p, n)) for b, p, n in zip(box, pad, mask.shape))
    return ndi.distance_transform_edt(~mask.array[crop], sampling=mask.spacing), crop  # type: ignore[return-value]


def inside_distance_mm(mask: Mask) -> tuple[np.ndarray, tuple[slice, slice, slice]]:
    """Distance (mm) of every mask voxel to the nearest voxel centre outside the mask (the image border counts as
    outside), on the mask's bounding box, and that box."""
    box = mask.bounding_box()
    a = np.pad(mask.array[box], 1, constant_values=False)
    d = ndi.distance_transform_edt(a, sampling=mask.spacing)[1:-1, 1:-1, 1:-1]
    return d, box


def ring_mask(mask: Mask, outer_mm: float, inner_mm: float = 0.0, *, within: Mask | None = None) -> Mask:
    """A peritumoral ring: the outer shell of ``outer_mm`` around ``mask`` plus, with ``inner_mm`` > 0, the inner
    shell of ``inner_mm`` inside it; cut by ``within`` (same grid) when given. ``outer_mm=0`` with ``inner_mm`` > 0
    gives the inner margin alone."""
    for name, v in (("outer_mm", outer_mm), ("inner_mm", inner_mm)):
        if not (math.isfinite(v) and v >= 0):
            raise InputError(f"{name} must be a finite number >= 0 mm, got {v}")
    if outer_mm == 0 and inner_mm == 0:
        raise InputError("a ring needs outer_mm > 0 or inner_mm > 0")
    if not mask.array.any():
        raise EmptyMaskError(f"{mask.source}: the mask is empty; a ring around it is undefined")
    out = np.zeros(mask.shape, dtype=bool)
    if outer_mm > 0:
        d, crop = outside_distance_mm(mask, outer_mm)
        out[crop] |= (d > 0) & (d <= outer_mm + 1e-9)
    if inner_mm > 0:
        d, box = inside_distance_mm(mask)
        out[box] |= mask.array[box] & (d <= inner_mm + 1e-9)
    if within is not None:
        _check_grid(mask, within, "within-mask")
        out &= within.array
    if not out.any():
        raise EmptyMaskError(f"{mask.source}: the ring (outer {outer_mm} mm, inner {inner_mm} mm) is empty"
                             + (f" inside {within.source}" if within is not None else ""))
    return Mask(out, mask.geometry, f"{ring_name(outer_mm, inner_mm)}({mask.source})", mask.label)


def dilate_mm(mask: Mask, distance_mm: float) -> Mask:
    """The mask grown by ``distance_mm`` (every voxel whose centre is within that distance of a mask voxel)."""
    if distance_mm <= 0:
        return mask
    d, crop = outside_distance_mm(mask, distance_mm)
    out = mask.array.copy()
    out[crop] |= d <= distance_mm + 1e-9
    return Mask(out, mask.geometry, f"dilate({mask.source}, {distance_mm} mm)", mask.label)
