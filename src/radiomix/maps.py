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
degenerate cases). The work runs in parallel (numba ``prange`` over the voxels) in batches of ``batch_voxels``, so the
memory beyond the output maps is bounded by the batch size.
"""

from __future__ import annotations

import numba
import numpy as np

from radiomix.errors import SettingsError
from radiomix.image import Image, Mask
from radiomix.settings import Settings

#: families with voxel-wise maps
MAP_FAMILIES = ("statistics", "glcm")
#: voxels per parallel batch (bounds the per-batch feature buffers: batch x 50 float64)
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
    from radiomix.kernels.map_kernels import N_GLCM, N_STATS, glcm_map, statistics_map
    from radiomix.kernels.texture_common import DIRECTIONS_3D
    from radiomix.preprocess import prepare, roi_data

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
    # the kernels read a copy cropped to the ROI box: voxels outside it are outside the mask anyway
    img = np.ascontiguousarray(roi.image[box], dtype=np.float64)
    ins = np.ascontiguousarray(inside[box])
    lv = np.ascontiguousarray(np.where(ins, roi.levels[box], 0), dtype=np.int32)
    pts = np.ascontiguousarray(idx - lo, dtype=np.int64)
    tex = settings.texture
    offsets = np.ascontiguousarray(DIRECTIONS_3D * int(tex.glcm_distance), dtype=np.int64)

    out_keys = [k for f in fams for k in keys[f]]
    maps = {k: np.full(shape, np.nan, dtype=np.float32) for k in out_keys
            if features is None or k in wanted or k.split("_", 1)[0] in wanted}
    where = tuple(pts.T)
    for b0 in range(0, len(pts), batch_voxels):
        p = pts[b0:b0 + batch_voxels]
        sel = tuple(w[b0:b0 + batch_voxels] for w in where)
        if "statistics" in fams:
            st = np.empty((len(p), N_STATS))
            statistics_map(img, ins, p, r, st)
            for t, k in enumerate(keys["statistics"]):
                if k in maps:
                    maps[k][sel] = st[:, t]
        if "glcm" in fams:
            avg = np.empty((len(p), N_GLCM))
            mrg = np.empty((len(p), N_GLCM))
            glcm_map(lv, p, r, offsets, int(roi.n_levels), bool(tex.glcm_symmetric), avg, mrg,
                     16 * numba.get_num_threads())
            for k in keys["glcm"]:
                if k in maps:
                    t = [f.name for f in _glcm_features()].index(k[5:].rsplit("_3d_", 1)[0])
                    maps[k][sel] = (avg if k.endswith("_3d_averaged") else mrg)[:, t]
    src = f"{image.source} (map)"
    return {k: Image(v, geom, src) for k, v in maps.items()}


def _glcm_features():
    from radiomix.features import glcm

    return glcm.FEATURES
