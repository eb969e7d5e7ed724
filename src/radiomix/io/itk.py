"""NIfTI, NRRD and MetaImage through SimpleITK, plus numpy ``.npy`` arrays (which carry no geometry).

Ordinary NIfTI-1 files are read natively (:func:`radiomix.io.nifti.read_nifti`, exactly what SimpleITK gives), so
SimpleITK (~65 ms and ~94 MB to import) is imported only for other files, NIfTI headers the native reader leaves to
it, and writing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from radiomix.errors import InputError
from radiomix.image import Geometry, Image, Mask

if TYPE_CHECKING:
    import SimpleITK as sitk

ITK_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def geometry_from_sitk(img: sitk.Image) -> Geometry:
    if img.GetDimension() == 2:
        sx, sy = img.GetSpacing()
        ox, oy = img.GetOrigin()
        d2 = np.asarray(img.GetDirection()).reshape(2, 2)
        d = np.eye(3)
        d[:2, :2] = d2
        return Geometry((1, img.GetHeight(), img.GetWidth()), (1.0, sy, sx), (ox, oy, 0.0), d)
    sx, sy, sz = img.GetSpacing()
    nx, ny, nz = img.GetSize()
    return Geometry((nz, ny, nx), (sz, sy, sx), img.GetOrigin(), np.asarray(img.GetDirection()).reshape(3, 3))


def geometry_to_sitk(array: np.ndarray, geometry: Geometry) -> sitk.Image:
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(array)
    img.SetSpacing(tuple(float(s) for s in geometry.spacing_xyz))
    img.SetOrigin(tuple(float(o) for o in geometry.origin))
    img.SetDirection(tuple(float(v) for v in geometry.direction.ravel()))
    return img


def _nifti_expected_bytes(header: bytes) -> int | None:
    """Bytes a NIfTI-1/2 file needs (voxel offset + data), from its header; None if the header is not NIfTI."""
    import struct

    if len(header) < 4:
        return None
    for endian in "<>":
        if struct.unpack(endian + "i", header[:4])[0] == 348 and len(header) >= 352:
            dims = struct.unpack(endian + "8h", header[40:56])
            bitpix = struct.unpack(endian + "h", header[72:74])[0]
            offset = struct.unpack(endian + "f", header[108:112])[0]
            n = int(np.prod([max(d, 1) for d in dims[1:dims[0] + 1]])) if 0 < dims[0] <= 7 else 0
            return int(offset) + n * bitpix // 8
        if struct.unpack(endian + "i", header[:4])[0] == 540 and len(header) >= 544:
            dims = struct.unpack(endian + "8q", header[16:80])
            bitpix = struct.unpack(endian + "h", header[14:16])[0]
            offset = struct.unpack(endian + "q", header[168:176])[0]
            n = int(np.prod([max(d, 1) for d in dims[1:dims[0] + 1]])) if 0 < dims[0] <= 7 else 0
            return int(offset) + n * bitpix // 8
    return None


def check_nifti_complete(path: Path) -> None:
    """ITK reads a truncated NIfTI without complaint (missing voxels become 0); refuse such files."""
    import gzip
    import zlib

    suffix = _suffix(path)
    if suffix == ".nii":
        with open(path, "rb") as f:
            expected = _nifti_expected_bytes(f.read(544))
        actual = path.stat().st_size
    elif suffix == ".nii.gz":
        with gzip.open(path, "rb") as f:
            try:
                expected = _nifti_expected_bytes(f.read(544))
            except (OSError, EOFError) as exc:
                raise InputError(f"{path}: cannot read image file (corrupt gzip stream: {exc})") from None
        with open(path, "rb") as f:
            f.seek(-4, 2)
            isize = int.from_bytes(f.read(4), "little")
        if expected is None or isize == expected % 2**32:
            return
        # trailer disagrees: count the real decompressed length (slow path, only for suspicious files)
        d, actual = zlib.decompressobj(16 + zlib.MAX_WBITS), 0
        with open(path, "rb") as f:
            try:
                while chunk := f.read(1 << 22):
                    actual += len(d.decompress(chunk))
                    # a further gzip member counts; other bytes after the stream (padding) are ignored, as ITK does
                    while d.eof and d.unused_data[:2] == b"\x1f\x8b":
                        rest = d.unused_data
                        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                        actual += len(d.decompress(rest))
                    if d.eof and d.unused_data:
                        break
            except zlib.error as exc:
                raise InputError(f"{path}: cannot read image file (corrupt gzip stream: {exc})") from None
    else:
        return
    if expected is not None and actual < expected:
        raise InputError(f"{path}: truncated NIfTI file: the header needs {expected} bytes of data, the file holds "
                         f"{actual}")


def _read_sitk(path: Path, what: str) -> tuple[np.ndarray, Geometry]:
    if not path.exists():
        raise InputError(f"{path}: {what} file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give an image file (for DICOM folders use radiomix.io.dicom)")
    if _suffix(path) in (".nii", ".nii.gz"):
        from radiomix.io.nifti import read_nifti

        native = read_nifti(path, what)
        if native is not None:
            return native
    check_nifti_complete(path)
    import SimpleITK as sitk

    try:
        img = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = next((ln for ln in first if "ERROR" in ln or "error" in ln), first[-1] if first else "")
        raise InputError(f"{path}: cannot read {what} file (corrupt or unsupported format): {detail.strip()}") from None
    if img.GetDimension() not in (2, 3):
        raise InputError(f"{path}: {what} has {img.GetDimension()} dimensions; radiomix reads 2D and 3D images")
    if img.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(f"{path}: {what} has {img.GetNumberOfComponentsPerPixel()} components per voxel; "
                         "radiomix needs a scalar image")
    array = sitk.GetArrayFromImage(img)
    if array.ndim == 2:
        array = array[np.newaxis]
    return array, geometry_from_sitk(img)


def _read_npy(path: Path, spacing, what: str) -> tuple[np.ndarray, Geometry]:
    if not path.exists():
        raise InputError(f"{path}: {what} file not found")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputError(f"{path}: cannot read {what} as a numpy array: {exc}") from None
    if array.ndim == 2:
        array = array[np.newaxis]
    if array.ndim != 3:
        raise InputError(f"{path}: {what} array has {array.ndim} dimensions; need 2D or 3D")
    if spacing is None:
        raise InputError(f"{path}: a .npy file carries no voxel spacing; pass spacing=(z, y, x) in mm")
    return array, Geometry(array.shape, spacing)


def _read(path, spacing, what):
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give an image file (for DICOM folders use radiomix.io.dicom)")
    suf = _suffix(path)
    if suf == ".npy":
        return path, *_read_npy(path, spacing, what)
    if suf not in ITK_SUFFIXES:
        raise InputError(f"{path}: unknown {what} format '{suf}' (readable: {', '.join(ITK_SUFFIXES)}, .npy)")
    return path, *_read_sitk(path, what)


def read_image(path, spacing=None) -> Image:
    """Read an image file. ``spacing`` (z, y, x) mm is needed only for ``.npy`` arrays."""
    path, array, geom = _read(path, spacing, "image")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise InputError(f"{path}: complex-valued images are not supported")
    return Image(array, geom, str(path))


def read_mask(path, label: int | None = None, spacing=None) -> Mask:
    """Read a label map and keep ``label`` (``None``: every non-zero voxel)."""
    path, array, geom = _read(path, spacing, "mask")
    return Mask.from_labels(array, geom, label, str(path))


def write_image(image: Image, path) -> Path:
    import SimpleITK as sitk

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(geometry_to_sitk(image.array, image.geometry), str(path), True)
    return path


def write_mask(mask: Mask, path) -> Path:
    import SimpleITK as sitk

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(geometry_to_sitk(mask.array.astype(np.uint8), mask.geometry), str(path), True)
    return path
