"""Assembles IBSI chapter 2 image processing for one case: checks, resampling (interpolation and rounding),
re-segmentation, diagnostics; discretisation happens per image type in :func:`roi_data`.

Memory stays proportional to the ROI: the full resampled grid is only *defined* (:func:`target_grid`); the image and
masks are evaluated on the ROI's bounding box in that grid plus a margin (see :func:`margin_voxels`). The result is
what cropping the fully resampled image would give (bit-identical for nearest and linear interpolation, to float
round-off for cubic). ``diagnostics="full"`` additionally measures the whole initial and interpolated images (IBSI
diagnostic rows ``*_init_img``/``*_interp_img`` mean, min, max), evaluating the interpolated image in slabs.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from radiomix.errors import EmptyMaskError, InputError
from radiomix.features.base import RoiData
from radiomix.image import Geometry, Image, Mask, check_same_grid
from radiomix.preprocess.diagnostics import grid_diagnostics, intensity_diagnostics, roi_diagnostics
from radiomix.preprocess.discretise import discretise
from radiomix.preprocess.resample import ORDERS, TargetGrid, resample_box, resample_mask_box, target_grid
from radiomix.preprocess.resegment import resegment
from radiomix.settings import Settings

#: voxels kept around the ROI on top of the local-intensity radius and the caller's ``margin_mm``.
BASE_MARGIN = 2
#: target voxels evaluated at once when the whole interpolated image is measured (diagnostics="full").
SLAB_VOXELS = 4_000_000


@dataclass(frozen=True, eq=False)
class PreparedCase:
    """Image and masks after interpolation, rounding and re-segmentation, cropped to the ROI plus a margin.

    ``grid`` is the geometry of the full interpolated image and ``box`` the crop's (z, y, x) slices in it."""

    image: Image
    mask_morph: Mask
    mask_int: Mask
    diagnostics: dict[str, float] = field(default_factory=dict)
    grid: Geometry | None = None
    box: tuple[slice, slice, slice] | None = None

    def cropped(self, margin) -> PreparedCase:
        """The same case on the ROI's bounding box plus ``margin`` voxels (z, y, x), within this crop (views, no
        copies); itself when that is the whole crop. Filters whose response at a voxel depends only on the input
        within their margin run on it (``filters.spec.local_support``)."""
        shape = self.image.shape
        roi = _bbox(self.mask_morph.array)
        if roi is None:
            return self
        sub = tuple(slice(max(r.start - int(m), 0), min(r.stop + int(m), n)) for r, m, n in zip(roi, margin, shape))
        if all(sl.start == 0 and sl.stop == n for sl, n in zip(sub, shape)):
            return self
        geom = self.image.geometry
        geom = geom.with_shape_spacing_origin(tuple(sl.stop - sl.start for sl in sub), geom.spacing,
                                             geom.index_to_physical([sl.start for sl in sub]))
        box = None if self.box is None else tuple(slice(b.start + sl.start, b.start + sl.stop)
                                                  for b, sl in zip(self.box, sub))
        return PreparedCase(
            image=self.image.with_array(self.image.array[sub], geom),
            mask_morph=Mask(self.mask_morph.array[sub], geom, self.mask_morph.source, self.mask_morph.label),
            mask_int=Mask(self.mask_int.array[sub], geom, self.mask_int.source, self.mask_int.label),
            diagnostics=self.diagnostics, grid=self.grid, box=box,  # type: ignore[arg-type]
        )


def margin_voxels(spacing, settings: Settings, margin_mm: float = 0.0) -> tuple[int, int, int]:
    """Crop margin (z, y, x) in voxels: BASE_MARGIN + enough for the local intensity sphere and ``margin_mm``."""
    reach = float(settings.local_intensity.radius_mm) + max(float(margin_mm), 0.0)
    return tuple(BASE_MARGIN + math.ceil(reach / s - 1e-9) for s in spacing)  # type: ignore[return-value]


def _bbox(mask: np.ndarray) -> tuple[slice, slice, slice] | None:
    """Bounding box of a 3D boolean array, None if empty: the z range from one pass over the array, then y and x from
    a projection of that z slab only."""
    zs = np.flatnonzero(np.any(mask, axis=(1, 2)))
    if zs.size == 0:
        return None
    z = slice(int(zs[0]), int(zs[-1]) + 1)
    proj = np.any(mask[z], axis=0)
    ys = np.flatnonzero(np.any(proj, axis=1))
    xs = np.flatnonzero(np.any(proj, axis=0))
    return z, slice(int(ys[0]), int(ys[-1]) + 1), slice(int(xs[0]), int(xs[-1]) + 1)


def _check_inputs(image: Image, mask: Mask, settings: Settings) -> None:
    check_same_grid(image, mask)
    image.check_finite()
    if mask.n_voxels == 0:
        raise EmptyMaskError(f"{mask.source}: the mask is empty")
    rs = settings.resampling
    if settings.dimensions == "3d" and image.is_2d:
        needs = []
        if rs is not None and rs.spacing_mm[2] is not None and \
                abs(rs.spacing_mm[2] - image.spacing[0]) > 1e-5 * image.spacing[0]:
            needs.append(f"resampling to a slice spacing of {rs.spacing_mm[2]} mm")
        if "morphology" in settings.families:
            needs.append("3D morphology")
        if needs:
            raise InputError(f"{image.source}: a 2D image (one slice) where 3D is needed ({' and '.join(needs)}); "
                             "use dimensions: 2d, or drop the z spacing and the morphology family")


def _grid(image: Image, settings: Settings) -> TargetGrid:
    rs = settings.resampling
    if rs is None:
        return target_grid(image.geometry, (None, None, None))
    keep_z = settings.dimensions == "2d"
    z = rs.spacing_mm[2]
    if keep_z and z is not None and abs(z - image.spacing[0]) > 1e-5 * image.spacing[0]:
        warnings.warn(f"{image.source}: dimensions '2d' resamples in-plane only; the requested slice spacing "
                      f"{z} mm is ignored (slices stay {image.spacing[0]:g} mm apart)", stacklevel=3)
    return target_grid(image.geometry, rs.spacing_mm, rs.grid_alignment, keep_z=keep_z)


def _slab_stats(chunks) -> tuple[float, float, float]:
    total, count, vmin, vmax = 0.0, 0, math.inf, -math.inf
    for a in chunks:
        total += float(np.sum(a, dtype=np.float64))
        count += a.size
        vmin, vmax = min(vmin, float(a.min())), max(vmax, float(a.max()))
    return total / count, vmin, vmax


def _z_slabs(shape) -> list[slice]:
    step = max(1, SLAB_VOXELS // max(1, shape[1] * shape[2]))
    return [slice(z, min(z + step, shape[0])) for z in range(0, shape[0], step)]


def prepare(image: Image, mask: Mask, settings: Settings, diagnostics: str = "roi", *,
            margin_mm: float = 0.0) -> PreparedCase:
    """Resample, round and re-segment one case (IBSI chapter 2), cropped to the ROI plus a margin.

    ``margin_mm`` widens the crop for filters that need context around the ROI (the local intensity radius is always
    included). ``diagnostics``: ``"roi"`` computes every IBSI diagnostic that needs only the ROI's neighbourhood;
    ``"full"`` adds the intensity statistics of the whole initial and interpolated images.
    """
    if diagnostics not in ("roi", "full"):
        raise InputError(f"diagnostics must be 'roi' or 'full', got {diagnostics!r}")
    _check_inputs(image, mask, settings)
    if settings.normalisation is not None:  # image-level harmonisation (N4, z-score, Nyul, WhiteStripe) first
        from radiomix.preprocess.normalise import apply_normalisation

        image = apply_normalisation(image, mask, settings.normalisation)
    rs = settings.resampling
    grid = _grid(image, settings)
    order = ORDERS[rs.interpolator] if rs is not None else 0
    mask_order = ORDERS[rs.mask_interpolator] if rs is not None else 0
    threshold = rs.mask_threshold if rs is not None else 0.5
    round_in = settings.round_input_intensities
    round_out = rs is not None and rs.round_intensities

    src_box = _bbox(mask.array)
    diag: dict[str, float] = {}

    # --- initial image and ROI
    diag.update(grid_diagnostics(image.shape, image.spacing, "init"))
    src_img = image.array[src_box].astype(np.float64)
    if round_in:
        np.round(src_img, out=src_img)
    src_mask = mask.array[src_box]
    diag.update(roi_diagnostics(image.shape, src_img, src_mask, src_mask, "init"))
    if diagnostics == "full":
        def init_slabs():
            for sl in _z_slabs(image.shape):
                a = image.array[sl].astype(np.float64)
                yield np.round(a) if round_in else a
        diag.update(intensity_diagnostics(*_slab_stats(init_slabs()), "init"))

    # --- the ROI in the target grid: source positions within one voxel of the ROI can receive mask weight
    cand = tuple(grid.target_range(k, src_box[k].start - 1, src_box[k].stop) for k in range(3))
    m_cand = resample_mask_box(mask.array, grid, cand, mask_order, threshold)
    roi_rel = _bbox(m_cand)
    if roi_rel is None:
        raise EmptyMaskError(f"{mask.source}: no mask voxel is left after resampling to "
                             f"{grid.geometry.spacing_xyz} mm (x, y, z) with mask threshold {threshold}")
    margin = margin_voxels(grid.geometry.spacing, settings, margin_mm)
    box = tuple(slice(max(c.start + r.start - m, 0), min(c.start + r.stop + m, n))
                for c, r, m, n in zip(cand, roi_rel, margin, grid.shape))

    img = resample_box(image.array, grid, box, order, round_input=round_in, round_output=round_out)
    morph = resample_mask_box(mask.array, grid, box, mask_order, threshold)

    # --- interpolated image and ROI
    diag.update(grid_diagnostics(grid.shape, grid.geometry.spacing, "interp"))
    if diagnostics == "full":
        if grid.is_identity:
            diag.update({k.replace("_init_", "_interp_"): v for k, v in diag.items()
                         if k.startswith(("mean_int_init", "min_int_init", "max_int_init"))})
        else:
            slabs = (resample_box(image.array, grid, (sl, slice(None), slice(None)), order, round_input=round_in,
                                  round_output=round_out) for sl in _z_slabs(grid.shape))
            diag.update(intensity_diagnostics(*_slab_stats(slabs), "interp"))
    diag.update(roi_diagnostics(grid.shape, img, morph, morph, "interp"))

    # --- re-segmentation (intensity mask only)
    m_int = resegment(img, morph, settings.resegmentation)
    if not m_int.any():
        raise EmptyMaskError(f"{mask.source}: no ROI voxel is left after re-segmentation "
                             f"({settings.resegmentation}) of image {image.source}")
    if np.array_equal(m_int, morph):  # nothing re-segmented: the same numbers as the interpolated stage
        diag.update({k[: -len("_interp_roi")] + "_reseg_roi": v for k, v in diag.items() if k.endswith("_interp_roi")})
    else:
        diag.update(roi_diagnostics(grid.shape, img, morph, m_int, "reseg"))

    geom = grid.geometry.with_shape_spacing_origin(
        img.shape, grid.geometry.spacing, grid.geometry.index_to_physical([s.start for s in box]))
    return PreparedCase(
        image=Image(img, geom, image.source, image.meta),
        mask_morph=Mask(morph, geom, mask.source, mask.label),
        mask_int=Mask(m_int, geom, mask.source, mask.label),
        diagnostics=diag, grid=grid.geometry, box=box,  # type: ignore[arg-type]
    )


def roi_data(prepared: PreparedCase, settings: Settings, image_array: np.ndarray | None = None,
             image_type: str = "original") -> RoiData:
    """Discretise the (possibly filtered) image of a prepared case into a RoiData.

    For a filtered image (``image_type`` other than ``"original"``) the re-segmentation range, which is in the
    original image's units, is not used as the fixed-bin-size lower edge; ``discretisation.min_value`` or the ROI
    minimum is."""
    img = prepared.image.array if image_array is None else image_array
    if img.shape != prepared.image.shape:
        raise InputError(f"{prepared.image.source}: image_array has shape {img.shape}, the prepared case "
                         f"{prepared.image.shape}")
    m_int = prepared.mask_int.array
    levels, n_levels = discretise(img, m_int, settings.discretisation, settings.resegmentation,
                                  use_resegmentation_bound=image_type == "original")
    return RoiData(
        image=img, mask_morph=prepared.mask_morph.array, mask_int=m_int, spacing=prepared.image.spacing,
        levels=levels, n_levels=n_levels, settings=settings, image_type=image_type,
    )
