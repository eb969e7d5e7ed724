"""DICOM series read speed: radiomix's reader against SimpleITK's ImageSeriesReader on the same files.

Run: .venv/bin/python benchmarks/bench_dicom_read.py [--slices 300] [--size 512] [--repeats 5]

Writes a CT series of ``--slices`` slices of ``--size`` x ``--size`` int16 pixels (RescaleIntercept -1024, shuffled
file names) with pydicom into ``bench-output/dicom_read/series/`` (generated once, reused when it is complete), then
times, alternately, ``radiomix.io.read_dicom_series(folder)`` and SimpleITK (``GetGDCMSeriesFileNames`` +
``ImageSeriesReader.Execute`` + ``GetArrayViewFromImage``): both find the files, sort the slices and return a
(z, y, x) array in HU. It checks that both give the same voxels and writes ``bench-output/bench_dicom_read.md``.

Caveat: the OS page cache is not controlled (dropping it needs root and a quiet machine); after the first repeat
both readers read from memory, so the medians compare parsing, sorting and decoding, not disk speed. The first
(possibly cold) repeat is reported separately.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np


def write_series(folder: Path, n_slices: int, size: int) -> None:
    """A synthetic axial CT series (one file per slice) written with pydicom; skipped when already complete."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    done = folder / ".complete"
    if done.exists() and done.read_text() == f"{n_slices} {size}":
        return
    folder.mkdir(parents=True, exist_ok=True)
    for p in folder.glob("*.dcm"):
        p.unlink()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    body = ((yy - size / 2) ** 2 + (xx - size / 2) ** 2) < (0.45 * size) ** 2
    series, study, frame = generate_uid(), generate_uid(), generate_uid()
    names = rng.permutation(n_slices)  # file names in random order: the reader must sort by position
    for k in range(n_slices):
        sop = generate_uid()
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        ds.file_meta.MediaStorageSOPInstanceUID = sop
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.2", sop
        ds.Modality, ds.PatientID, ds.PatientName = "CT", "BENCH", "Bench^Phantom"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [-0.5 * size * 0.7, -0.5 * size * 0.7, -300.0 + 1.25 * k]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [0.7, 0.7]
        ds.SliceThickness = 1.25
        ds.Rows = ds.Columns = size
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        plane = np.where(body, 1024 + 40 + rng.normal(0, 20, (size, size)), 24).astype(np.int16)
        ds.PixelData = plane.tobytes()
        ds.save_as(folder / f"s{names[k]:04d}.dcm", enforce_file_format=True)
    done.write_text(f"{n_slices} {size}")


def read_radiomix(folder: Path) -> np.ndarray:
    from radiomix.io import read_dicom_series

    return read_dicom_series(folder).array


def read_sitk(folder: Path) -> np.ndarray:
    import SimpleITK as sitk

    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    img = reader.Execute()
    return sitk.GetArrayViewFromImage(img)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slices", type=int, default=300)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--work", default="bench-output/dicom_read")
    ap.add_argument("--out", default="bench-output/bench_dicom_read.md")
    args = ap.parse_args()
    folder = Path(args.work) / "series"
    t0 = time.perf_counter()
    write_series(folder, args.slices, args.size)
    print(f"series ready in {time.perf_counter() - t0:.1f} s: {folder}")

    a, b = read_radiomix(folder), np.asarray(read_sitk(folder))
    # SimpleITK sorts along the normal too; both give (z, y, x) in HU
    if a.shape != b.shape or not np.array_equal(a.astype(np.int32), b.astype(np.int32)):
        raise SystemExit(f"readers disagree: radiomix {a.shape} {a.dtype}, SimpleITK {b.shape} {b.dtype}")
    del a, b
    times: dict[str, list[float]] = {"radiomix": [], "SimpleITK": []}
    for _ in range(args.repeats):
        for name, fn in (("radiomix", read_radiomix), ("SimpleITK", read_sitk)):
            t = time.perf_counter()
            arr = fn(folder)
            times[name].append(time.perf_counter() - t)
            del arr
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["radiomix"] / med["SimpleITK"]
    import pydicom
    import SimpleITK as sitk

    text = "\n".join([
        f"# DICOM series read: {args.slices} slices of {args.size}x{args.size} int16 CT",
        "",
        (f"Hardware: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; "
         f"pydicom {pydicom.__version__}, SimpleITK {sitk.Version_VersionString()}"),
        "",
        "| reader | median s | min s | first repeat s | slices/s (median) |",
        "|---|---|---|---|---|",
        *[f"| {k} | {med[k]:.3f} | {min(v):.3f} | {v[0]:.3f} | {args.slices / med[k]:.0f} |"
          for k, v in times.items()],
        "",
        (f"radiomix / SimpleITK (medians): **{ratio:.2f}x** (target <= 1.5x). {args.repeats} alternating repeats; "
         "the page cache is not controlled, so after the first repeat both read from memory."),
        "",
    ])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
