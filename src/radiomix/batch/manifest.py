"""Manifests: what ``extract_batch`` runs over. Three forms are accepted:

* a CSV, TSV or Parquet table with ``case_id, image, mask`` and optional ``label, roi, lesion, timepoint, site, ...``
  columns (extra columns are carried into the output). Relative paths resolve against the manifest's folder;
* a PyRadiomics batch CSV: columns ``Image`` and ``Mask`` (PyRadiomics spells them so), optional ``Label`` and
  ``ID`` (or ``case_id``); mapped to ``image, mask, label, case_id``. Without an id the case is named after the
  image file. Other columns are carried. ``Label_channel`` (a channel of a vector mask) is refused;
* a DICOM root folder: every image series that an RTSTRUCT or SEG belongs to (:func:`dicom_manifest`) gives one
  row per ROI (or only ``roi``), with ``case_id`` the keyed pseudonym of the patient, never a name or PatientID.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import pandas as pd

from radiomix.digest import file_digest  # noqa: F401 - re-exported (batch modules import it from here)
from radiomix.errors import InputError, SettingsError

REQUIRED = ("case_id", "image", "mask")
KNOWN_OPTIONAL = ("label", "roi", "lesion", "timepoint", "site")
#: columns that, with case_id, make a manifest row unique (and name its shard)
KEY_COLUMNS = ("study", "series", "lesion", "roi", "timepoint")
_PYRADIOMICS = {"Image": "image", "Mask": "mask", "Label": "label", "ID": "case_id"}
_ITK_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd", ".npy", ".dcm")


def load_manifest(manifest, *, roi: str | None = None, key: bytes | str | None = None) -> pd.DataFrame:
    """Read and validate a manifest (a table path, a DataFrame, a PyRadiomics batch CSV or a DICOM root folder).

    Paths become absolute; ``case_id`` becomes a string; a ``row_id`` column names each row's shard. ``roi`` and
    ``key`` (the pseudonym key; default the project key, see :mod:`radiomix.io.pseudonym`) apply to DICOM folders.
    """
    base = Path.cwd()
    if isinstance(manifest, pd.DataFrame):
        df = manifest.copy()
        source = "<manifest DataFrame>"
    else:
        path = Path(manifest)
        source = str(path)
        if not path.exists():
            raise SettingsError(f"{path}: manifest not found")
        base = path.resolve().parent
        if path.is_dir():
            df = dicom_manifest(path, roi=roi, key=key)
        elif path.suffix.lower() == ".parquet":
            df = pd.read_parquet(path)
        elif path.suffix.lower() in (".csv", ".tsv"):
            df = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",",
                             dtype={"case_id": str, "ID": str})
        else:
            raise SettingsError(f"{path}: a manifest is a .csv, .tsv or .parquet file, or a DICOM folder")
    if "Image" in df.columns and "Mask" in df.columns and "image" not in df.columns:
        df = _from_pyradiomics(df, source)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise SettingsError(f"{source}: manifest lacks column(s) {missing}; it needs {list(REQUIRED)} (or "
                            "PyRadiomics' Image, Mask [, Label, ID])")
    if df.empty:
        raise SettingsError(f"{source}: manifest has no rows")
    df["case_id"] = df["case_id"].astype(str)
    key_cols = ["case_id"] + [c for c in KEY_COLUMNS if c in df.columns]
    dup = df.duplicated(key_cols, keep=False)
    if dup.any():
        raise SettingsError(f"{source}: duplicate rows for {key_cols}: {df.loc[dup, key_cols].head(5).to_dict('records')}")
    for col in ("image", "mask"):
        if df[col].isna().any():
            raise SettingsError(f"{source}: empty '{col}' for case(s) {df.loc[df[col].isna(), 'case_id'].tolist()[:5]}")
        df[col] = [str(p if Path(p).is_absolute() else (base / p)) for p in df[col].astype(str)]
    if "label" in df.columns:
        df["label"] = df["label"].astype("Int64")
    df["row_id"] = [_row_id(r, key_cols) for r in df[key_cols].to_dict("records")]
    return df.reset_index(drop=True)


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def _row_id(rec: dict, key_cols) -> str:
    """A file-name-safe unique id of one manifest row (case plus lesion/roi/timepoint)."""
    # empty cells (NaN/None, e.g. no ROI on a NIfTI row) are "" so pandas versions agree on the id
    raw = "|".join("" if _blank(rec[c]) else str(rec[c]) for c in key_cols)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in raw)[:80]
    return f"{safe}-{hashlib.sha1(raw.encode()).hexdigest()[:8]}"


def _from_pyradiomics(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """PyRadiomics' batch CSV columns mapped to ours; an id from ``ID``, else from the image file name."""
    if "Label_channel" in df.columns and df["Label_channel"].notna().any():
        raise SettingsError(f"{source}: column 'Label_channel' (a channel of a vector mask) is not supported; "
                            "write each channel as its own label map")
    df = df.drop(columns=[c for c in ("Label_channel",) if c in df.columns])
    clash = [ours for theirs, ours in _PYRADIOMICS.items() if theirs in df.columns and ours in df.columns]
    if clash:
        raise SettingsError(f"{source}: both PyRadiomics and radiomix names for column(s) {clash}")
    df = df.rename(columns=_PYRADIOMICS)
    if "case_id" not in df.columns:
        stems = [_stem(p) for p in df["image"].astype(str)]
        if len(set(stems)) < len(stems):
            stems = [f"{s}_row{i + 1}" for i, s in enumerate(stems)]
        df.insert(0, "case_id", stems)
    return df


def _stem(path: str) -> str:
    name = Path(path).name
    for suffix in _ITK_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def dicom_manifest(folder, *, roi: str | None = None, key: bytes | str | None = None) -> pd.DataFrame:
    """One manifest row per (image series, segmentation file, ROI) found under ``folder``.

    Columns: ``case_id`` (the patient's keyed pseudonym ``P-...``), ``study`` and ``series`` (pseudonyms ``S-...``,
    ``SE-...``), ``modality``, ``roi`` (RTSTRUCT ROI name or SEG segment label; only ``roi`` when given), ``image``
    (the folder holding the series), ``mask`` (the RTSTRUCT/SEG file) and ``series_uid`` (used to read the series,
    never written to the output). RTSTRUCT ROIs without closed planar contours (points, markers) are left out.
    """
    from radiomix.io.dicom import scan_dicom, series_segmentations
    from radiomix.io.pseudonym import load_or_create_key, pseudonym
    from radiomix.io.rtstruct import list_rois
    from radiomix.io.seg import list_segments

    folder = Path(folder)
    key = load_or_create_key() if key is None else key
    found = scan_dicom(folder)
    links = series_segmentations(found)
    rows, seen_rois = [], set()
    for series in sorted(found.image_series(), key=lambda s: s.uid):
        ds = series.first
        pid = str(ds.get("PatientID", "") or "")
        study_uid = str(ds.get("StudyInstanceUID", "") or "")
        image_dir = Path(os.path.commonpath([str(f.path.parent) for f in series.files]))
        for seg, _ in links.get(series.uid, []):
            for f in sorted(seg.files, key=lambda f: str(f.path)):
                try:
                    if seg.kind == "rtstruct":
                        names = [r.name for r in list_rois(f.path) if "CLOSED_PLANAR" in r.geometric_types]
                    else:
                        names = [s.label for s in list_segments(f.path)]
                except InputError as exc:
                    raise SettingsError(f"{folder}: cannot list the ROIs of {f.path}: {exc}") from None
                seen_rois.update(names)
                for name in names:
                    if roi is not None and name != roi:
                        continue
                    rows.append({"case_id": pseudonym(key, pid), "study": pseudonym(key, pid, study_uid, prefix="S"),
                                 "series": pseudonym(key, pid, series.uid, prefix="SE"),
                                 "modality": series.modality, "roi": name, "image": str(image_dir),
                                 "mask": str(f.path), "series_uid": series.uid})
    if not rows:
        what = f"ROI '{roi}' (ROIs found: {sorted(seen_rois) or 'none'})" if roi is not None else \
            "an image series with an RTSTRUCT or SEG that belongs to it"
        raise SettingsError(f"{folder}: DICOM folder holds no {what}; "
                            f"{len(found.image_series())} image series, {len(found.segmentations())} segmentation(s)")
    df = pd.DataFrame(rows)
    return df.sort_values(["case_id", "study", "series", "roi", "mask"], kind="stable").reset_index(drop=True)
