"""PyRadiomics-faithful preprocessing: normalisation, corner-aligned resampling cropped to the ROI, mask correction,
pre-cropping, ROI checks and re-segmentation, as PyRadiomics documents and applies them.

Everything here works on SimpleITK images so that the grid, the interpolators and the output pixel types are those
PyRadiomics uses (an integer image resampled with B-splines stays an integer image, as in PyRadiomics).
Order (PyRadiomics' extractor): normalise the whole image -> correct the mask (``correctMask``) -> resample to
``resampledPixelSpacing`` on a grid cropped to the ROI bounding box + ``padDistance`` (or, without resampling,
``preCrop``) -> check the ROI (``minimumROIDimensions``, ``minimumROISize``) -> re-segment (``resegmentRange``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

from radiomix.compat.pyradiomics.params import PyRadiomicsParams
from radiomix.errors import EmptyMaskError, GeometryError, SettingsError
from radiomix.image import Image, Mask
from radiomix.io.itk import geometry_to_sitk


def to_sitk(image: Image) -> sitk.Image:
    """The image as a SimpleITK image with its own pixel type and geometry."""
    return geometry_to_sitk(np.ascontiguousarray(image.array), image.geometry)


def mask_to_sitk(mask: Mask) -> sitk.Image:
    return geometry_to_sitk(np.ascontiguousarray(mask.array.astype(np.uint8)), mask.geometry)


def normalize(image: sitk.Image, scale: float = 1.0, outliers: float | None = None) -> sitk.Image:
    """PyRadiomics ``normalize``: z-score over **all** image voxels (ITK's SD, n-1 denominator), values beyond
    +/- ``outliers`` SD clipped there (``removeOutliers``), then multiplied by ``scale`` (``normalizeScale``)."""
    out = sitk.Normalize(image)
    if outliers is not None:
        arr = sitk.GetArrayFromImage(out)
        np.clip(arr, -outliers, outliers, out=arr)
        clipped = sitk.GetImageFromArray(arr)
        clipped.CopyInformation(out)
        out = clipped
    return out * float(scale)


def interpolator_id(value) -> int:
    """A SimpleITK interpolator from its PyRadiomics name ('sitkBSpline') or integer id."""
    if isinstance(value, int):
        return value
    try:
        return getattr(sitk, value)
    except AttributeError:
        raise SettingsError(f"unknown interpolator {value!r}") from None


def bbox_xyz(mask: sitk.Image) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive (lower, upper) voxel index (x, y, z) of the non-zero voxels."""
    idx = np.argwhere(sitk.GetArrayViewFromImage(mask) > 0)
    if idx.size == 0:
        raise EmptyMaskError("the mask is empty")
    return idx.min(0)[::-1].astype(float), idx.max(0)[::-1].astype(float)


def resample(image: sitk.Image, mask: sitk.Image, spacing_xyz, interpolator, pad: int) -> tuple[sitk.Image, sitk.Image]:
    """PyRadiomics' resampling: the new grid shares the image's outer corner (corner-aligned, not centre-aligned as
    IBSI), covers the ROI bounding box widened by half a voxel and ``pad`` new voxels on each side, and stays inside
    the original image. A spacing of 0 keeps that axis. The image keeps its pixel type; the mask uses nearest
    neighbour. Equal spacings: nothing is resampled."""
    old = np.asarray(mask.GetSpacing(), float)
    new = np.asarray([float(s) for s in spacing_xyz], float)
    if new.size != mask.GetDimension():
        raise SettingsError(f"resampledPixelSpacing needs {mask.GetDimension()} values (x, y, z), got {list(spacing_xyz)}")
    new = np.where(new == 0, old, new)
    if np.allclose(new, old, rtol=0, atol=1e-12):
        return image, mask
    ratio = old / new
    lo, hi = bbox_xyz(mask)
    new_lo = np.floor((lo - 0.5) * ratio - pad)
    new_hi = np.ceil((hi + 0.5) * ratio + pad)
    max_hi = np.ceil(np.asarray(mask.GetSize()) * ratio) - 1
    new_lo = np.maximum(new_lo, 0)
    new_hi = np.minimum(new_hi, max_hi)
    size = [int(v) for v in (new_hi - new_lo + 1)]
    # continuous index (old grid) of the centre of new voxel new_lo, with both grids sharing the outer corner
    origin_index = new_lo / ratio + 0.5 * (new - old) / old
    origin = mask.TransformContinuousIndexToPhysicalPoint([float(v) for v in origin_index])
    common = {"size": size, "outputOrigin": origin, "outputSpacing": [float(v) for v in new],
              "outputDirection": mask.GetDirection(), "transform": sitk.Transform(), "defaultPixelValue": 0}
    img = sitk.Resample(image, interpolator=interpolator_id(interpolator), outputPixelType=image.GetPixelID(),
                        **common)
    msk = sitk.Resample(mask, interpolator=sitk.sitkNearestNeighbor, outputPixelType=mask.GetPixelID(), **common)
    return img, msk


def crop(image: sitk.Image, mask: sitk.Image, pad: int = 0) -> tuple[sitk.Image, sitk.Image]:
    """Crop both to the ROI bounding box plus ``pad`` voxels (clipped at the image border), keeping the geometry."""
    lo, hi = bbox_xyz(mask)
    size = np.asarray(mask.GetSize())
    lo = np.maximum(lo - pad, 0).astype(int)
    hi = np.minimum(hi + pad, size - 1).astype(int)
    upper = (size - 1 - hi).astype(int)
    f = sitk.CropImageFilter()
    f.SetLowerBoundaryCropSize([int(v) for v in lo])
    f.SetUpperBoundaryCropSize([int(v) for v in upper])
    return f.Execute(image), f.Execute(mask)


def correct_mask(image: sitk.Image, mask: sitk.Image, source: str) -> sitk.Image:
    """``correctMask``: put a mask drawn on another grid onto the image grid (nearest neighbour), after checking
    that its ROI lies inside the image."""
    lo, hi = bbox_xyz(mask)
    for corner in (lo, hi):
        p = mask.TransformContinuousIndexToPhysicalPoint([float(v) for v in corner])
        idx = np.asarray(image.TransformPhysicalPointToContinuousIndex(p))
        if np.any(idx < -0.5) or np.any(idx > np.asarray(image.GetSize()) - 0.5):
            raise GeometryError(f"{source}: the ROI lies (partly) outside the image; correctMask cannot fix that")
    return sitk.Resample(mask, image, sitk.Transform(), sitk.sitkNearestNeighbor, 0, mask.GetPixelID())


def same_grid(image: sitk.Image, mask: sitk.Image, tol: float) -> bool:
    return (image.GetSize() == mask.GetSize()
            and np.allclose(image.GetSpacing(), mask.GetSpacing(), rtol=0, atol=tol)
            and np.allclose(image.GetOrigin(), mask.GetOrigin(), rtol=0, atol=tol)
            and np.allclose(image.GetDirection(), mask.GetDirection(), rtol=0, atol=tol))


def check_roi(mask_zyx: np.ndarray, min_dims: int, min_size: int | None, source: str) -> tuple[slice, slice, slice]:
    """PyRadiomics' ROI checks; the (z, y, x) bounding box of the ROI."""
    idx = np.argwhere(mask_zyx)
    if idx.size == 0:
        raise EmptyMaskError(f"{source}: the mask has no voxels of the chosen label")
    lo, hi = idx.min(0), idx.max(0) + 1
    dims = int(np.sum(hi - lo > 1))
    if dims < min_dims:
        raise EmptyMaskError(
            f"{source}: the ROI spans {dims} dimension(s) of more than one voxel (bounding box (z, y, x) "
            f"{tuple(int(v) for v in hi - lo)}); minimumROIDimensions is {min_dims}")
    if min_size is not None and idx.shape[0] < min_size:
        raise EmptyMaskError(f"{source}: the ROI has {idx.shape[0]} voxels; minimumROISize is {min_size}")
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))  # type: ignore[return-value]


def resegment(image_zyx: np.ndarray, mask_zyx: np.ndarray, bounds, mode: str, source: str) -> np.ndarray:
    """PyRadiomics ``resegmentRange`` / ``resegmentMode``: ``absolute`` thresholds, ``relative`` (fractions of the ROI
    maximum) or ``sigma`` (mean +/- k SD of the ROI, population SD). One value is a lower bound only."""
    values = image_zyx[mask_zyx].astype(np.float64)
    b = [float(v) for v in bounds]
    if mode == "relative":
        b = [v * values.max() for v in b]
    elif mode == "sigma":
        mean, sd = values.mean(), values.std()
        b = [mean + v * sd for v in b]
    keep = mask_zyx & (image_zyx >= b[0])
    if len(b) > 1:
        keep &= image_zyx <= b[1]
    if not keep.any():
        raise EmptyMaskError(f"{source}: no ROI voxel is left after re-segmentation to {b} ({mode} mode from "
                             f"resegmentRange {list(bounds)})")
    return keep


@dataclass
class Prepared:
    """The preprocessed case: the full image and ROI on the final grid, the ROI box, the re-segmented mask."""

    image: sitk.Image  # after normalisation / resampling / pre-cropping (filters run on this)
    mask: np.ndarray  # bool (z, y, x) on the grid of ``image``
    bbox: tuple[slice, slice, slice]
    mask_reseg: np.ndarray  # bool (z, y, x), re-segmented (== mask without resegmentRange)
    diagnostics: dict = field(default_factory=dict)
    applied: list[str] = field(default_factory=list)  # preprocessing steps that ran, for provenance


def _image_stats(img: sitk.Image, mask: np.ndarray | None = None) -> dict:
    arr = sitk.GetArrayViewFromImage(img)
    vals = arr[mask] if mask is not None else arr
    return {"Mean": float(np.mean(vals, dtype=np.float64)), "Minimum": float(vals.min()),
            "Maximum": float(vals.max())}


def _mask_diagnostics(img: sitk.Image | None, mask: np.ndarray, ref: sitk.Image) -> dict:
    idx = np.argwhere(mask)
    lo, hi = idx.min(0), idx.max(0) + 1
    com = idx.mean(0)[::-1]
    n_parts = int(sitk.GetArrayFromImage(sitk.ConnectedComponent(sitk.GetImageFromArray(mask.astype(np.uint8)))).max())
    return {"Spacing": tuple(ref.GetSpacing()), "Size": tuple(ref.GetSize()),
            "BoundingBox": tuple(int(v) for v in (*lo[::-1], *(hi - lo)[::-1])), "VoxelNum": int(idx.shape[0]),
            "VolumeNum": n_parts, "CenterOfMassIndex": tuple(float(v) for v in com),
            "CenterOfMass": tuple(ref.TransformContinuousIndexToPhysicalPoint([float(v) for v in com])),
            **(_image_stats(img, mask) if img is not None else {})}


def prepare(image: Image, mask: Mask, params: PyRadiomicsParams) -> Prepared:
    """Run PyRadiomics' preprocessing on one case (see the module docstring for the order)."""
    get = params.get
    src = mask.source
    img = to_sitk(image)
    msk = mask_to_sitk(mask)
    applied: list[str] = []
    diag: dict = {"Image-original": {"Spacing": tuple(img.GetSpacing()), "Size": tuple(img.GetSize()),
                                     **_image_stats(img)}}
    tol = get("geometryTolerance") or 1e-4
    on_grid = same_grid(img, msk, tol)
    # PyRadiomics reports the original mask on its own grid (before correctMask)
    diag["Mask-original"] = _mask_diagnostics(img if on_grid else None, sitk.GetArrayFromImage(msk) > 0, msk)
    if not on_grid:
        if not get("correctMask"):
            diffs = "; ".join(image.geometry.differences(mask.geometry)) or "geometry differs"
            raise GeometryError(f"mask {src} does not lie on the grid of image {image.source}: {diffs} "
                                "(set correctMask: true to resample the mask onto the image grid, as PyRadiomics)")
        msk = correct_mask(img, msk, src)
        applied.append("correctMask")
    if get("normalize"):
        img = normalize(img, get("normalizeScale"), get("removeOutliers"))
        applied.append(f"normalize(scale={get('normalizeScale')}, removeOutliers={get('removeOutliers')})")
    spacing = get("resampledPixelSpacing")
    if spacing is not None:
        img, msk = resample(img, msk, spacing, get("interpolator"), int(get("padDistance")))
        applied.append(f"resample({list(spacing)}, {get('interpolator')}, padDistance={get('padDistance')})")
        m = sitk.GetArrayFromImage(msk) > 0
        diag["Image-interpolated"] = {"Spacing": tuple(img.GetSpacing()), "Size": tuple(img.GetSize()),
                                      **_image_stats(img)}
        diag["Mask-interpolated"] = _mask_diagnostics(img, m, msk) if m.any() else {"VoxelNum": 0}
    elif get("preCrop"):
        img, msk = crop(img, msk, int(get("padDistance")))
        applied.append(f"preCrop(padDistance={get('padDistance')})")
    m = sitk.GetArrayFromImage(msk) > 0
    bbox = check_roi(m, int(get("minimumROIDimensions")), get("minimumROISize"), src)
    reseg = m
    rng = get("resegmentRange")
    if rng is not None:
        reseg = resegment(sitk.GetArrayViewFromImage(img), m, rng, get("resegmentMode"), src)
        applied.append(f"resegment({list(rng)}, {get('resegmentMode')})")
        diag["Mask-resegmented"] = _mask_diagnostics(img, reseg, img)
    return Prepared(img, m, bbox, reseg, diag, applied)
