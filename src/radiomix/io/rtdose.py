"""RTDOSE: a dose grid in Gy (DoseGridScaling applied, frames placed by GridFrameOffsetVector), optionally resampled
onto the grid of another image (a CT) with SimpleITK."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk
from pydicom.dataset import Dataset

from radiomix.errors import InputError
from radiomix.image import Geometry, Image


def dose_meta(ds: Dataset) -> dict:
    units = str(ds.get("DoseUnits", "") or "").upper()
    if units not in ("GY", ""):
        raise InputError(f"RTDOSE with DoseUnits '{units}': radiomix reads absolute dose in Gy only")
    if "DoseGridScaling" not in ds:
        raise InputError("RTDOSE without DoseGridScaling (3004,000E): the stored values cannot be turned into Gy")
    return {"units": "Gy", "dose_type": str(ds.get("DoseType", "")),
            "dose_summation_type": str(ds.get("DoseSummationType", "")),
            "dose_grid_scaling": float(ds.DoseGridScaling)}


def read_rtdose(path, reference: Image | Geometry | None = None, *, interpolation: str = "linear") -> Image:
    """Read an RTDOSE file as an image in Gy; with ``reference`` resample it onto that image's grid.

    ``interpolation``: "linear" (default) or "nearest". Voxels of the reference grid outside the dose grid get 0 Gy.
    The frame of reference must match when both carry one.
    """
    from radiomix.io.dicom import read_dicom_series

    path = Path(path)
    if path.is_dir():
        dose = read_dicom_series(path, modality="RTDOSE")
    else:
        dose = read_dicom_series([path])
    if dose.meta.get("modality") != "RTDOSE":
        raise InputError(f"{path}: modality {dose.meta.get('modality')}, not RTDOSE")
    if reference is None:
        return dose
    return resample_dose(dose, reference, interpolation=interpolation)


def resample_dose(dose: Image, reference: Image | Geometry, *, interpolation: str = "linear") -> Image:
    from radiomix.io.itk import geometry_to_sitk

    geom = reference.geometry if isinstance(reference, Image) else reference
    if isinstance(reference, Image):
        a, b = dose.meta.get("frame_of_reference_uid"), reference.meta.get("frame_of_reference_uid")
        if a and b and a != b:
            raise InputError(f"{dose.source}: RTDOSE frame of reference {a} differs from that of {reference.source} "
                             f"({b}); the dose cannot be placed on that grid")
    interp = {"linear": sitk.sitkLinear, "nearest": sitk.sitkNearestNeighbor}.get(interpolation)
    if interp is None:
        raise InputError(f"interpolation must be 'linear' or 'nearest', got '{interpolation}'")
    src = geometry_to_sitk(dose.array.astype(np.float64), dose.geometry)
    ref = geometry_to_sitk(np.zeros(geom.shape, dtype=np.uint8), geom)
    out = sitk.Resample(src, ref, sitk.Transform(), interp, 0.0, sitk.sitkFloat64)
    meta = {**dose.meta, "resampled_onto": getattr(reference, "source", "<geometry>")}
    return Image(sitk.GetArrayFromImage(out).astype(np.float32), geom, dose.source, meta)
