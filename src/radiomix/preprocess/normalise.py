"""Intensity normalisation (z-score), for images in arbitrary units such as MRI.

``zscore(x) = scale * (x - mu) / sigma``, where ``mu`` and ``sigma`` (population SD) are taken over the voxels of a
reference region: the ROI (``mask``) or the whole image (``mask=None``). ``clip_sd`` optionally limits the result to
``[-clip_sd * scale, clip_sd * scale]`` (outlier removal after normalisation, as PyRadiomics' ``removeOutliers``).
This is PyRadiomics' ``normalize``/``normalizeScale`` option; it is not part of the IBSI chapter 2 pipeline.
"""

from __future__ import annotations

import numpy as np

from radiomix.errors import InputError
from radiomix.image import Image, Mask, check_same_grid


def zscore(array: np.ndarray, mask: np.ndarray | None = None, *, scale: float = 1.0,
           clip_sd: float | None = None, source: str = "<array>") -> np.ndarray:
    """Z-score normalised copy of ``array`` (float64), statistics over ``mask`` (or every voxel)."""
    a = np.asarray(array, dtype=np.float64)
    if not scale > 0:
        raise InputError(f"normalisation scale must be positive, got {scale}")
    if clip_sd is not None and not clip_sd > 0:
        raise InputError(f"normalisation clip_sd must be positive, got {clip_sd}")
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != a.shape:
            raise InputError(f"{source}: normalisation mask shape {m.shape} differs from image shape {a.shape}")
        ref = a[m]
        if ref.size == 0:
            raise InputError(f"{source}: the normalisation mask is empty")
    else:
        ref = a.ravel()
    mu, sd = float(ref.mean()), float(ref.std())
    if not np.isfinite(sd) or sd == 0.0:
        where = "ROI" if mask is not None else "image"
        raise InputError(f"{source}: cannot z-score normalise: the {where} intensities are constant ({mu:g})")
    out = (a - mu) / sd * scale
    if clip_sd is not None:
        np.clip(out, -clip_sd * scale, clip_sd * scale, out=out)
    return out


def normalise_image(image: Image, mask: Mask | None = None, *, scale: float = 1.0,
                    clip_sd: float | None = None) -> Image:
    """:func:`zscore` of an :class:`Image`, over the ROI ``mask`` (on the same grid) or the whole image."""
    if mask is not None:
        check_same_grid(image, mask)
    out = zscore(image.array, None if mask is None else mask.array, scale=scale, clip_sd=clip_sd,
                 source=image.source)
    return image.with_array(out)
