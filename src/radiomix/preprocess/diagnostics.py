"""IBSI image-processing diagnostics, keyed by the tags of the IBSI compliance sheet (``sheet_tag`` of the
Diagnostics-* rows of the IBSI 1 reference table), e.g. ``img_dim_x_init_img``, ``int_mask_mean_int_reseg_roi``.

Stages: ``init`` (the image as read, after ``round_input_intensities``), ``interp`` (after resampling and rounding),
``reseg`` (after re-segmentation). Dimensions are in voxels, voxel dimensions in mm, x/y/z as IBSI writes them.
"""

from __future__ import annotations

import numpy as np

AXES = ("z", "y", "x")  # array axis order


def grid_diagnostics(shape, spacing, stage: str) -> dict[str, float]:
    """``img_dim_*_{stage}_img`` and ``vox_dim_*_{stage}_img``."""
    out = {}
    for k, ax in enumerate(AXES):
        out[f"img_dim_{ax}_{stage}_img"] = float(shape[k])
        out[f"vox_dim_{ax}_{stage}_img"] = float(spacing[k])
    return out


def intensity_diagnostics(mean: float, vmin: float, vmax: float, stage: str) -> dict[str, float]:
    return {f"mean_int_{stage}_img": float(mean), f"min_int_{stage}_img": float(vmin),
            f"max_int_{stage}_img": float(vmax)}


def bbox_dims(mask: np.ndarray) -> tuple[int, int, int]:
    """Extent (z, y, x) in voxels of the bounding box of ``mask`` (0 for an empty mask)."""
    proj = np.any(mask, axis=0)  # (y, x): one pass over the array, then the z extent from a second
    zs = np.flatnonzero(np.any(mask, axis=(1, 2)))
    if zs.size == 0:
        return 0, 0, 0
    ys = np.flatnonzero(np.any(proj, axis=1))
    xs = np.flatnonzero(np.any(proj, axis=0))
    return int(zs[-1] - zs[0] + 1), int(ys[-1] - ys[0] + 1), int(xs[-1] - xs[0] + 1)


def roi_diagnostics(grid_shape, image: np.ndarray, mask_morph: np.ndarray, mask_int: np.ndarray,
                    stage: str) -> dict[str, float]:
    """The 14 ROI rows of one stage. ``image`` and the masks may be cropped (they must hold the whole ROI);
    ``grid_shape`` is the shape of the full grid the masks live on."""
    out: dict[str, float] = {}
    for k, ax in enumerate(AXES):
        out[f"int_mask_dim_{ax}_{stage}_roi"] = float(grid_shape[k])
    same = mask_int is mask_morph
    for name, m in (("int", mask_int), ("morph", mask_morph)):
        if same and name == "morph":  # the same array: copy the int_mask rows
            for k in range(3):
                out[f"morph_mask_bb_dim_{AXES[k]}_{stage}_roi"] = out[f"int_mask_bb_dim_{AXES[k]}_{stage}_roi"]
            out[f"morph_mask_vox_count_{stage}_roi"] = out[f"int_mask_vox_count_{stage}_roi"]
            continue
        for k, d in enumerate(bbox_dims(m)):
            out[f"{name}_mask_bb_dim_{AXES[k]}_{stage}_roi"] = float(d)
        out[f"{name}_mask_vox_count_{stage}_roi"] = float(np.count_nonzero(m))
    vals = image[mask_int]
    if vals.size:
        out[f"int_mask_mean_int_{stage}_roi"] = float(np.mean(vals, dtype=np.float64))
        out[f"int_mask_min_int_{stage}_roi"] = float(vals.min())
        out[f"int_mask_max_int_{stage}_roi"] = float(vals.max())
    else:
        for s in ("mean", "min", "max"):
            out[f"int_mask_{s}_int_{stage}_roi"] = float("nan")
    return out
