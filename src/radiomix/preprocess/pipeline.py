"""Assembles IBSI chapter 2 processing for one case. MINIMAL first version: crop, range re-segmentation, discretisation.
(Resampling, outlier re-segmentation and the full IBSI diagnostics are being added in resample.py/resegment.py.)"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from radiomix.errors import EmptyMaskError
from radiomix.features.base import RoiData
from radiomix.image import Image, Mask, check_same_grid
from radiomix.preprocess.discretise import discretise
from radiomix.settings import Settings


@dataclass(frozen=True, eq=False)
class PreparedCase:
    """Image and masks after interpolation, rounding and re-segmentation, cropped to the ROI plus a margin."""

    image: Image
    mask_morph: Mask
    mask_int: Mask
    diagnostics: dict[str, float] = field(default_factory=dict)


def _crop_box(mask: np.ndarray, margin: int) -> tuple[slice, ...]:
    idx = np.argwhere(mask)
    lo = np.maximum(idx.min(0) - margin, 0)
    hi = np.minimum(idx.max(0) + 1 + margin, mask.shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))


def prepare(image: Image, mask: Mask, settings: Settings, diagnostics: str = "roi") -> PreparedCase:
    check_same_grid(image, mask)
    image.check_finite()
    if mask.n_voxels == 0:
        raise EmptyMaskError(f"{mask.source}: the mask is empty")
    arr = image.array.astype(np.float64)
    if settings.round_input_intensities:
        arr = np.round(arr)
    margin = 3
    box = _crop_box(mask.array, margin)
    geom = image.geometry.with_shape_spacing_origin(
        arr[box].shape, image.spacing, image.geometry.index_to_physical([s.start for s in box]))
    img = Image(arr[box], geom, image.source, image.meta)
    morph = Mask(mask.array[box], geom, mask.source, mask.label)
    m_int = morph.array.copy()
    rs = settings.resegmentation
    if rs is not None and rs.range is not None:
        lo, hi = rs.range
        if lo is not None:
            m_int &= img.array >= lo
        if hi is not None:
            m_int &= img.array <= hi
    if not m_int.any():
        raise EmptyMaskError(f"{mask.source}: no ROI voxels left after re-segmentation {rs}")
    return PreparedCase(img, morph, Mask(m_int, geom, mask.source, mask.label))


def roi_data(prepared: PreparedCase, settings: Settings, image_array: np.ndarray | None = None,
             image_type: str = "original") -> RoiData:
    """Discretise the (possibly filtered) image of a prepared case into a RoiData."""
    img = prepared.image.array if image_array is None else image_array
    m_int = prepared.mask_int.array
    levels, n_levels = discretise(img, m_int, settings.discretisation, settings.resegmentation)
    return RoiData(
        image=img, mask_morph=prepared.mask_morph.array, mask_int=m_int, spacing=prepared.image.spacing,
        levels=levels, n_levels=n_levels, settings=settings, image_type=image_type,
    )
