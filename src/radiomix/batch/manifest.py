"""Manifests: a CSV or Parquet table with ``case_id, image, mask`` and optional ``label, roi, lesion, timepoint,
site, ...`` columns (extra columns are carried into the output). Relative paths resolve against the manifest's
folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from radiomix.errors import SettingsError

REQUIRED = ("case_id", "image", "mask")
KNOWN_OPTIONAL = ("label", "roi", "lesion", "timepoint", "site")


def load_manifest(manifest) -> pd.DataFrame:
    """Read and validate a manifest (path or DataFrame). Paths become absolute; ``case_id`` becomes a string."""
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
        if path.suffix.lower() == ".parquet":
            df = pd.read_parquet(path)
        elif path.suffix.lower() in (".csv", ".tsv"):
            df = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",", dtype={"case_id": str})
        else:
            raise SettingsError(f"{path}: a manifest is a .csv, .tsv or .parquet file")
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise SettingsError(f"{source}: manifest lacks column(s) {missing}; it needs {list(REQUIRED)}")
    if df.empty:
        raise SettingsError(f"{source}: manifest has no rows")
    df["case_id"] = df["case_id"].astype(str)
    key_cols = ["case_id"] + [c for c in ("lesion", "roi", "timepoint") if c in df.columns]
    dup = df.duplicated(key_cols, keep=False)
    if dup.any():
        raise SettingsError(f"{source}: duplicate rows for {key_cols}: {df.loc[dup, key_cols].head(5).to_dict('records')}")
    for col in ("image", "mask"):
        if df[col].isna().any():
            raise SettingsError(f"{source}: empty '{col}' for case(s) {df.loc[df[col].isna(), 'case_id'].tolist()[:5]}")
        df[col] = [str(p if Path(p).is_absolute() else (base / p)) for p in df[col].astype(str)]
    if "label" in df.columns:
        df["label"] = df["label"].astype("Int64")
    df["row_id"] = [_row_id(r, key_cols) for r in df[key_cols].astype(str).to_dict("records")]
    return df.reset_index(drop=True)


def _row_id(rec: dict, key_cols) -> str:
    """A file-name-safe unique id of one manifest row (case plus lesion/roi/timepoint)."""
    raw = "|".join(rec[c] for c in key_cols)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in raw)[:80]
    return f"{safe}-{hashlib.sha1(raw.encode()).hexdigest()[:8]}"


def file_digest(path) -> str:
    """sha256 of a file's bytes, or of every file under a folder (sorted by relative path)."""
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    for q in files:
        if p.is_dir():
            h.update(str(q.relative_to(p)).encode())
        with open(q, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()
