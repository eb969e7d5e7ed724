"""Readers and writers. ``read_image``/``read_mask`` dispatch on the path: ITK formats (NIfTI, NRRD, MHA), ``.npy``,
a DICOM series (a folder or ``.dcm`` files) and DICOM RTSTRUCT / SEG masks (rasterised on the image's grid)."""

from __future__ import annotations

import importlib
from pathlib import Path

from radiomix.errors import InputError
from radiomix.image import Geometry, Image, Mask
from radiomix.io import itk
from radiomix.io.itk import write_image, write_mask

#: names re-exported from submodules, imported on first use (PEP 562): reading a NIfTI never loads pydicom/highdicom
_LAZY = {
    "list_dicom": "radiomix.io.dicom",
    "read_dicom_series": "radiomix.io.dicom",
    "aggregate_lesions": "radiomix.io.lesions",
    "split_lesions": "radiomix.io.lesions",
    "read_rtdose": "radiomix.io.rtdose",
    "list_rois": "radiomix.io.rtstruct",
    "read_rtstruct": "radiomix.io.rtstruct",
    "list_segments": "radiomix.io.seg",
    "read_seg": "radiomix.io.seg",
    "read_seg_segments": "radiomix.io.seg",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'radiomix.io' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def _is_dicom_file(path: Path) -> bool:
    if path.suffix.lower() in (".dcm", ".dicom", ".ima"):
        return True
    if path.is_file() and not any(path.name.lower().endswith(s) for s in (*itk.ITK_SUFFIXES, ".npy")):
        with open(path, "rb") as f:
            return f.read(132)[128:132] == b"DICM"
    return False


#: compressed image files (``.gz``) from this size decompress for ~0.1 s or more (without the GIL: libdeflate or zlib
#: in the native NIfTI reader, or SimpleITK; the 30 MB medium phantom reads in 0.12-0.26 s)
WARM_UP_MIN_GZ_BYTES = 16 << 20
#: uncompressed image files from this size take as long to read from the page cache
WARM_UP_MIN_BYTES = 256 << 20


def _long_gil_free_read(p: Path) -> bool:
    """Whether reading the ITK file ``p`` takes long enough, without the GIL, to hide numba's ~0.2 s start behind it.
    Shorter reads gain nothing: the two threads would take turns instead (the IBSI CT phantom, 3.9 MB, reads in
    0.05 s). Not asked for DICOM series: pydicom parses them in Python, holding the GIL."""
    try:
        size = p.stat().st_size
    except OSError:
        return False
    return size >= (WARM_UP_MIN_GZ_BYTES if p.name.lower().endswith(".gz") else WARM_UP_MIN_BYTES)


def read_image(path, spacing=None, *, series_uid: str | None = None, suv: str | None = "bw") -> Image:
    """Read an image: an ITK file, a ``.npy`` array (needs ``spacing`` (z, y, x) mm), or a DICOM series (a folder, or a
    ``.dcm`` file of the series; ``series_uid`` picks one when the folder holds several; PET becomes SUV).

    Reading a large compressed file starts numba's runtime (or loads the ahead-of-time kernels) on a background
    thread meanwhile (:func:`radiomix.kernels.start_runtime_warm_up`)."""
    p = Path(path)
    dicom = p.is_dir() or _is_dicom_file(p)
    if not dicom and _long_gil_free_read(p):
        from radiomix.kernels import start_runtime_warm_up

        start_runtime_warm_up()
    if dicom:
        if not p.exists():
            raise InputError(f"{p}: image file not found")
        from radiomix.io.dicom import read_dicom_series

        return read_dicom_series(p.parent if p.is_file() else p, series_uid, suv=suv)
    return itk.read_image(p, spacing)


def read_mask(path, label: int | None = None, spacing=None, *, image: Image | Geometry | None = None,
              roi: str | int | None = None) -> Mask:
    """Read a mask: a label map file (``label`` selects one label), or a DICOM RTSTRUCT / SEG file rasterised on
    ``image``'s grid (``roi``: the RTSTRUCT ROI name or number, or the SEG segment label or number; ``label`` is
    accepted as the segment number too).

    A mask whose ROI is large enough for Moran's I to need SciPy's FFT imports it here
    (:func:`radiomix.kernels.moran_kernels.prefetch_fft`), not in the first extraction."""
    mask = _read_mask(Path(path), label, spacing, image, roi)
    from radiomix.kernels.moran_kernels import prefetch_fft

    prefetch_fft(mask.array)
    return mask


def _read_mask(p: Path, label, spacing, image, roi) -> Mask:
    if _is_dicom_file(p):
        import pydicom

        from radiomix.io.rtstruct import list_rois, read_rtstruct
        from radiomix.io.seg import read_seg

        if not p.exists():
            raise InputError(f"{p}: mask file not found")
        try:
            modality = pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["Modality"]).get("Modality", "")
        except Exception as exc:  # noqa: BLE001 - any parse failure is a corrupt file
            raise InputError(f"{p}: cannot read DICOM mask file: {exc}") from None
        which = roi if roi is not None else label
        if modality == "RTSTRUCT":
            if image is None:
                raise InputError(f"{p}: an RTSTRUCT needs the image it was drawn on (image=...)")
            if which is None:
                names = [r.name for r in list_rois(p)]
                if len(names) != 1:
                    raise InputError(f"{p}: RTSTRUCT holds ROIs {names}; choose one with roi=NAME")
                which = names[0]
            return read_rtstruct(p, image, which)
        if modality == "SEG":
            return read_seg(p, image, which)
        raise InputError(f"{p}: DICOM modality {modality!r} is not a mask (expected RTSTRUCT or SEG)")
    return itk.read_mask(p, label, spacing)


__all__ = ["aggregate_lesions", "list_dicom", "list_rois", "list_segments", "read_dicom_series", "read_image",
           "read_mask", "read_rtdose", "read_rtstruct", "read_seg", "read_seg_segments", "split_lesions",
           "write_image", "write_mask"]
