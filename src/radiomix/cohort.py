"""A synthetic, deterministic multi-site radiomics cohort for the demo and for tests (no patient data).

:func:`make_cohort` writes small CT-like volumes (HU) with one lesion each. Two latent lesion properties drive the
outcomes: the lesion's **texture heterogeneity** (amplitude of its internal smooth texture) and its **shape
irregularity** (bumpiness of its surface). A linear predictor ``lp = 1.8 z(heterogeneity) + 0.8 z(irregularity) +
0.3 (stage - 2)`` (z: standardised over the cohort) gives

* a binary outcome ``outcome ~ Bernoulli(logistic(1.5 lp))`` (the AUC of ``lp`` itself is about 0.93);
* a survival time ``time ~ Exponential(rate = exp(0.8 lp) / 24 months)`` with uniform administrative censoring over
  [12, 60] months (``event = 1`` when the event is observed first; Harrell's C of ``lp`` about 0.8).

Three sites have different scanners: noise SD, Gaussian blur, an intensity offset and the slice thickness differ
(``SITES``), so features show site effects for ComBat to remove. About a fifth of the patients have a second
timepoint (``timepoint = 2``) in which the lesion shrinks for responders (``outcome = 0``) and grows otherwise.

Output folder::

    OUT/images/<case_id>.nii.gz, OUT/masks/<case_id>.nii.gz   sites A and B (NIfTI)
    OUT/dicom/<case_id>/ct/*.dcm, OUT/dicom/<case_id>/rtstruct.dcm   site C (CT series + RTSTRUCT, pydicom)
    OUT/clinical.csv     case_id, patient_id, site, timepoint, age, stage, outcome, time, event
    OUT/manifest.csv     case_id, image, mask, patient_id, site, timepoint (relative paths; the RTSTRUCT holds one
                         ROI, 'GTV', so no roi column is needed)
    OUT/truth.csv        the latent heterogeneity and irregularity (for checking a model, never a model input)

Identifiers are synthetic pseudonyms (``demo-0001``); DICOM headers carry no names, dates of birth or institutions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage

from radiomix.errors import InputError
from radiomix.image import Geometry, Image, Mask


@dataclass(frozen=True)
class Site:
    """One scanner: noise SD (HU), Gaussian blur (mm), intensity offset (HU), slice thickness (mm), file format."""

    name: str
    noise_hu: float
    blur_mm: float
    offset_hu: float
    slice_mm: float
    fmt: str  # "nifti" or "dicom"


SITES = (
    Site("A", noise_hu=8.0, blur_mm=0.0, offset_hu=0.0, slice_mm=2.0, fmt="nifti"),
    Site("B", noise_hu=18.0, blur_mm=0.6, offset_hu=25.0, slice_mm=2.5, fmt="nifti"),
    Site("C", noise_hu=12.0, blur_mm=1.0, offset_hu=-20.0, slice_mm=3.0, fmt="dicom"),
)
SHAPE = (24, 64, 64)  # (z, y, x) voxels
PIXEL_MM = 1.0
CLINICAL_COLUMNS = ["case_id", "patient_id", "site", "timepoint", "age", "stage", "outcome", "time", "event"]


def _lesion(rng: np.random.Generator, shape, spacing, radius_mm: float, irregularity: float,
            heterogeneity: float) -> tuple[np.ndarray, np.ndarray]:
    """(mask bool, HU texture inside the lesion) for one lesion centred in the volume."""
    sp = np.asarray(spacing, float)
    axes = [(np.arange(n) - (n - 1) / 2) * s for n, s in zip(shape, sp)]
    zz, yy, xx = np.meshgrid(*axes, indexing="ij")
    r = np.sqrt(zz**2 + yy**2 + xx**2) + 1e-9
    # surface bumps: smooth noise on the grid, sampled on the lesion surface through the direction
    bumps = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=(3.0 / sp[0] * 2, 6.0, 6.0))
    bumps /= np.abs(bumps).max() + 1e-12
    mask = r <= radius_mm * (1.0 + 0.55 * irregularity * bumps)
    mask = ndimage.binary_opening(mask, iterations=1) | (r <= 0.5 * radius_mm)
    lab, n = ndimage.label(mask)
    if n > 1:  # keep the component at the centre
        mask = lab == lab[tuple(s // 2 for s in shape)]
    tex = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=(1.0 / sp[0] * 1.5, 1.5, 1.5))
    tex /= tex.std() + 1e-12
    return mask, 10.0 + 45.0 * heterogeneity * tex


def _scan(rng: np.random.Generator, site: Site, mask: np.ndarray, texture: np.ndarray) -> np.ndarray:
    """Body + lesion as the site's scanner sees it (HU, int16 range)."""
    _, ny, nx = mask.shape
    yy, xx = np.meshgrid((np.arange(ny) - (ny - 1) / 2), (np.arange(nx) - (nx - 1) / 2), indexing="ij")
    body = (yy / (0.47 * ny)) ** 2 + (xx / (0.47 * nx)) ** 2 <= 1.0
    img = np.where(body[None], 40.0, -1000.0) + np.zeros(mask.shape)
    fat = body & ((yy / (0.47 * ny)) ** 2 + (xx / (0.47 * nx)) ** 2 > 0.8)
    img[:, fat] = -90.0
    img = np.where(mask, 45.0 + texture, img)
    if site.blur_mm > 0:
        sp = (site.slice_mm, PIXEL_MM, PIXEL_MM)
        img = ndimage.gaussian_filter(img, sigma=[site.blur_mm / s for s in sp])
    img = img + site.offset_hu * body[None] + rng.normal(0.0, site.noise_hu, mask.shape)
    return np.clip(np.round(img), -1024, 3000).astype(np.int16)


def _patients(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """The latent table: one row per patient."""
    site = np.array([SITES[i % len(SITES)].name for i in range(n)])
    rng.shuffle(site)
    het = rng.uniform(0.1, 1.0, n)
    irr = rng.uniform(0.0, 1.0, n)
    stage = rng.choice([1, 2, 3, 4], size=n, p=[0.2, 0.35, 0.3, 0.15])
    age = np.clip(np.round(rng.normal(64, 9, n)), 35, 90).astype(int)
    radius = rng.uniform(8.0, 13.0, n) + 0.6 * (stage - 2)
    z = lambda v: (v - v.mean()) / (v.std() + 1e-12)
    lp = 1.8 * z(het) + 0.8 * z(irr) + 0.3 * (stage - 2)
    outcome = (rng.uniform(size=n) < 1 / (1 + np.exp(-1.5 * lp))).astype(int)
    t_event = rng.exponential(24.0 / np.exp(0.8 * lp))
    t_cens = rng.uniform(12.0, 60.0, n)
    time = np.round(np.minimum(t_event, t_cens), 2)
    event = (t_event <= t_cens).astype(int)
    pid = [f"demo-{i + 1:04d}" for i in range(n)]
    second = rng.uniform(size=n) < 0.2
    return pd.DataFrame({"patient_id": pid, "site": site, "age": age, "stage": stage, "outcome": outcome,
                         "time": time, "event": event, "heterogeneity": het, "irregularity": irr,
                         "radius_mm": radius, "lp": lp, "second_timepoint": second})


def _contours(mask: np.ndarray, geom: Geometry) -> list[np.ndarray]:
    """Closed planar contours (x, y, z mm) of every slice of ``mask`` at the 0.5 iso-line between voxel centres."""
    from skimage import measure

    out = []
    for k in range(mask.shape[0]):
        sl = np.pad(mask[k].astype(float), 1)
        for c in measure.find_contours(sl, 0.5):
            if len(c) < 4:
                continue
            c = c[:-1] if np.allclose(c[0], c[-1]) else c
            idx = np.column_stack([np.full(len(c), k), c[:, 0] - 1, c[:, 1] - 1])
            out.append(geom.index_to_physical(idx))
    return out


def _write_dicom(folder: Path, hu: np.ndarray, mask: np.ndarray, geom: Geometry, patient_id: str,
                 uid_rng: np.random.Generator) -> tuple[Path, Path]:
    """A CT series (one file per slice, stored = HU + 1024) and an RTSTRUCT with ROI 'GTV'. UIDs are derived from the
    seed, so the same cohort has the same UIDs. No names, birth dates or institutions are written."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian

    def uid() -> str:
        return "2.25." + str(int.from_bytes(uid_rng.bytes(15), "big"))

    def base(sop_class: str) -> Dataset:
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = sop_class
        ds.SOPInstanceUID = uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.ImplementationClassUID = "2.25.1"
        ds.SOPClassUID = sop_class
        ds.PatientID = patient_id
        ds.PatientName = "ANONYMOUS"
        ds.PatientBirthDate, ds.PatientSex = "", "O"
        ds.StudyDate, ds.StudyTime, ds.StudyID, ds.AccessionNumber = "", "", "1", ""
        ds.ReferringPhysicianName = ""
        ds.Manufacturer = "radiomix-demo"
        return ds

    ct_dir = folder / "ct"
    ct_dir.mkdir(parents=True, exist_ok=True)
    study, series, for_uid = uid(), uid(), uid()
    sz, sy, sx = geom.spacing
    for k in range(hu.shape[0]):
        ds = base("1.2.840.10008.5.1.4.1.1.2")
        ds.Modality = "CT"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, for_uid
        ds.SeriesNumber, ds.InstanceNumber = 1, k + 1
        ds.SeriesDescription = "radiomix demo CT"
        pos = geom.index_to_physical([k, 0, 0])
        ds.ImagePositionPatient = [float(f"{v:.4f}") for v in pos]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [sy, sx]
        ds.SliceThickness = sz
        ds.Rows, ds.Columns = hu.shape[1:]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
        ds.PixelData = np.ascontiguousarray((hu[k].astype(np.int32) + 1024).astype(np.uint16)).tobytes()
        ds.save_as(ct_dir / f"ct_{k:03d}.dcm", enforce_file_format=True)
    rs = base("1.2.840.10008.5.1.4.1.1.481.3")
    rs.Modality = "RTSTRUCT"
    rs.StudyInstanceUID, rs.SeriesInstanceUID = study, uid()
    ref = Dataset()
    ref.FrameOfReferenceUID = for_uid
    rs.ReferencedFrameOfReferenceSequence = Sequence([ref])
    roi = Dataset()
    roi.ROINumber, roi.ReferencedFrameOfReferenceUID, roi.ROIName = 1, for_uid, "GTV"
    rs.StructureSetROISequence = Sequence([roi])
    items = []
    for c in _contours(mask, geom):
        it = Dataset()
        it.ContourGeometricType = "CLOSED_PLANAR"
        it.NumberOfContourPoints = len(c)
        it.ContourData = [f"{v:.4f}" for v in c.ravel()]
        items.append(it)
    rc = Dataset()
    rc.ReferencedROINumber = 1
    rc.ContourSequence = Sequence(items)
    rs.ROIContourSequence = Sequence([rc])
    path = folder / "rtstruct.dcm"
    rs.save_as(path, enforce_file_format=True)
    return ct_dir, path


def make_case(patient: dict, site: Site, timepoint: int, seed) -> tuple[Image, Mask]:
    """The image and mask of one patient at one timepoint (deterministic in ``seed``)."""
    rng = np.random.default_rng(seed)
    spacing = (site.slice_mm, PIXEL_MM, PIXEL_MM)
    radius = patient["radius_mm"]
    if timepoint == 2:  # responders shrink, the others grow
        radius *= 0.75 if patient["outcome"] == 0 else 1.15
    mask, tex = _lesion(rng, SHAPE, spacing, radius, patient["irregularity"], patient["heterogeneity"])
    hu = _scan(rng, site, mask, tex)
    geom = Geometry(SHAPE, spacing, origin=(-(SHAPE[2] - 1) / 2 * PIXEL_MM, -(SHAPE[1] - 1) / 2 * PIXEL_MM, 0.0))
    return Image(hu.astype(np.float32), geom, "synthetic"), Mask(mask, geom, "synthetic", 1)


def make_cohort(out, n_patients: int = 150, seed: int = 0) -> pd.DataFrame:
    """Write the synthetic cohort to ``out`` (see the module docstring); returns the manifest (absolute paths).

    Deterministic: the same ``n_patients`` and ``seed`` give the same files. At least 6 patients (2 per site).
    """
    from radiomix.io import write_image, write_mask

    if n_patients < 6:
        raise InputError(f"make_cohort: n_patients must be at least 6 (2 per site), got {n_patients}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pts = _patients(n_patients, rng)
    sites = {s.name: s for s in SITES}
    clinical, manifest = [], []
    for i, p in enumerate(pts.to_dict("records")):
        site = sites[p["site"]]
        for tp in (1, 2) if p["second_timepoint"] else (1,):
            case_id = f"{p['patient_id']}-t{tp}"
            image, mask = make_case(p, site, tp, (seed, i, tp))
            if site.fmt == "dicom":
                uid_rng = np.random.default_rng((seed, i, tp, 99))
                ct_dir, rs = _write_dicom(out / "dicom" / case_id, image.array.astype(np.int16), mask.array,
                                          image.geometry, p["patient_id"], uid_rng)
                img_rel, mask_rel = ct_dir.relative_to(out), rs.relative_to(out)
            else:
                img_rel, mask_rel = Path("images") / f"{case_id}.nii.gz", Path("masks") / f"{case_id}.nii.gz"
                write_image(image, out / img_rel)
                write_mask(mask, out / mask_rel)
            manifest.append({"case_id": case_id, "image": str(img_rel), "mask": str(mask_rel),
                             "patient_id": p["patient_id"], "site": site.name, "timepoint": tp})
            clinical.append({"case_id": case_id, **{k: p[k] for k in CLINICAL_COLUMNS[1:] if k != "timepoint"},
                             "timepoint": tp})
    clin = pd.DataFrame(clinical)[CLINICAL_COLUMNS]
    clin.to_csv(out / "clinical.csv", index=False)
    man = pd.DataFrame(manifest)
    man.to_csv(out / "manifest.csv", index=False)
    pts[["patient_id", "heterogeneity", "irregularity", "radius_mm", "lp"]].to_csv(out / "truth.csv", index=False)
    man = man.copy()
    man["image"] = [str(out / p) for p in man["image"]]
    man["mask"] = [str(out / p) for p in man["mask"]]
    return man
