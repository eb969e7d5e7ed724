"""DICOM image series: discovery in a folder tree, slice sorting and checks, reading into an :class:`Image`.

* Discovery walks a folder tree of any depth and any file names. Files that are not DICOM are skipped after reading
  132 bytes; DICOM headers are read with ``stop_before_pixels``. Files are grouped by SeriesInstanceUID.
* Slices (or the frames of an Enhanced multi-frame object, or an RTDOSE grid) are sorted along the slice normal
  (ImageOrientationPatient row x column cosines, dotted with ImagePositionPatient). A volume is refused, with the
  files named, when slices are missing or irregular, when two volumes share one series, when the slices differ in
  size, orientation or pixel spacing, or when the stack is sheared (gantry tilt).
* RescaleSlope and RescaleIntercept are applied per slice (PET series carry a different slope on every slice).
* Modalities: CT in HU, MR as stored (sequence parameters in ``Image.meta``), PET in SUV (:mod:`radiomix.io.pet`),
  RTDOSE in Gy (:mod:`radiomix.io.rtdose`).

Conventions are those of :mod:`radiomix.image`: array (z, y, x), spacing (z, y, x) mm, origin (x, y, z) LPS mm of
voxel [0, 0, 0], direction columns = x, y, z index axes; here x = row direction cosine (along a row, increasing
column), y = column direction cosine, z = slice normal, the direction of increasing slice index.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from radiomix.errors import InputError
from radiomix.image import Geometry, Image

log = logging.getLogger(__name__)

RTSTRUCT_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.481.3"
SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"
RTDOSE_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.481.2"
_SEGMENTATION_MODALITIES = {"RTSTRUCT", "SEG"}
# objects that are never image volumes: plans, records, reports, presentation states, raw data, ...
_NON_IMAGE_MODALITIES = {"RTPLAN", "RTRECORD", "SR", "PR", "KO", "REG", "RAW", "RWV", "PLAN", "DOC", "FID"}

#: in-plane geometry (orientation cosines, pixel spacing) must agree to this between slices
ORIENTATION_TOL = 1e-4
#: relative tolerance on slice gaps before a series counts as irregular (1 % of the nominal spacing)
SPACING_RTOL = 0.01


# ------------------------------------------------------------------------------------------------ discovery
@dataclass
class DicomFile:
    """The header of one DICOM file (read without pixel data)."""

    path: Path
    ds: Dataset
    pixel_offset: int | None = None  # file offset of the (7FE0,0010) element, when the header read stopped there

    @property
    def modality(self) -> str:
        return str(self.ds.get("Modality", "") or "").upper()

    @property
    def sop_class_uid(self) -> str:
        return str(self.ds.get("SOPClassUID", "") or "")

    @property
    def series_uid(self) -> str:
        return str(self.ds.get("SeriesInstanceUID", "") or "")

    @property
    def kind(self) -> str:
        """'rtstruct', 'seg', 'image' (pixel rows and columns and a position) or 'other'."""
        m, sop = self.modality, self.sop_class_uid
        if m == "RTSTRUCT" or sop == RTSTRUCT_SOP_CLASS:
            return "rtstruct"
        if m == "SEG" or sop == SEG_SOP_CLASS:
            return "seg"
        if m in _NON_IMAGE_MODALITIES or "Rows" not in self.ds or "Columns" not in self.ds:
            return "other"
        return "image"


@dataclass
class DicomSeries:
    """The files of one SeriesInstanceUID."""

    uid: str
    files: list[DicomFile]

    @property
    def first(self) -> Dataset:
        return self.files[0].ds

    @property
    def modality(self) -> str:
        return self.files[0].modality

    @property
    def kind(self) -> str:
        return self.files[0].kind

    @property
    def description(self) -> str:
        return str(self.first.get("SeriesDescription", "") or "")

    @property
    def frame_of_reference_uid(self) -> str:
        return str(self.first.get("FrameOfReferenceUID", "") or "")

    def summary(self) -> str:
        d = f" '{self.description}'" if self.description else ""
        return f"{self.uid} ({self.modality}{d}, {len(self.files)} file(s), e.g. {self.files[0].path})"


@dataclass
class DicomFolder:
    """Everything :func:`scan_dicom` found: series by UID and the DICOM files whose headers could not be read."""

    series: dict[str, DicomSeries] = field(default_factory=dict)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    n_skipped: int = 0

    def image_series(self) -> list[DicomSeries]:
        return [s for s in self.series.values() if s.kind == "image"]

    def segmentations(self) -> list[DicomSeries]:
        return [s for s in self.series.values() if s.kind in ("rtstruct", "seg")]


def _iter_files(paths: Iterable[Path]) -> Iterable[Path]:
    for p in paths:
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for name in sorted(files):
                    yield Path(root) / name
        elif p.exists():
            yield p
        else:
            raise InputError(f"{p}: file or folder not found")


def _looks_like_dicom(path: Path) -> tuple[bool, bool]:
    """(is DICOM, needs force). Part 10 files carry 'DICM' at byte 128; raw data sets start with a group 2 or 8 tag."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False, False
    if len(head) == 132 and head[128:132] == b"DICM":
        return True, False
    if len(head) >= 8 and head[:2] in (b"\x02\x00", b"\x08\x00") and head[2:4] in (b"\x00\x00", b"\x05\x00",
                                                                                 b"\x08\x00", b"\x16\x00",
                                                                                 b"\x12\x00", b"\x18\x00"):
        return True, True
    return False, False


def read_header(path: Path, force: bool = False) -> tuple[Dataset, int | None]:
    """The header of one file without pixel data, and the file offset where the pixel data element starts (None
    when there is none); an :class:`InputError` naming the file when the header cannot be read."""
    try:
        with open(path, "rb") as fh:
            ds = pydicom.dcmread(fh, stop_before_pixels=True, force=force)
            pos = fh.tell()
            offset = pos if fh.read(4) == b"\xe0\x7f\x10\x00" else None
        return ds, offset
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError, NotImplementedError) as exc:
        raise InputError(f"{path}: cannot read the DICOM header (truncated or corrupt file?): {exc}") from None


def scan_dicom(folder_or_files) -> DicomFolder:
    """Find every DICOM file under ``folder_or_files`` (a folder, a file or a list of them) and group by series."""
    paths = [Path(folder_or_files)] if isinstance(folder_or_files, (str, os.PathLike)) else \
        [Path(p) for p in folder_or_files]
    out = DicomFolder()
    groups: dict[str, list[DicomFile]] = defaultdict(list)
    for f in _iter_files(paths):
        is_dcm, force = _looks_like_dicom(f)
        if not is_dcm:
            out.n_skipped += 1
            continue
        try:
            ds, offset = read_header(f, force=force)
        except InputError as exc:
            out.unreadable.append((f, str(exc)))
            continue
        if "SeriesInstanceUID" not in ds:
            if force:  # a random file that happened to start like a tag
                out.n_skipped += 1
            else:
                out.unreadable.append((f, f"{f}: DICOM file without SeriesInstanceUID"))
            continue
        groups[str(ds.SeriesInstanceUID)].append(DicomFile(f, ds, offset))
    for uid, files in groups.items():
        out.series[uid] = DicomSeries(uid, files)
    return out


# ------------------------------------------------------------------------------------------------ frames
@dataclass
class Frame:
    """One 2D plane of a volume: a single-frame file, or one frame of a multi-frame file."""

    path: Path
    index: int | None  # frame index in a multi-frame file, None for a single-frame file
    position: np.ndarray  # ImagePositionPatient (x, y, z) mm, centre of the first transmitted pixel
    orientation: np.ndarray  # ImageOrientationPatient: row cosines (3), column cosines (3)
    pixel_spacing: tuple[float, float]  # (between rows = y, between columns = x) mm
    rows: int
    columns: int
    slope: float = 1.0
    intercept: float = 0.0
    item: Dataset | None = None  # per-frame functional group item (multi-frame), for callers that need more
    header: Dataset | None = None  # the file's header, for reading native pixel data directly
    pixel_offset: int | None = None

    def where(self) -> str:
        return f"{self.path}" if self.index is None else f"{self.path} frame {self.index + 1}"


def _floats(value, n: int, what: str, where: str) -> np.ndarray:
    try:
        arr = np.asarray([float(v) for v in value], dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{where}: {what} is not numeric: {value!r}") from None
    if arr.size != n or not np.all(np.isfinite(arr)):
        raise InputError(f"{where}: {what} must have {n} finite values, got {value!r}")
    return arr


def _functional_group(ds: Dataset, i: int, name: str) -> Dataset | None:
    per = ds.get("PerFrameFunctionalGroupsSequence")
    if per is not None and i < len(per):
        seq = per[i].get(name)
        if seq:
            return seq[0]
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        seq = shared[0].get(name)
        if seq:
            return seq[0]
    return None


def frames_of(path: Path, ds: Dataset) -> list[Frame]:
    """The planes of one file with their geometry and rescale, without pixel data."""
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    if rows <= 0 or cols <= 0:
        raise InputError(f"{path}: no pixel rows/columns: not an image")
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    modality = str(ds.get("Modality", "")).upper()
    if "PerFrameFunctionalGroupsSequence" in ds:  # Enhanced CT/MR/PET, SEG, legacy converted
        out = []
        for i in range(n_frames):
            where = f"{path} frame {i + 1}"
            pp = _functional_group(ds, i, "PlanePositionSequence")
            po = _functional_group(ds, i, "PlaneOrientationSequence")
            pm = _functional_group(ds, i, "PixelMeasuresSequence")
            missing = [n for n, v in (("PlanePositionSequence", pp), ("PlaneOrientationSequence", po),
                                      ("PixelMeasuresSequence", pm)) if v is None]
            if missing:
                raise InputError(f"{where}: multi-frame object lacks {', '.join(missing)}")
            pvt = _functional_group(ds, i, "PixelValueTransformationSequence")
            slope = float(pvt.get("RescaleSlope", 1.0)) if pvt is not None else float(ds.get("RescaleSlope", 1.0))
            icpt = float(pvt.get("RescaleIntercept", 0.0)) if pvt is not None else \
                float(ds.get("RescaleIntercept", 0.0))
            ps = _floats(pm.get("PixelSpacing"), 2, "PixelSpacing", where)
            out.append(Frame(path, i, _floats(pp.get("ImagePositionPatient"), 3, "ImagePositionPatient", where),
                             _floats(po.get("ImageOrientationPatient"), 6, "ImageOrientationPatient", where),
                             (float(ps[0]), float(ps[1])), rows, cols, slope, icpt,
                             ds.PerFrameFunctionalGroupsSequence[i]))
        return out
    where = str(path)
    missing = [t for t in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing") if t not in ds]
    if missing:
        raise InputError(f"{where}: {modality or 'image'} without {', '.join(missing)}: no 3D geometry, so it "
                         "cannot be placed in a volume")
    ipp = _floats(ds.ImagePositionPatient, 3, "ImagePositionPatient", where)
    iop = _floats(ds.ImageOrientationPatient, 6, "ImageOrientationPatient", where)
    ps = _floats(ds.PixelSpacing, 2, "PixelSpacing", where)
    slope = float(ds.get("RescaleSlope", 1.0) or 1.0) if "RescaleSlope" in ds else 1.0
    icpt = float(ds.get("RescaleIntercept", 0.0) or 0.0)
    if modality == "RTDOSE" or "GridFrameOffsetVector" in ds:
        if "DoseGridScaling" in ds:
            slope = float(ds.DoseGridScaling)
        if n_frames == 1 and "GridFrameOffsetVector" not in ds:
            return [Frame(path, None, ipp, iop, (float(ps[0]), float(ps[1])), rows, cols, slope, icpt)]
        offsets = np.asarray([float(v) for v in ds.get("GridFrameOffsetVector") or []], dtype=float)
        if offsets.size != n_frames:
            raise InputError(f"{where}: GridFrameOffsetVector has {offsets.size} values for {n_frames} frames")
        normal = np.cross(iop[:3], iop[3:])
        if offsets[0] != 0.0 and abs(offsets[0] - float(ipp @ normal)) < 1e-3:
            offsets = offsets - offsets[0]  # absolute positions along the normal (allowed by older writers)
        elif offsets[0] != 0.0:
            raise InputError(f"{where}: GridFrameOffsetVector starts at {offsets[0]} mm: neither 0 (relative "
                             "offsets) nor the position of the first frame (absolute)")
        return [Frame(path, i, ipp + o * normal, iop, (float(ps[0]), float(ps[1])), rows, cols, slope, icpt)
                for i, o in enumerate(offsets)]
    if n_frames > 1:
        raise InputError(f"{where}: multi-frame {modality} object without per-frame positions "
                         "(no functional groups, no GridFrameOffsetVector): cannot build a volume")
    return [Frame(path, None, ipp, iop, (float(ps[0]), float(ps[1])), rows, cols, slope, icpt)]


def sort_frames(frames: Sequence[Frame], source: str) -> tuple[list[Frame], Geometry]:
    """Sort planes along the slice normal, check that they form one regular volume, and return its geometry."""
    if not frames:
        raise InputError(f"{source}: no image slices")
    f0 = frames[0]
    for f in frames[1:]:
        if (f.rows, f.columns) != (f0.rows, f0.columns):
            raise InputError(f"{source}: slices differ in size: {f0.rows}x{f0.columns} ({f0.where()}) vs "
                             f"{f.rows}x{f.columns} ({f.where()}); the series holds more than one image stack")
        if np.abs(f.orientation - f0.orientation).max() > ORIENTATION_TOL:
            raise InputError(f"{source}: slices differ in orientation: {f0.orientation.round(5).tolist()} "
                             f"({f0.where()}) vs {f.orientation.round(5).tolist()} ({f.where()})")
        if np.abs(np.subtract(f.pixel_spacing, f0.pixel_spacing)).max() > ORIENTATION_TOL:
            raise InputError(f"{source}: slices differ in pixel spacing: {f0.pixel_spacing} ({f0.where()}) vs "
                             f"{f.pixel_spacing} ({f.where()})")
    row, col = f0.orientation[:3], f0.orientation[3:]
    nr, nc = np.linalg.norm(row), np.linalg.norm(col)
    if abs(nr - 1) > 1e-3 or abs(nc - 1) > 1e-3 or abs(row @ col) > 1e-3:
        raise InputError(f"{source}: ImageOrientationPatient {f0.orientation.tolist()} is not two orthonormal "
                         "vectors")
    row, col = row / nr, col / nc
    normal = np.cross(row, col)
    pos = np.asarray([f.position @ normal for f in frames])
    order = np.argsort(pos, kind="stable")
    frames = [frames[i] for i in order]
    pos = pos[order]
    dy, dx = f0.pixel_spacing
    if len(frames) == 1:
        ds = f0.header
        if ds is None:
            try:
                ds = pydicom.dcmread(f0.path, stop_before_pixels=True,
                                     specific_tags=["SpacingBetweenSlices", "SliceThickness"])
            except Exception as exc:  # noqa: BLE001 - only used for a default slice thickness
                log.debug("%s: no slice thickness (%s); using 1 mm", f0.path, exc)
        dz = 1.0
        for tag in ("SpacingBetweenSlices", "SliceThickness"):
            v = ds.get(tag) if ds is not None else None
            if v not in (None, "") and float(v) > 0:
                dz = float(v)
                break
    else:
        gaps = np.diff(pos)
        dup = np.flatnonzero(gaps < 1e-3)
        if dup.size:
            i = int(dup[0])
            n_same = int(np.sum(np.abs(pos - pos[i]) < 1e-3))
            raise InputError(
                f"{source}: {n_same} slices share the position {pos[i]:.4g} mm along the slice normal "
                f"({frames[i].where()}, {frames[i + 1].where()}): the series holds more than one volume (echoes, "
                "time points, repeated acquisitions or duplicate files); select the files of one volume")
        dz = float(np.median(gaps))
        bad = np.flatnonzero(np.abs(gaps - dz) > SPACING_RTOL * dz)
        if bad.size:
            msgs = []
            for i in bad[:5]:
                g = gaps[i]
                k = g / dz
                hint = f"; about {round(k) - 1} slice(s) missing" if k > 1.5 and abs(k - round(k)) < 0.1 else ""
                msgs.append(f"gap of {g:.4g} mm between slice positions {pos[i]:.4g} and {pos[i + 1]:.4g} mm "
                            f"({frames[i].where()} -> {frames[i + 1].where()}){hint}")
            more = f" and {bad.size - 5} more" if bad.size > 5 else ""
            raise InputError(f"{source}: irregular slice spacing (nominal {dz:.4g} mm): " + "; ".join(msgs) + more)
        # a sheared stack (gantry tilt): slice origins do not move along the normal
        inplane = np.asarray([(f.position - f0.position) - ((f.position - f0.position) @ normal) * normal
                              for f in frames])
        shift = np.linalg.norm(inplane - inplane[0], axis=1).max()
        if shift > 0.1 * min(dx, dy):
            raise InputError(f"{source}: slice positions drift by {shift:.3g} mm across the slice plane (gantry "
                             "tilt or sheared stack); radiomix reads only stacks that are orthogonal to the slices")
    direction = np.column_stack([row, col, normal])
    geom = Geometry((len(frames), f0.rows, f0.columns), (dz, dy, dx), tuple(frames[0].position), direction)
    return frames, geom


# ------------------------------------------------------------------------------------------------ pixel data
def _read_pixels(path: Path) -> tuple[Dataset, np.ndarray]:
    try:
        ds = pydicom.dcmread(path, force=True)
        if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
            raise InputError(f"{path}: no pixel data")
        arr = ds.pixel_array
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure is reported with the file name
        raise InputError(f"{path}: cannot read the pixel data (truncated file, or a compressed transfer syntax "
                         f"with no installed decoder?): {type(exc).__name__}: {exc}") from None
    if int(ds.get("SamplesPerPixel", 1) or 1) != 1:
        raise InputError(f"{path}: colour image ({ds.get('PhotometricInterpretation')}); radiomix needs greyscale")
    return ds, arr


_NATIVE_LE = {"1.2.840.10008.1.2": False, "1.2.840.10008.1.2.1": True}  # transfer syntax -> explicit VR


def _read_native(path: Path, ds: Dataset, offset: int) -> np.ndarray | None:
    """Uncompressed little-endian pixel data read straight from the file (None: let pydicom decode it)."""
    ts = str(getattr(getattr(ds, "file_meta", None), "get", lambda *_: None)("TransferSyntaxUID") or "")
    if ts not in _NATIVE_LE:
        return None
    bits = int(ds.get("BitsAllocated", 0) or 0)
    stored = int(ds.get("BitsStored", bits) or bits)
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    if bits not in (8, 16, 32) or int(ds.get("SamplesPerPixel", 1) or 1) != 1 or not 0 < stored <= bits:
        return None
    rows, cols, n = int(ds.Rows), int(ds.Columns), int(ds.get("NumberOfFrames", 1) or 1)
    dtype = np.dtype(f"<{'i' if signed else 'u'}{bits // 8}")
    expected = rows * cols * n * dtype.itemsize
    with open(path, "rb") as fh:
        fh.seek(offset + 4)
        if _NATIVE_LE[ts]:
            vr = fh.read(4)[:2]
            if vr not in (b"OB", b"OW", b"UN"):
                return None
        length = int.from_bytes(fh.read(4), "little")
        if length == 0xFFFFFFFF:
            return None
        data = fh.read(expected)
    if length < expected or len(data) < expected:
        raise InputError(f"{path}: truncated pixel data: {len(data) if length >= expected else length} bytes, "
                         f"{expected} expected for {n} frame(s) of {rows} x {cols} at {bits} bits")
    arr = np.frombuffer(data, dtype=dtype).reshape((n, rows, cols) if n > 1 else (rows, cols))
    if stored < bits:  # keep BitsStored bits, sign-extended for signed data
        shift = bits - stored
        arr = (arr << shift) >> shift if signed else arr & dtype.type((1 << stored) - 1)
    return arr


def _planes(frames: Sequence[Frame]) -> list[np.ndarray]:
    """The stored pixel values of each plane (views into each file's pixel data; a multi-frame file is read once).
    Single-frame files are read in a few threads: file reads and decoders release the GIL."""
    from concurrent.futures import ThreadPoolExecutor

    def load(f: Frame) -> np.ndarray:
        arr = None
        if f.header is not None and f.pixel_offset is not None:
            arr = _read_native(f.path, f.header, f.pixel_offset)
        if arr is None:
            _, arr = _read_pixels(f.path)
        return arr

    first = {}
    for f in frames:
        first.setdefault(f.path, f)
    if len(first) > 8:
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            by_path = dict(zip(first, pool.map(load, first.values())))
    else:
        by_path = {p: load(f) for p, f in first.items()}
    out = []
    for f in frames:
        arr = by_path[f.path]
        if f.index is not None and arr.ndim == 2 and f.index > 0:
            raise InputError(f"{f.where()}: the file holds one frame of pixel data, the header lists more")
        plane = arr if f.index is None else (arr[f.index] if arr.ndim == 3 else arr)
        if plane.shape != (f.rows, f.columns):
            raise InputError(f"{f.where()}: pixel data shape {plane.shape} does not match Rows x Columns "
                             f"{f.rows} x {f.columns}")
        out.append(plane)
    return out


def read_frames(frames: Sequence[Frame], source: str) -> np.ndarray:
    """Pixel values of sorted planes as a (z, y, x) array with each plane's slope and intercept applied.

    The result is int16/int32 when every slope and intercept is an integer (CT in HU stays exact and compact; the
    type is the smallest that holds the rescaled values, chosen from each plane's range before the volume is
    filled, so no int64 volume is ever made), float64 otherwise.
    """
    slopes = np.asarray([f.slope for f in frames])
    icpts = np.asarray([f.intercept for f in frames])
    integer = bool(np.all(slopes == np.round(slopes)) and np.all(icpts == np.round(icpts)))
    planes = _planes(frames)
    shape = (len(frames), frames[0].rows, frames[0].columns)
    if not integer:
        out = np.empty(shape, dtype=np.float64)
        for k, (f, plane) in enumerate(zip(frames, planes)):
            np.multiply(plane, f.slope, out=out[k], dtype=np.float64)
            out[k] += f.intercept
        return out
    lo = hi = 0
    for k, (f, plane) in enumerate(zip(frames, planes)):
        a, b = (int(plane.min()) * int(f.slope), int(plane.max()) * int(f.slope)) if plane.size else (0, 0)
        a, b = min(a, b) + int(f.intercept), max(a, b) + int(f.intercept)
        lo, hi = (a, b) if k == 0 else (min(lo, a), max(hi, b))
    dtype = next((dt for dt in (np.int16, np.int32) if np.iinfo(dt).min <= lo and hi <= np.iinfo(dt).max), np.int64)
    out = np.empty(shape, dtype=dtype)
    for k, (f, plane) in enumerate(zip(frames, planes)):
        slope, icpt = int(f.slope), int(f.intercept)
        if slope == 1 and np.can_cast(plane.dtype, dtype):
            np.add(plane, icpt, out=out[k], dtype=dtype, casting="unsafe")  # the range check above holds it
        else:
            tmp = plane.astype(np.int64)  # one plane: intermediate products never overflow
            tmp *= slope
            tmp += icpt
            out[k] = tmp
    return out


# ------------------------------------------------------------------------------------------------ reading
_MR_KEYS = ("SeriesDescription", "ProtocolName", "SequenceName", "ScanningSequence", "SequenceVariant", "ScanOptions",
            "MRAcquisitionType", "RepetitionTime", "EchoTime", "InversionTime", "FlipAngle", "EchoTrainLength",
            "MagneticFieldStrength", "ImagingFrequency", "PixelBandwidth", "SliceThickness", "Manufacturer",
            "ManufacturerModelName", "ContrastBolusAgent", "DiffusionBValue")
_COMMON_KEYS = ("SeriesDescription", "Manufacturer", "ManufacturerModelName", "SliceThickness", "KVP",
                "ConvolutionKernel", "BodyPartExamined")


def _jsonable(v):
    if isinstance(v, (pydicom.multival.MultiValue, list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (pydicom.valuerep.DSfloat, pydicom.valuerep.DSdecimal, float)):
        return float(v)
    if isinstance(v, (pydicom.valuerep.IS, int)):
        return int(v)
    return str(v)


def _meta(ds: Dataset, keys) -> dict:
    return {k: _jsonable(ds.get(k)) for k in keys if k in ds and ds.get(k) not in (None, "")}


def select_series(found: DicomFolder, source: str, series_uid: str | None = None,
                  modality: str | None = None) -> DicomSeries:
    """The one image series to read; errors list what the folder holds."""
    images = found.image_series()
    if series_uid is not None:
        if series_uid in found.series:
            s = found.series[series_uid]
            if s.kind != "image":
                raise InputError(f"{source}: series {series_uid} is a {s.modality} object, not an image series")
            return s
        listing = "; ".join(s.summary() for s in images) or "none"
        raise InputError(f"{source}: no series {series_uid}; image series found: {listing}")
    if modality is not None:
        images = [s for s in images if s.modality == modality.upper()]
    if len(images) == 1:
        return images[0]
    what = f" {modality.upper()}" if modality else ""
    if not images:
        others = "; ".join(s.summary() for s in found.series.values()) or "no DICOM files"
        unread = f"; {len(found.unreadable)} unreadable DICOM file(s), e.g. {found.unreadable[0][1]}" \
            if found.unreadable else ""
        raise InputError(f"{source}: no{what} image series found ({others}){unread}")
    listing = "\n  ".join(s.summary() for s in images)
    raise InputError(f"{source}: {len(images)}{what} image series found; choose one with series_uid=...:\n  {listing}")


def read_dicom_series(folder_or_files, series_uid: str | None = None, *, modality: str | None = None,
                      suv: str | None = "bw") -> Image:
    """Read one DICOM image series into an :class:`Image`.

    ``folder_or_files``: a folder (searched at any depth), one file, or a list of files. When it holds several image
    series choose one with ``series_uid`` (or ``modality``, when that is unique); the error lists them.

    Values: CT in HU (rescale applied per slice), MR as stored, PET converted to SUV (``suv``: "bw" body weight,
    "bsa", "lbm"; ``None`` keeps the stored activity concentration; a PET already in SUV (Units GML) is not
    converted again), RTDOSE in Gy. ``Image.meta`` holds the modality, UIDs, frame of reference, series
    description, acquisition parameters (MR sequence parameters) and the SOPInstanceUID of each slice, never
    patient identifiers.
    """
    source = str(folder_or_files) if isinstance(folder_or_files, (str, os.PathLike)) else \
        f"{len(list(folder_or_files))} DICOM files"
    found = scan_dicom(folder_or_files)
    series = select_series(found, source, series_uid, modality)
    if found.unreadable:
        # a file we could not read might be a slice of this series: refuse rather than return a volume with a hole
        listing = "; ".join(msg for _, msg in found.unreadable[:5])
        raise InputError(f"{source}: {len(found.unreadable)} DICOM file(s) cannot be read, so series "
                         f"{series.uid} may be incomplete: {listing}")
    frames: list[Frame] = []
    for f in series.files:
        for fr in frames_of(f.path, f.ds):
            fr.header, fr.pixel_offset = f.ds, f.pixel_offset
            frames.append(fr)
    src = f"{source} (series {series.uid})"
    frames, geom = sort_frames(frames, src)
    array = read_frames(frames, src)
    ds0 = series.first
    sop_of = {f.path: str(f.ds.get("SOPInstanceUID", "")) for f in series.files}
    meta = {
        "modality": series.modality,
        "series_instance_uid": series.uid,
        "study_instance_uid": str(ds0.get("StudyInstanceUID", "")),
        "frame_of_reference_uid": str(ds0.get("FrameOfReferenceUID", "")),
        "sop_instance_uids": [sop_of[f.path] for f in frames],
        "n_files": len(series.files),
        **_meta(ds0, _MR_KEYS if series.modality == "MR" else _COMMON_KEYS),
    }
    if series.modality == "CT":
        meta["units"] = "HU"
        if "PixelPaddingValue" in ds0:
            meta["pixel_padding_value"] = float(ds0.PixelPaddingValue) * frames[0].slope + frames[0].intercept
    image = Image(array, geom, src, meta)
    if series.modality == "PT":
        from radiomix.io.pet import convert_pet

        image = convert_pet(image, ds0, suv, source=str(series.files[0].path))
    elif series.modality == "RTDOSE":
        from radiomix.io.rtdose import dose_meta

        image = Image(image.array.astype(np.float32, copy=False), geom, src, {**meta, **dose_meta(ds0)})
    elif array.dtype == np.float64:
        image = Image(array.astype(np.float32), geom, src, meta)
    return image


# ------------------------------------------------------------------------------------------------ listing
@dataclass(frozen=True)
class SeriesListing:
    """One image series as :func:`list_dicom` reports it. ``patient`` and ``study`` are pseudonyms unless the
    caller asked to keep identifiers."""

    patient: str
    study: str
    series_uid: str
    modality: str
    description: str
    n_files: int
    size: tuple[int, int, int] | None  # (z, y, x) voxels
    spacing: tuple[float, float, float] | None  # (z, y, x) mm
    frame_of_reference_uid: str
    segmentations: tuple[str, ...]
    problem: str = ""

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _referenced_series(ds: Dataset) -> set[str]:
    out = set()
    for fr in ds.get("ReferencedFrameOfReferenceSequence", []) or []:
        for st in fr.get("RTReferencedStudySequence", []) or []:
            for se in st.get("RTReferencedSeriesSequence", []) or []:
                out.add(str(se.get("SeriesInstanceUID", "")))
    for se in ds.get("ReferencedSeriesSequence", []) or []:
        out.add(str(se.get("SeriesInstanceUID", "")))
    out.discard("")
    return out


def _frame_of_reference(ds: Dataset) -> set[str]:
    out = {str(ds.FrameOfReferenceUID)} if "FrameOfReferenceUID" in ds else set()
    for fr in ds.get("ReferencedFrameOfReferenceSequence", []) or []:
        if "FrameOfReferenceUID" in fr:
            out.add(str(fr.FrameOfReferenceUID))
    return out


def series_segmentations(found: DicomFolder) -> dict[str, list[tuple[DicomSeries, bool]]]:
    """The RTSTRUCT/SEG objects that belong to each image series: image series UID -> [(segmentation, by_frame)].

    A segmentation belongs to the series it references by SeriesInstanceUID; one that references none of the image
    series found belongs, by frame of reference (``by_frame`` true), to the image series sharing its frame of
    reference, preferring those of its own study."""
    images = found.image_series()
    links: dict[str, list[tuple[DicomSeries, bool]]] = defaultdict(list)
    for seg in found.segmentations():
        refs = _referenced_series(seg.first) & {s.uid for s in images}
        if refs:
            for r in sorted(refs):
                links[r].append((seg, False))
            continue
        fors = _frame_of_reference(seg.first)
        same_for = [s for s in images if s.frame_of_reference_uid in fors]
        study = str(seg.first.get("StudyInstanceUID", "") or "")
        same_study = [s for s in same_for if str(s.first.get("StudyInstanceUID", "") or "") == study]
        candidates = same_study or same_for
        classes = _referenced_sop_classes(seg.first)  # e.g. contours drawn on CT images: not the PET of that frame
        candidates = [s for s in candidates if str(s.first.get("SOPClassUID", "")) in classes] or candidates
        for s in candidates:
            links[s.uid].append((seg, True))
    return links


def _referenced_sop_classes(ds: Dataset) -> set[str]:
    """SOP classes of the images an RTSTRUCT or SEG says it was drawn on (ContourImageSequence,
    ReferencedInstanceSequence), even when their instance UIDs are not in the folder."""
    items = []
    for fr in ds.get("ReferencedFrameOfReferenceSequence", []) or []:
        for st in fr.get("RTReferencedStudySequence", []) or []:
            for se in st.get("RTReferencedSeriesSequence", []) or []:
                items += list(se.get("ContourImageSequence", []) or [])
    for se in ds.get("ReferencedSeriesSequence", []) or []:
        items += list(se.get("ReferencedInstanceSequence", []) or [])
    if not items:
        for rc in ds.get("ROIContourSequence", []) or []:
            for c in rc.get("ContourSequence", []) or []:
                items += list(c.get("ContourImageSequence", []) or [])
    return {str(i.get("ReferencedSOPClassUID", "")) for i in items} - {""}


def _segmentation_label(s: DicomSeries) -> str:
    ds = s.first
    if s.kind == "rtstruct":
        names = [str(r.get("ROIName", "")) for r in ds.get("StructureSetROISequence", []) or []]
    else:
        names = [str(x.get("SegmentLabel", "")) for x in ds.get("SegmentSequence", []) or []]
    shown = ", ".join(names[:6]) + (f", +{len(names) - 6}" if len(names) > 6 else "")
    return f"{s.modality}: {shown}" if shown else s.modality


def list_dicom(folder, *, key: bytes | str | None = None, keep_identifiers: bool = False) -> list[SeriesListing]:
    """Every image series under ``folder``: patient, study, series, modality, size, spacing and the RTSTRUCT/SEG
    objects that reference it (by series UID, else by frame of reference, marked ``~``).

    Patient and study are shown as keyed pseudonyms (:mod:`radiomix.io.pseudonym`; ``key=None`` loads or creates
    the project key) unless ``keep_identifiers`` is true, which shows PatientID and StudyInstanceUID.
    """
    from radiomix.io.pseudonym import load_or_create_key, pseudonym

    found = scan_dicom(folder)
    if not keep_identifiers and key is None:
        key = load_or_create_key()
    images = found.image_series()
    links = {uid: [("~" if by_frame else "") + _segmentation_label(seg) for seg, by_frame in segs]
             for uid, segs in series_segmentations(found).items()}
    out = []
    for s in images:
        ds = s.first
        pid, study = str(ds.get("PatientID", "") or ""), str(ds.get("StudyInstanceUID", "") or "")
        if keep_identifiers:
            patient, study_shown = pid, study
        else:
            patient, study_shown = pseudonym(key, pid), pseudonym(key, pid, study, prefix="S")
        size = spacing = None
        problem = ""
        try:
            frames = [fr for f in s.files for fr in frames_of(f.path, f.ds)]
            _, geom = sort_frames(frames, s.uid)
            size, spacing = geom.shape, tuple(round(v, 6) for v in geom.spacing)
        except InputError as exc:
            problem = str(exc).replace(s.uid + ": ", "")
        out.append(SeriesListing(patient, study_shown, s.uid, s.modality, s.description, len(s.files), size,
                                 spacing, s.frame_of_reference_uid, tuple(links.get(s.uid, ())), problem))
    out.sort(key=lambda r: (r.patient, r.study, r.modality, r.series_uid))
    return out
