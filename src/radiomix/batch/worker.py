"""One case, run inside a worker process: read, extract, write its shard atomically. Never raises for bad input:
every failure becomes a ledger entry with the stage it happened in."""

from __future__ import annotations

import json
import os
import resource
import socket
import time
import traceback
import warnings
from pathlib import Path

import pandas as pd

from radiomix.batch.manifest import file_digest
from radiomix.settings import Settings
from radiomix.threads import one_blas_thread

SHARD_VERSION = 2  # 2: several rows per case (lesions), integer lesion columns


def shard_paths(shard_dir: Path, row_id: str) -> tuple[Path, Path]:
    return shard_dir / f"{row_id}.parquet", shard_dir / f"{row_id}.json"


def case_key(row: dict, settings: Settings) -> str:
    """Hash of the case's input contents, its label/ROI selection and the settings."""
    import hashlib

    parts = [file_digest(row["image"]), file_digest(row["mask"]), str(row.get("label")), str(row.get("roi")),
             str(row.get("series_uid")), settings.digest(), str(SHARD_VERSION)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _set_memory_limit(limit_mb: int | None):
    """Cap this process's address space at its current size plus ``limit_mb``; returns the previous limit."""
    if not limit_mb:
        return None
    old = resource.getrlimit(resource.RLIMIT_AS)
    vm = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                vm = int(line.split()[1]) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (vm + int(limit_mb) * 2**20, old[1]))
    return old


def _import_case_modules(settings: Settings, limited: bool = False) -> None:
    """Import what a case needs before its memory limit applies: radiomix imports lazily, and an import under the
    cap would fail the case as if its images were too big (workers start from a clean forkserver, not a fork of a
    caller that had imported everything). ``limited``: a cap follows, so the libraries that only some cases load
    (SimpleITK for files the native NIfTI reader leaves to it, SciPy's FFT for large ROIs' Moran sums, its ndimage
    for filters) are imported too."""
    import importlib

    modules = ["radiomix.io", "radiomix.io.lesions", "radiomix.extract", "radiomix.preprocess.pipeline",
               "radiomix.features"]
    if limited:
        modules += ["SimpleITK", "scipy.fft"]
    if settings.filters:
        modules.append("radiomix.filters")
        if limited:
            modules += ["scipy.ndimage", "radiomix.filters._core"]
    if settings.pyradiomics is not None:
        modules.append("radiomix.compat.pyradiomics")
    for name in modules:
        importlib.import_module(name)


def read_inputs(row: dict):
    """Read a manifest row's image and mask (ITK files, .npy, or a DICOM series folder, ``series_uid`` choosing one
    series; RTSTRUCT/SEG masks are rasterised on the image, ``roi`` choosing the ROI)."""
    from radiomix.io import read_image, read_mask

    label = row.get("label")
    label = None if label is None or pd.isna(label) else int(label)
    roi = row.get("roi")
    roi = None if roi is None or (isinstance(roi, float) and pd.isna(roi)) else str(roi)
    uid = row.get("series_uid")
    uid = None if uid is None or (isinstance(uid, float) and pd.isna(uid)) else str(uid)
    image = read_image(row["image"], series_uid=uid) if uid else read_image(row["image"])
    mask = read_mask(row["mask"], label=label, image=image, roi=roi)
    return image, mask


def run_case(row: dict, settings: Settings, shard_dir: str, resume: bool = False,
             memory_limit_mb: int | None = None) -> dict:
    """Process one manifest row; returns a small status dict (nothing large travels back)."""
    from radiomix.extract import extract_lesions

    shard_dir = Path(shard_dir)
    data_path, meta_path = shard_paths(shard_dir, row["row_id"])
    status = {"row_id": row["row_id"], "case_id": row["case_id"], "host": socket.gethostname(), "pid": os.getpid()}
    t0 = time.perf_counter()
    stage = "read"
    try:
        key = case_key(row, settings)
    except OSError as exc:
        return {**status, "status": "failed", "stage": "read", "error_type": type(exc).__name__,
                "message": f"{exc.filename or row['image']}: {exc.strerror or exc}", "seconds": 0.0}
    status["key"] = key
    if resume and meta_path.exists() and data_path.exists():
        try:
            if json.loads(meta_path.read_text()).get("key") == key:
                return {**status, "status": "skipped"}
        except (OSError, ValueError):
            pass
    old_limit = None
    caught: list[str] = []
    # one thread per case (families, convolutions): the batch's parallelism is its worker processes (a value the
    # user set is kept; the variable is restored after the case)
    own_threads = "RADIOMIX_THREADS" not in os.environ
    if own_threads:
        os.environ["RADIOMIX_THREADS"] = "1"
    try:
        _import_case_modules(settings, limited=bool(memory_limit_mb))
        old_limit = _set_memory_limit(memory_limit_mb)
        with one_blas_thread(), warnings.catch_warnings(record=True) as wlist:
            warnings.simplefilter("always")
            params = getattr(settings, "pyradiomics", None)
            if params is not None and pd.isna(row.get("label")) and pd.isna(row.get("roi")):
                # PyRadiomics mode: without a label column the parameter file's label applies (PyRadiomics: 1)
                row = {**row, "label": int(params.get("label"))}
            image, mask = read_inputs(row)
            stage = "extract"
            sets = extract_lesions(image, mask, settings, on_family_error="record")
            caught = sorted({f"{w.category.__name__}: {w.message}" for w in wlist})
    except MemoryError:
        return {**status, "status": "failed", "stage": stage, "error_type": "MemoryError",
                "message": f"case exceeded the per-worker memory limit of {memory_limit_mb} MiB",
                "seconds": time.perf_counter() - t0}
    except Exception as exc:  # noqa: BLE001 - one bad case must never stop the batch
        msg = str(exc) or type(exc).__name__
        return {**status, "status": "failed", "stage": getattr(exc, "stage", stage), "error_type": type(exc).__name__,
                "message": msg, "traceback": traceback.format_exc(limit=5), "seconds": time.perf_counter() - t0}
    finally:
        if own_threads:
            os.environ.pop("RADIOMIX_THREADS", None)
        if old_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, old_limit)
    frame = shard_frame(sets)
    import io

    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    _atomic_write_bytes(data_path, buf.getvalue())
    seconds = time.perf_counter() - t0
    errors = _family_errors(sets)
    meta = {"key": key, "row_id": row["row_id"], "case_id": row["case_id"], "family_errors": errors,
            "warnings": caught, "seconds": round(seconds, 4), "host": status["host"],
            "inputs": {"image": row["image"], "mask": row["mask"]}, "n_rows": len(sets)}
    if sets[0].lesion.get("lesion") is None:  # one row
        meta.update(nan_reasons=sets[0].nan_reasons(), timings_s=sets[0].provenance.get("timings_s"))
    else:  # one row per lesion
        meta.update(lesion_nan_reasons=[[fs.lesion["lesion"], c, why] for fs in sets
                                        for c, why in fs.nan_reasons().items()],
                    timings_s=[fs.provenance.get("timings_s") for fs in sets])
    _atomic_write_bytes(meta_path, json.dumps(meta, indent=1, default=str).encode())
    return {**status, "status": "done", "seconds": seconds, "family_errors": errors, "n_rows": len(sets)}


def _family_errors(sets) -> dict[str, str]:
    if len(sets) == 1:
        return dict(sets[0].errors)
    return {f"lesion{fs.lesion.get('lesion')}/{k}": v for fs in sets for k, v in fs.errors.items()}


def shard_frame(sets) -> pd.DataFrame:
    """The rows of one case: lesion columns (integers for counts, float64 otherwise) then float64 features, in
    order of first appearance; a feature missing from one lesion's row is NaN."""
    from radiomix.io.lesions import INTEGER_LESION_COLUMNS, LESION_COLUMNS

    lesion_cols = [c for c in LESION_COLUMNS if any(c in fs.lesion for fs in sets)]
    feats: dict[str, None] = {}
    for fs in sets:
        feats.update(dict.fromkeys(v.column for v in fs.values))
    frame = pd.DataFrame([fs.to_dict() for fs in sets], columns=list(feats), dtype="float64")
    for i, c in enumerate(lesion_cols):
        vals = [fs.lesion.get(c) for fs in sets]
        frame.insert(i, c, pd.array(vals, dtype="int64" if c in INTEGER_LESION_COLUMNS else "float64"))
    return frame
