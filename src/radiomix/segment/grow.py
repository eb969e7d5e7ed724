"""Click-and-grow: seeded region growing on an image, with an intensity window or a confidence-connected criterion.

The confidence-connected criterion follows the published description of ITK's ConfidenceConnectedImageFilter: the
mean and standard deviation of the voxels in a small cube around every seed give the window
``mean +/- multiplier * SD``; the region connected to the seeds inside that window is grown; then, for
``iterations`` rounds, mean and SD are taken over the grown region and the region is grown again from the seeds.
This module implements that loop itself (NumPy/SciPy) so that it can honour the connectivity and the maximum radius;
with 6-connectivity and no post-processing it gives SimpleITK's ``ConfidenceConnected`` result (tested).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import ndimage as ndi

from radiomix.errors import EmptyMaskError, InputError
from radiomix.image import Image, Mask
from radiomix.segment.box import to_index

_RANK = {6: 1, 18: 2, 26: 3}


def connectivity_structure(connectivity: int) -> np.ndarray:
    """3D neighbourhood structure for 6-, 18- or 26-connectivity."""
    if connectivity not in _RANK:
        raise InputError(f"connectivity must be 6, 18 or 26, got {connectivity}")
    return ndi.generate_binary_structure(3, _RANK[connectivity])


def ball_structure(radius_mm: float, spacing) -> np.ndarray:
    """Boolean ball of physical radius ``radius_mm`` on a grid with ``spacing`` (z, y, x) mm (centre always set)."""
    half = [math.floor(radius_mm / s + 1e-9) for s in spacing]
    grids = np.meshgrid(*(np.arange(-h, h + 1) * s for h, s in zip(half, spacing)), indexing="ij")
    return sum(g * g for g in grids) <= radius_mm * radius_mm + 1e-9


def _seeded_components(candidate: np.ndarray, seeds: np.ndarray, structure: np.ndarray) -> np.ndarray:
    labels, _ = ndi.label(candidate, structure=structure)
    keep = np.unique(labels[tuple(seeds.T)])
    keep = keep[keep != 0]
    return np.isin(labels, keep) if keep.size else np.zeros_like(candidate)


def _stats(values: np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1), as ITK's filter uses."""
    return float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0


def remove_small_components(mask: np.ndarray, spacing, min_volume_mm3: float, connectivity: int = 26) -> np.ndarray:
    """Drop connected components smaller than ``min_volume_mm3``."""
    if min_volume_mm3 <= 0:
        return mask
    labels, n = ndi.label(mask, structure=connectivity_structure(connectivity))
    if n == 0:
        return mask
    sizes = np.bincount(labels.ravel())[1:] * float(np.prod(spacing))
    keep = np.flatnonzero(sizes >= min_volume_mm3) + 1
    return np.isin(labels, keep)


def region_grow(image: Image, seeds: Sequence[Sequence[float]], *, voxel: bool = False,
                lower: float | None = None, upper: float | None = None, confidence: float | None = None,
                iterations: int = 4, seed_radius: int = 1, connectivity: int = 26,
                max_radius_mm: float | None = None, opening_mm: float = 0.0, fill_holes: bool = True,
                min_component_mm3: float = 0.0) -> Mask:
    """Grow a region from one or more seeds and return it as a Mask on ``image``'s grid.

    Seeds are physical (x, y, z) mm points, or voxel indices (i, j, k) with ``voxel=True``. The criterion is either
    an intensity window ``[lower, upper]`` (one bound may be None: open) or ``confidence=k`` (confidence-connected:
    mean +/- k SD, re-estimated ``iterations`` times from the grown region; ``seed_radius`` voxels around each seed
    give the first estimate). ``connectivity`` is 6, 18 or 26. ``max_radius_mm`` keeps the region within that
    physical distance of a seed. Post-processing, in this order: a morphological opening with a ball of radius
    ``opening_mm`` (cuts thin bridges into neighbouring structures; the seeded components are kept again), 3D hole
    filling, and removal of connected components smaller than ``min_component_mm3``.
    """
    if (confidence is None) == (lower is None and upper is None):
        raise InputError("region growing needs either an intensity window (lower and/or upper) or confidence=k")
    if confidence is not None and not confidence > 0:
        raise InputError(f"confidence multiplier must be > 0, got {confidence}")
    if lower is not None and upper is not None and lower > upper:
        raise InputError(f"intensity window lower {lower} is above upper {upper}")
    if iterations < 0 or seed_radius < 0:
        raise InputError("iterations and seed_radius must be >= 0")
    structure = connectivity_structure(connectivity)
    geom = image.geometry
    seeds = list(seeds)
    if not seeds:
        raise InputError("region growing needs at least one seed")
    idx = np.array([np.rint(to_index(geom, s, voxel=voxel, source=image.source, what="seed")) for s in seeds], int)
    idx = np.clip(idx, 0, np.asarray(geom.shape) - 1)

    # work inside the box that the maximum radius allows (the whole image without one)
    if max_radius_mm is not None:
        if not max_radius_mm > 0:
            raise InputError(f"max_radius_mm must be > 0, got {max_radius_mm}")
        half = np.array([math.ceil(max_radius_mm / s) for s in geom.spacing])
        lo = np.maximum(idx.min(0) - half, 0)
        hi = np.minimum(idx.max(0) + half + 1, geom.shape)
    else:
        lo, hi = np.zeros(3, int), np.asarray(geom.shape)
    crop = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
    arr = np.asarray(image.array[crop], dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        arr = np.where(np.isfinite(arr), arr, np.nan)
    local = idx - lo
    allowed = np.ones(arr.shape, dtype=bool)
    if max_radius_mm is not None:
        allowed[:] = False
        grids = np.ogrid[tuple(slice(0, n) for n in arr.shape)]
        for s in local:
            d2 = sum(((g - c) * sp) ** 2 for g, c, sp in zip(grids, s, geom.spacing))
            allowed |= d2 <= max_radius_mm ** 2

    if confidence is None:
        lo_v = -np.inf if lower is None else float(lower)
        hi_v = np.inf if upper is None else float(upper)
        seed_vals = arr[tuple(local.T)]
        if not np.any((seed_vals >= lo_v) & (seed_vals <= hi_v)):
            raise InputError(f"{image.source}: no seed lies inside the intensity window [{lower}, {upper}] "
                             f"(seed intensities {np.round(seed_vals, 3).tolist()})")
        region = _seeded_components(allowed & (arr >= lo_v) & (arr <= hi_v), local, structure)
    else:
        nb = np.zeros(arr.shape, dtype=bool)
        for s in local:
            nb[tuple(slice(max(c - seed_radius, 0), c + seed_radius + 1) for c in s)] = True
        vals = arr[nb & allowed]
        mean, sd = _stats(vals[np.isfinite(vals)])
        region = np.zeros(arr.shape, dtype=bool)
        for _ in range(iterations + 1):
            cand = allowed & (arr >= mean - confidence * sd) & (arr <= mean + confidence * sd)
            cand[tuple(local.T)] = True  # the seeds belong to the region, as in ITK
            new = _seeded_components(cand, local, structure)
            if np.array_equal(new, region):
                break
            region = new
            mean, sd = _stats(arr[region])

    if opening_mm > 0:
        opened = ndi.binary_opening(region, structure=ball_structure(opening_mm, geom.spacing))
        if opened[tuple(local.T)].any():
            region = _seeded_components(opened, local, structure)
        else:  # every seed sat in a part the opening removed: keep the largest remaining component
            labels, n = ndi.label(opened, structure=structure)
            region = labels == (np.argmax(np.bincount(labels.ravel())[1:]) + 1) if n else opened
    if fill_holes:
        region = ndi.binary_fill_holes(region)
    region = remove_small_components(region, geom.spacing, min_component_mm3, connectivity)
    if not region.any():
        raise EmptyMaskError(f"{image.source}: region growing from seeds {seeds} left no voxel "
                             f"(check the window, the opening and the minimum component size)")
    out = np.zeros(geom.shape, dtype=bool)
    out[crop] = region
    return Mask(out, geom, f"grow({image.source})")
