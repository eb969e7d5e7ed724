"""Small synthetic DICOM files for tests, written with pydicom (and highdicom for SEG)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
PET_STORAGE = "1.2.840.10008.5.1.4.1.1.128"
MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
RTSTRUCT_STORAGE = "1.2.840.10008.5.1.4.1.1.481.3"
RTDOSE_STORAGE = "1.2.840.10008.5.1.4.1.1.481.2"
_SOP = {"CT": CT_STORAGE, "PT": PET_STORAGE, "MR": MR_STORAGE}


def _file_dataset(sop_class: str, sop_uid: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = generate_uid()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    return ds


def write_series(folder: Path, stored: np.ndarray, *, modality: str = "CT", spacing=(2.0, 0.5, 0.75),
                 origin=(-10.0, -20.0, 30.0), positions_mm=None, slopes=None, intercepts=None,
                 series_uid: str | None = None, study_uid: str | None = None, for_uid: str | None = None,
                 patient_id: str = "PAT-1", patient_name: str = "Doe^Jane", extra: dict | None = None,
                 shuffle: bool = True, names=None) -> dict:
    """Write ``stored`` (z, y, x int16) as an axial single-frame series. ``positions_mm``: z of each slice
    (default origin z + k * spacing z). Returns the UIDs and the file paths in slice order."""
    folder.mkdir(parents=True, exist_ok=True)
    nz, ny, nx = stored.shape
    series_uid = series_uid or generate_uid()
    study_uid = study_uid or generate_uid()
    for_uid = for_uid or generate_uid()
    z = positions_mm if positions_mm is not None else [origin[2] + k * spacing[0] for k in range(nz)]
    order = list(range(nz))
    if shuffle:
        random.Random(0).shuffle(order)
    paths, sops = [None] * nz, [None] * nz
    for n, k in enumerate(order):
        sop = generate_uid()
        ds = _file_dataset(_SOP.get(modality, CT_STORAGE), sop)
        ds.Modality = modality
        ds.PatientName = patient_name
        ds.PatientID = patient_id
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = for_uid
        ds.SeriesDescription = f"synthetic {modality}"
        ds.PatientBirthDate, ds.PatientSex = "", "O"
        ds.StudyDate, ds.StudyTime, ds.StudyID, ds.AccessionNumber = "20240101", "120000", "1", ""
        ds.ReferringPhysicianName = ""
        ds.SeriesNumber = 1
        ds.Manufacturer = "radiomix-tests"
        ds.InstanceNumber = n + 1
        ds.ImagePositionPatient = [origin[0], origin[1], float(z[k])]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [spacing[1], spacing[2]]
        ds.SliceThickness = spacing[0]
        ds.Rows, ds.Columns = ny, nx
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        if slopes is not None:
            ds.RescaleSlope = slopes[k]
        if intercepts is not None:
            ds.RescaleIntercept = intercepts[k]
        for key, v in (extra or {}).items():
            setattr(ds, key, v)
        ds.PixelData = np.ascontiguousarray(stored[k].astype(np.int16)).tobytes()
        name = names[k] if names is not None else f"img_{n:03d}"
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(p, enforce_file_format=True)
        paths[k], sops[k] = p, sop
    return {"series_uid": series_uid, "study_uid": study_uid, "for_uid": for_uid, "paths": paths, "sops": sops}


def write_rtstruct(path: Path, for_uid: str, rois: dict[str, list[np.ndarray]], *, patient_id="PAT-1") -> Path:
    """An RTSTRUCT with closed planar contours (each an (n, 3) array of x, y, z mm) per ROI name."""
    sop = generate_uid()
    ds = _file_dataset(RTSTRUCT_STORAGE, sop)
    ds.Modality = "RTSTRUCT"
    ds.PatientID = patient_id
    ds.PatientName = "Doe^Jane"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ref = Dataset()
    ref.FrameOfReferenceUID = for_uid
    ds.ReferencedFrameOfReferenceSequence = Sequence([ref])
    ss, rc_seq = [], []
    for num, (name, contours) in enumerate(rois.items(), start=1):
        r = Dataset()
        r.ROINumber = num
        r.ReferencedFrameOfReferenceUID = for_uid
        r.ROIName = name
        ss.append(r)
        rc = Dataset()
        rc.ReferencedROINumber = num
        cs = []
        for c in contours:
            item = Dataset()
            item.ContourGeometricType = "CLOSED_PLANAR"
            item.NumberOfContourPoints = len(c)
            item.ContourData = [f"{v:.6f}" for v in np.asarray(c, dtype=float).ravel()]
            cs.append(item)
        rc.ContourSequence = Sequence(cs)
        rc_seq.append(rc)
    ds.StructureSetROISequence = Sequence(ss)
    ds.ROIContourSequence = Sequence(rc_seq)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_rtdose(path: Path, stored: np.ndarray, *, scaling: float, spacing=(2.0, 1.0, 1.0),
                 origin=(0.0, 0.0, 0.0), for_uid: str | None = None) -> Path:
    """A multi-frame RTDOSE (uint32 stored values x DoseGridScaling = Gy) with relative GridFrameOffsetVector."""
    nz, ny, nx = stored.shape
    ds = _file_dataset(RTDOSE_STORAGE, generate_uid())
    ds.Modality = "RTDOSE"
    ds.PatientID = "PAT-1"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.FrameOfReferenceUID = for_uid or generate_uid()
    ds.ImagePositionPatient = list(origin)
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [spacing[1], spacing[2]]
    ds.Rows, ds.Columns, ds.NumberOfFrames = ny, nx, nz
    ds.FrameIncrementPointer = pydicom.tag.Tag(0x3004, 0x000C)
    ds.GridFrameOffsetVector = [k * spacing[0] for k in range(nz)]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 32, 32, 31, 0
    ds.DoseUnits, ds.DoseType, ds.DoseSummationType = "GY", "PHYSICAL", "PLAN"
    ds.DoseGridScaling = scaling
    ds.PixelData = np.ascontiguousarray(stored.astype(np.uint32)).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def write_seg(path: Path, image_paths, masks: dict[str, np.ndarray], *, fractional: bool = False) -> Path:
    """A DICOM-SEG made with highdicom on the given image files; ``masks``: label -> (z, y, x) array in the slice
    order of ``image_paths``."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    sources = [pydicom.dcmread(p) for p in image_paths]
    descs, arrays = [], []
    for n, (label, m) in enumerate(masks.items(), start=1):
        descs.append(hd.seg.SegmentDescription(
            segment_number=n, segment_label=label, segmented_property_category=codes.SCT.Tissue,
            segmented_property_type=codes.SCT.Tissue, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL))
        arrays.append(m)
    pixel = np.stack(arrays, axis=-1)  # (frames, rows, cols, segments)
    if fractional:
        pixel = pixel.astype(np.float32)
    else:
        pixel = pixel.astype(np.uint8)
    seg = hd.seg.Segmentation(
        source_images=sources, pixel_array=pixel,
        segmentation_type=(hd.seg.SegmentationTypeValues.FRACTIONAL if fractional
                           else hd.seg.SegmentationTypeValues.BINARY),
        segment_descriptions=descs, series_instance_uid=generate_uid(), series_number=99,
        sop_instance_uid=generate_uid(), instance_number=1, manufacturer="radiomix-tests",
        manufacturer_model_name="factory", software_versions="0", device_serial_number="0",
        omit_empty_frames=False)
    seg.save_as(path)
    return path
