"""RTSTRUCT: list the ROIs of a structure set and rasterise one onto an image grid.

Rasterisation (the rule that reproduces the IBSI CT phantom and STS_001 NIfTI masks exactly):

1. Every contour point (x, y, z) mm is mapped to a continuous voxel index (z, y, x) on the image grid. A contour is
   placed on the slice nearest to its (constant) slice index: contours are matched to slices by position, never by
   the ContourImageSequence UIDs (re-exported series often break those).
2. A voxel belongs to a contour when its centre lies inside the polygon (even-odd rule, scanline over the voxel
   centres; a centre exactly on a left/lower edge is inside, on a right/upper edge outside).
3. Contours on one slice are combined by exclusive or, so a contour drawn inside another is a hole.

Errors: the RTSTRUCT's frame of reference differs from the image's, a contour lies (partly) outside the image, a
contour is not parallel to the image slices, the ROI is unknown (the error lists the ROI names) or empty.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from radiomix.errors import EmptyMaskError, GeometryError, InputError
from radiomix.image import Geometry, Image, Mask

log = logging.getLogger(__name__)

#: contour points may lie this far (in voxels) outside the outermost voxel centres before they count as outside
_EDGE_TOL = 0.5 + 1e-3
#: a contour is "on" a slice when its slice index is within this many slices of an integer
_PLANE_TOL = 0.01
#: snap continuous indices to this grid before comparing with voxel centres (absorbs float round-off)
_SNAP = 1e-6


@dataclass(frozen=True)
class RoiInfo:
    number: int
    name: str
    n_contours: int
    n_points: int
    frame_of_reference_uid: str
    geometric_types: tuple[str, ...]


def _read(path) -> tuple[Path, Dataset]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: RTSTRUCT file not found")
    try:
        ds = pydicom.dcmread(path, force=True)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path}: cannot read the RTSTRUCT (truncated or corrupt?): {exc}") from None
    if str(ds.get("Modality", "")).upper() != "RTSTRUCT" or "StructureSetROISequence" not in ds:
        raise InputError(f"{path}: not an RTSTRUCT (modality {ds.get('Modality', 'missing')})")
    return path, ds


def _contours_by_roi(ds: Dataset) -> dict[int, list[Dataset]]:
    out: dict[int, list[Dataset]] = {}
    for rc in ds.get("ROIContourSequence", []) or []:
        out[int(rc.ReferencedROINumber)] = list(rc.get("ContourSequence", []) or [])
    return out


def list_rois(path) -> list[RoiInfo]:
    """The ROIs of an RTSTRUCT: number, name, contour and point counts, frame of reference, contour types."""
    path, ds = _read(path)
    contours = _contours_by_roi(ds)
    out = []
    for r in ds.StructureSetROISequence:
        num = int(r.ROINumber)
        cs = contours.get(num, [])
        out.append(RoiInfo(num, str(r.get("ROIName", "")), len(cs),
                           sum(int(c.get("NumberOfContourPoints", 0) or 0) for c in cs),
                           str(r.get("ReferencedFrameOfReferenceUID", "")),
                           tuple(sorted({str(c.get("ContourGeometricType", "")) for c in cs}))))
    return out


def _select_roi(path: Path, rois: list[RoiInfo], roi: str | int, regex: bool) -> RoiInfo:
    names = ", ".join(f"{r.number}: '{r.name}'" for r in rois) or "none"
    if isinstance(roi, int):
        hit = [r for r in rois if r.number == roi]
    elif regex:
        pat = re.compile(roi, re.IGNORECASE)
        hit = [r for r in rois if pat.search(r.name)]
    else:
        hit = [r for r in rois if r.name == roi] or [r for r in rois if r.name.strip().lower() == roi.strip().lower()]
    if not hit:
        raise InputError(f"{path}: no ROI matches {roi!r}; ROIs: {names}")
    if len(hit) > 1:
        raise InputError(f"{path}: {len(hit)} ROIs match {roi!r} ({', '.join(repr(r.name) for r in hit)}); "
                         "give a more specific name or the ROI number")
    return hit[0]


def rasterise_polygons(polygons_by_slice: dict[int, list[np.ndarray]], shape: tuple[int, int, int]) -> np.ndarray:
    """Fill polygons given in continuous (y, x) voxel indices, slice by slice, at voxel centres; XOR per slice.

    Each crossing of a polygon edge with a row of voxel centres toggles every voxel from the first centre at or
    right of the crossing to the end of the row; a cumulative parity along x then gives the even-odd fill of all
    polygons on the slice at once (so overlapping contours combine by exclusive or).
    """
    _, ny, nx = shape
    out = np.zeros(shape, dtype=bool)
    for k, polys in polygons_by_slice.items():
        toggles = np.zeros((ny, nx + 1), dtype=np.int32)
        for poly in polys:
            poly = np.round(np.asarray(poly, dtype=float) / _SNAP) * _SNAP
            y0, x0 = poly[:, 0], poly[:, 1]
            y1, x1 = np.roll(y0, -1), np.roll(x0, -1)
            lo, hi = np.minimum(y0, y1), np.maximum(y0, y1)
            keep = hi > lo  # horizontal edges never cross a row of centres in the half-open rule
            y0, x0, y1, x1, lo, hi = y0[keep], x0[keep], y1[keep], x1[keep], lo[keep], hi[keep]
            first = np.maximum(np.ceil(lo), 0).astype(np.int64)  # rows j with lo <= j < hi
            last = np.minimum(np.ceil(hi) - 1, ny - 1).astype(np.int64)
            n = np.maximum(last - first + 1, 0)
            if n.sum() == 0:
                continue
            edge = np.repeat(np.arange(first.size), n)
            rows = first[edge] + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
            t = (rows - y0[edge]) / (y1[edge] - y0[edge])
            xc = x0[edge] + t * (x1[edge] - x0[edge])
            xc = np.round(xc / _SNAP) * _SNAP
            col = np.clip(np.ceil(xc), 0, nx).astype(np.int64)
            np.add.at(toggles, (rows, col), 1)
        out[k] = (np.cumsum(toggles[:, :nx], axis=1) % 2).astype(bool)
    return out


def read_rtstruct(path, image: Image | Geometry, roi: str | int, *, regex: bool = False,
                  frame_of_reference_uid: str | None = None, allow_outside: bool = False) -> Mask:
    """Rasterise ROI ``roi`` (name, number, or a regular expression with ``regex=True``) onto ``image``'s grid.

    The frame of reference is checked against ``image.meta['frame_of_reference_uid']`` (from
    :func:`radiomix.io.dicom.read_dicom_series`) or ``frame_of_reference_uid``. ``allow_outside=True`` clips
    contours that leave the image instead of raising.
    """
    path, ds = _read(path)
    geom = image.geometry if isinstance(image, Image) else image
    src = image.source if isinstance(image, Image) else "the image grid"
    rois = list_rois(path)
    info = _select_roi(path, rois, roi, regex)
    for_uid = frame_of_reference_uid or (image.meta.get("frame_of_reference_uid") if isinstance(image, Image)
                                         else None)
    ss_fors = {str(fr.FrameOfReferenceUID) for fr in ds.get("ReferencedFrameOfReferenceSequence", []) or []
               if "FrameOfReferenceUID" in fr}
    roi_for = info.frame_of_reference_uid or (next(iter(ss_fors)) if len(ss_fors) == 1 else "")
    if for_uid and roi_for and roi_for != for_uid:
        raise GeometryError(f"{path}: ROI '{info.name}' is drawn in frame of reference {roi_for}, but {src} is in "
                            f"{for_uid}: the contours cannot be placed on this image")
    if not for_uid:
        log.warning("%s: the image carries no FrameOfReferenceUID; placing ROI '%s' by coordinates only", path,
                    info.name)
    contours = _contours_by_roi(ds).get(info.number, [])
    nz, ny, nx = geom.shape
    by_slice: dict[int, list[np.ndarray]] = {}
    skipped = set()
    for ci, c in enumerate(contours):
        gtype = str(c.get("ContourGeometricType", "CLOSED_PLANAR")).upper()
        if gtype != "CLOSED_PLANAR":
            skipped.add(gtype)
            continue
        data = np.asarray([float(v) for v in c.ContourData], dtype=float)
        if data.size == 0 or data.size % 3:
            raise InputError(f"{path}: ROI '{info.name}' contour {ci + 1} has {data.size} coordinates, not x,y,z "
                             "triplets")
        idx = geom.physical_to_index(data.reshape(-1, 3))  # (n, 3) as z, y, x
        kz = idx[:, 0]
        k = int(np.round(np.median(kz)))
        if np.abs(kz - kz.mean()).max() > _PLANE_TOL:
            raise GeometryError(f"{path}: ROI '{info.name}' contour {ci + 1} is not parallel to the slices of {src} "
                                f"(its slice index ranges {kz.min():.3f}..{kz.max():.3f})")
        if abs(kz.mean() - k) > 0.5 - _PLANE_TOL:
            log.warning("%s: ROI '%s' contour %d lies between slices (index %.3f); placed on slice %d", path,
                        info.name, ci + 1, kz.mean(), k)
        lo = idx.min(0)
        hi = idx.max(0)
        outside = (k < 0 or k >= nz or lo[1] < -_EDGE_TOL or lo[2] < -_EDGE_TOL or hi[1] > ny - 1 + _EDGE_TOL
                   or hi[2] > nx - 1 + _EDGE_TOL)
        if outside:
            if not allow_outside:
                z_mm = float(data[2])
                raise GeometryError(
                    f"{path}: ROI '{info.name}' contour {ci + 1} (z = {z_mm:.4g} mm, slice index {kz.mean():.2f}) "
                    f"extends outside {src}: voxel index range (z, y, x) {np.round(lo, 2).tolist()} .. "
                    f"{np.round(hi, 2).tolist()} vs image size {geom.shape}; pass allow_outside=True to clip")
            if k < 0 or k >= nz:
                continue
        by_slice.setdefault(k, []).append(idx[:, 1:])
    if skipped:
        log.info("%s: ROI '%s': skipped %s contours (only CLOSED_PLANAR are filled)", path, info.name, sorted(skipped))
    arr = rasterise_polygons(by_slice, geom.shape)
    if not arr.any():
        raise EmptyMaskError(f"{path}: ROI '{info.name}' covers no voxel centre of {src} "
                             f"({len(contours)} contour(s))")
    return Mask(arr, geom, f"{path}:{info.name}", label=info.number)


def read_rtstruct_all(path, image: Image | Geometry, **kwargs) -> dict[str, Mask]:
    """Every ROI with at least one closed contour, by name."""
    out = {}
    for r in list_rois(path):
        if "CLOSED_PLANAR" in r.geometric_types:
            out[r.name] = read_rtstruct(path, image, r.number, **kwargs)
    return out
