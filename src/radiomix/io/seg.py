"""DICOM-SEG through highdicom: binary and fractional segmentations, several (overlapping) segments, selection by
segment label or number.

Frames are placed on the image grid by their own geometry (PlanePositionSequence, PlaneOrientationSequence,
PixelMeasuresSequence), not by the referenced SOP instance UIDs, so a SEG made on a re-exported copy of a series
still fits. Every frame must lie on the image grid (same orientation and pixel spacing, a whole-voxel offset, inside
the image); otherwise the error names the frame. Overlapping segments stay separate masks: they are never
collapsed into one label map.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import highdicom as hd
import numpy as np

from radiomix.errors import EmptyMaskError, GeometryError, InputError
from radiomix.image import Geometry, Image, Mask
from radiomix.io.dicom import Frame, _functional_group, frames_of, sort_frames

_GRID_TOL = 1e-2  # voxels: how far a frame origin may sit from a whole voxel index
_DIR_TOL = 1e-4


@dataclass(frozen=True)
class SegmentInfo:
    number: int
    label: str
    description: str
    algorithm_type: str
    property_type: str


class _Seg:
    """A read SEG: highdicom object, frames with geometry, the segment number of each frame."""

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"{self.path}: SEG file not found")
        try:
            self.seg = hd.seg.segread(self.path)
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"{self.path}: cannot read as DICOM-SEG (truncated, corrupt or not a SEG?): "
                             f"{type(exc).__name__}: {exc}") from None
        self.frames: list[Frame] = frames_of(self.path, self.seg)
        self.segment_of_frame = []
        for i in range(len(self.frames)):
            sid = _functional_group(self.seg, i, "SegmentIdentificationSequence")
            if sid is None:
                raise InputError(f"{self.path} frame {i + 1}: no SegmentIdentificationSequence")
            self.segment_of_frame.append(int(sid.ReferencedSegmentNumber))
        self.segment_of_frame = np.asarray(self.segment_of_frame)
        self.fractional = self.seg.segmentation_type == hd.seg.SegmentationTypeValues.FRACTIONAL
        self.max_fraction = float(self.seg.get("MaximumFractionalValue", 1) or 1) if self.fractional else 1.0
        self._pixels = None

    @property
    def pixels(self) -> np.ndarray:
        if self._pixels is None:
            try:
                px = np.asarray(self.seg.pixel_array)
            except Exception as exc:  # noqa: BLE001
                raise InputError(f"{self.path}: cannot read the SEG pixel data (truncated file?): {exc}") from None
            if px.ndim == 2:
                px = px[np.newaxis]
            if px.shape[0] != len(self.frames):
                raise InputError(f"{self.path}: {px.shape[0]} frames of pixel data, {len(self.frames)} in the header")
            self._pixels = px
        return self._pixels

    def segments(self) -> list[SegmentInfo]:
        out = []
        for n in self.seg.get_segment_numbers():
            d = self.seg.get_segment_description(n)
            prop = d.get("SegmentedPropertyTypeCodeSequence")
            out.append(SegmentInfo(int(n), str(d.segment_label), str(d.get("SegmentDescription", "") or ""),
                                   str(d.get("SegmentAlgorithmType", "") or ""),
                                   str(prop[0].CodeMeaning) if prop else ""))
        return out

    def select(self, segment: int | str | None) -> SegmentInfo:
        segs = self.segments()
        listing = ", ".join(f"{s.number}: '{s.label}'" for s in segs)
        if segment is None:
            if len(segs) == 1:
                return segs[0]
            raise InputError(f"{self.path}: {len(segs)} segments ({listing}); choose one by label or number")
        if isinstance(segment, (int, np.integer)):
            hit = [s for s in segs if s.number == int(segment)]
        else:
            hit = [s for s in segs if s.label == segment] or \
                  [s for s in segs if s.label.strip().lower() == str(segment).strip().lower()]
        if len(hit) != 1:
            what = "no segment matches" if not hit else f"{len(hit)} segments match"
            raise InputError(f"{self.path}: {what} {segment!r}; segments: {listing}")
        return hit[0]


def list_segments(path) -> list[SegmentInfo]:
    """The segments of a DICOM-SEG: number, label, description, algorithm type, segmented property."""
    return _Seg(path).segments()


def _target(s: _Seg, image: Image | Geometry | None) -> tuple[Geometry, str]:
    if image is None:
        # the SEG's own grid: one plane per distinct frame position
        seen, uniq = set(), []
        for f in s.frames:
            key = tuple(np.round(f.position, 3))
            if key not in seen:
                seen.add(key)
                uniq.append(f)
        _, geom = sort_frames(uniq, str(s.path))
        return geom, f"the grid of {s.path}"
    if isinstance(image, Image):
        a, b = str(s.seg.get("FrameOfReferenceUID", "")), image.meta.get("frame_of_reference_uid")
        if a and b and a != b:
            raise GeometryError(f"{s.path}: SEG frame of reference {a} differs from that of {image.source} ({b})")
        return image.geometry, image.source
    return image, "the image grid"


def _place(s: _Seg, geom: Geometry, src: str, frame_ids) -> list[tuple[int, int, int, int]]:
    """For each frame: (frame id, slice k, row offset, column offset) on ``geom``; errors name the frame."""
    d = geom.direction
    dy, dx = geom.spacing[1], geom.spacing[2]
    nz, ny, nx = geom.shape
    out = []
    for i in frame_ids:
        f = s.frames[i]
        problems = []
        if np.abs(f.orientation[:3] - d[:, 0]).max() > _DIR_TOL or np.abs(f.orientation[3:] - d[:, 1]).max() > _DIR_TOL:
            problems.append(f"orientation {np.round(f.orientation, 5).tolist()} vs image "
                            f"{np.round(np.r_[d[:, 0], d[:, 1]], 5).tolist()}")
        if abs(f.pixel_spacing[0] - dy) > 1e-4 or abs(f.pixel_spacing[1] - dx) > 1e-4:
            problems.append(f"pixel spacing {f.pixel_spacing} vs image {(dy, dx)} mm")
        if not problems:
            idx = geom.physical_to_index(f.position)
            r = np.round(idx)
            if np.abs(idx - r).max() > _GRID_TOL:
                problems.append(f"position {np.round(f.position, 3).tolist()} mm falls between voxels of the image "
                                f"(index z, y, x {np.round(idx, 3).tolist()})")
            else:
                k, oy, ox = (int(v) for v in r)
                if not (0 <= k < nz and 0 <= oy and oy + f.rows <= ny and 0 <= ox and ox + f.columns <= nx):
                    problems.append(f"the frame ({f.rows} x {f.columns} at index z, y, x {k, oy, ox}) lies outside "
                                    f"the image {geom.shape}")
                else:
                    out.append((i, k, oy, ox))
        if problems:
            raise GeometryError(f"{f.where()} (segment {s.segment_of_frame[i]}) does not match {src}: "
                                + "; ".join(problems))
    return out


def _fractions(s: _Seg, geom: Geometry, src: str, number: int) -> np.ndarray:
    ids = np.flatnonzero(s.segment_of_frame == number)
    out = np.zeros(geom.shape, dtype=np.float32)
    px = s.pixels
    for i, k, oy, ox in _place(s, geom, src, ids):
        val = px[i].astype(np.float32) / np.float32(s.max_fraction)
        region = out[k, oy:oy + val.shape[0], ox:ox + val.shape[1]]
        np.maximum(region, val, out=region)  # a segment has at most one frame per plane; max is safe if repeated
    return out


def read_seg_fractions(path, image: Image | Geometry | None = None, segment: int | str | None = None) -> Image:
    """Segment ``segment`` as an image of fractions in [0, 1] (a BINARY SEG gives 0 and 1)."""
    s = _Seg(path)
    info = s.select(segment)
    geom, src = _target(s, image)
    return Image(_fractions(s, geom, src, info.number), geom, f"{s.path}:{info.label}",
                 {"segment_number": info.number, "segment_label": info.label,
                  "fractional_type": str(s.seg.get("SegmentationFractionalType", ""))})


def read_seg(path, image: Image | Geometry | None = None, segment: int | str | None = None, *,
             threshold: float = 0.5) -> Mask:
    """Segment ``segment`` (label or number; may be omitted when the SEG has one) as a :class:`Mask` on
    ``image``'s grid (``None``: the SEG's own grid). A FRACTIONAL SEG keeps voxels with fraction >= ``threshold``."""
    s = _Seg(path)
    info = s.select(segment)
    geom, src = _target(s, image)
    frac = _fractions(s, geom, src, info.number)
    arr = frac >= threshold if s.fractional else frac > 0
    if not arr.any():
        raise EmptyMaskError(f"{s.path}: segment {info.number} '{info.label}' is empty on {src}")
    return Mask(arr, geom, f"{s.path}:{info.label}", label=info.number)


def read_seg_segments(path, image: Image | Geometry | None = None, *, threshold: float = 0.5) -> dict[int, Mask]:
    """Every segment as its own mask (overlaps kept), by segment number. Empty segments are left out."""
    s = _Seg(path)
    geom, src = _target(s, image)
    out = {}
    for info in s.segments():
        frac = _fractions(s, geom, src, info.number)
        arr = frac >= threshold if s.fractional else frac > 0
        if arr.any():
            out[info.number] = Mask(arr, geom, f"{s.path}:{info.label}", label=info.number)
    return out
