"""Voxel-wise feature maps (local texture, IBSI style): ``feature_maps(image, mask, settings, kernel_radius)``.

For every voxel of the ROI (the intensity mask after preprocessing) the features are computed on its kernel: the cube
of side ``2 R + 1`` voxels centred on it, restricted to voxels inside the ROI and the image ("masked kernel"). The
image is preprocessed and discretised once for the whole ROI, exactly as ``extract`` does (resampling,
re-segmentation, discretisation with the ROI's bins), so a map value equals ``extract`` on that voxel's kernel as a
tiny ROI whenever the discretisation does not depend on the ROI (fixed bin size with ``min_value`` or a
re-segmentation lower bound, or ``method: none``); Ng-normalised GLCM features (normalised inverse difference and
normalised inverse difference moment) use the Ng of the whole ROI.

Families: ``statistics`` (IBSI 3.3, keys ``statistics_<feature>``) and ``glcm`` (IBSI 3.6, 3D; keys
``glcm_<feature>_3d_averaged`` / ``glcm_<feature>_3d_merged`` for the aggregations in ``settings.texture``).

Output: one :class:`~radiomix.image.Image` per feature, float32, covering the ROI's bounding box on the processed grid
(its geometry places it in the image's physical space, so viewers overlay it on the image); voxels outside the ROI
are NaN, as are values undefined for a kernel (a kernel without any voxel pair for the GLCM; the features' documented
degenerate cases). One compiled kernel (``kernels/map_kernels.voxel_maps``, blocks of voxels on threads) computes both
families and writes straight into the maps, so the memory beyond the output maps is a padded copy of the ROI box and
small per-thread scratch; ``batch_voxels`` only splits the voxels into several kernel calls. The maps are views of
one ``(n_features, *box)`` array (keeping one map alive keeps that array).
"""

from __future__ import annotations

import numpy as np

from radiomix.errors import SettingsError
from radiomix.image import Image, Mask
from radiomix.settings import Settings

#: families with voxel-wise maps
MAP_FAMILIES = ("statistics", "glcm")
#: voxels per kernel call
BATCH_VOXELS = 65_536


def _keys(settings: Settings) -> dict[str, list[str]]:
    from radiomix.features import glcm, statistics

    out = {"statistics": [f"statistics_{f.name}" for f in statistics.FEATURES]}
    aggs = [a for a in settings.texture.aggregations if a in ("3d_averaged", "3d_merged")]
    out["glcm"] = [f"glcm_{f.name}_{a}" for a in aggs for f in glcm.FEATURES]
    return out


def feature_maps(image: Image, mask: Mask, settings: Settings, kernel_radius: int,
                 features=None, *, batch_voxels: int = BATCH_VOXELS) -> dict[str, Image]:
    """Voxel-wise feature maps of the ROI ``mask`` of ``image``: feature key -> map (see the module docstring).

    ``features``: family names (``"glcm"``, ``"statistics"``) or feature keys (``"glcm_contrast_3d_averaged"``) to
    compute; default: the map families among ``settings.families``. Raises ``SettingsError`` for a 2D setting, a
    kernel radius below 1, or no map family requested.
    """
    from radiomix.kernels.map_kernels import cube_pairs, voxel_maps
    from radiomix.kernels.texture_common import DIRECTIONS_3D
    from radiomix.preprocess import prepare, roi_data
    from radiomix.threads import available_threads

    if settings.dimensions != "3d":
        raise SettingsError(f"settings '{settings.name}': voxel-wise maps are 3D only (dimensions: 3d)")
    if int(kernel_radius) != kernel_radius or kernel_radius < 1:
        raise SettingsError(f"kernel_radius must be an integer >= 1, got {kernel_radius!r}")
    r = int(kernel_radius)
    keys = _keys(settings)
    wanted = set(settings.families) & set(MAP_FAMILIES) if features is None else set(features)
    unknown = wanted - set(MAP_FAMILIES) - {k for v in keys.values() for k in v}
    if unknown:
        raise SettingsError(f"no voxel-wise map for {sorted(unknown)}; map families: {', '.join(MAP_FAMILIES)}; "
                            f"feature keys look like {keys['statistics'][0]!r} or 'glcm_contrast_3d_averaged'")
    fams = [f for f in MAP_FAMILIES if f in wanted or any(k in wanted for k in keys[f])]
    if not fams:
        raise SettingsError(f"settings '{settings.name}': no voxel-wise map family requested; choose from "
                            f"{', '.join(MAP_FAMILIES)}")
    if "glcm" in fams and not keys["glcm"]:
        raise SettingsError(f"settings '{settings.name}': GLCM maps need texture aggregation 3d_averaged or "
                            "3d_merged")

    prepared = prepare(image, mask, settings)
    roi = roi_data(prepared, settings)
    inside = roi.mask_int
    idx = np.argwhere(inside)
    lo, hi = idx.min(0), idx.max(0) + 1
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
    shape = tuple(int(b - a) for a, b in zip(lo, hi))
    geom = prepared.image.geometry.with_shape_spacing_origin(
        shape, prepared.image.spacing, prepared.image.geometry.index_to_physical(lo))
    # the kernel reads copies of the ROI box padded by r voxels of "outside" (voxels beyond the box are outside the
    # mask anyway), so every kernel is read through the same linear offsets
    ins = inside[box]
    pad = ((r, r),) * 3
    img = np.pad(np.where(ins, roi.image[box], 0.0).astype(np.float64), pad)
    ins_p = np.pad(ins, pad)
    lv = np.pad(np.where(ins, roi.levels[box], 0).astype(np.int32), pad)
    pts = np.ascontiguousarray(idx - lo, dtype=np.int64)
    tex = settings.texture
    cube, pair_a, pair_b, dir_start = cube_pairs(r, DIRECTIONS_3D * int(tex.glcm_distance), img.shape)

    out_keys = [k for f in fams for k in keys[f]
                if features is None or k in wanted or k.split("_", 1)[0] in wanted]
    slot = {k: i for i, k in enumerate(out_keys)}
    names = [f.name for f in _glcm_features()]
    stat_slot = np.array([slot.get(k, -1) for k in keys["statistics"]], dtype=np.int64)
    avg_slot = np.array([slot.get(f"glcm_{n}_3d_averaged", -1) for n in names], dtype=np.int64)
    mrg_slot = np.array([slot.get(f"glcm_{n}_3d_merged", -1) for n in names], dtype=np.int64)
    out = np.full((len(out_keys), *shape), np.nan, dtype=np.float32)
    flat = out.reshape(len(out_keys), -1)
    threads = available_threads()
    for b0 in range(0, len(pts), batch_voxels):
        voxel_maps(img, lv, ins_p, pts[b0:b0 + batch_voxels], r, cube, pair_a, pair_b, dir_start,
                   int(roi.n_levels), bool(tex.glcm_symmetric), stat_slot, avg_slot, mrg_slot, flat, 8 * threads,
                   threads)
    src = f"{image.source} (map)"
    return {k: Image(out[i], geom, src) for k, i in slot.items()}


def _glcm_features():
    from radiomix.features import glcm

    return glcm.FEATURES
