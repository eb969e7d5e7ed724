"""Cohort extraction: manifest in, Parquet out. It only orchestrates ``extract()``; it computes nothing itself.

Layout of the output folder::

    OUT/shards/<row_id>.parquet + .json   one finished case each, written atomically (temporary file, then rename)
    OUT/features.parquet                  merged, manifest order, stable column order and float64 schema
    OUT/features.csv                      on request
    OUT/nan_reasons.parquet               row_id, case_id, column, reason for every NaN feature value
    OUT/failures.parquet                  the failure ledger: case, stage, error type, message
    OUT/provenance.json                   versions, settings (YAML and hash), manifest hash, per-case checksums, ...

Engines: a local process pool (default; one crashing worker does not take the batch down), a Dask LocalCluster
(``dask="local"``) or an existing Dask scheduler (``dask="tcp://host:port"``). Workers read their own inputs and
write their own shards; only small status dicts travel back.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import platform
import socket
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from importlib import metadata
from pathlib import Path

import pandas as pd

from radiomix.batch.manifest import file_digest, load_manifest
from radiomix.batch.worker import run_case, shard_paths
from radiomix.errors import SettingsError
from radiomix.settings import Settings

log = logging.getLogger(__name__)

LEDGER_COLUMNS = ["row_id", "case_id", "stage", "error_type", "message"]
#: manifest columns that never reach features.parquet: file paths, DICOM UIDs (identifiers), internal row ids
NOT_CARRIED = ("image", "mask", "row_id", "series_uid")


class BatchResult:
    """What a batch run produced: the merged table, the ledger and where they were written."""

    def __init__(self, features: pd.DataFrame, failures: pd.DataFrame, out_dir: Path, statuses: list[dict]):
        self.features = features
        self.failures = failures
        self.out_dir = out_dir
        self.statuses = statuses

    @property
    def n_failed_cases(self) -> int:
        return int(self.failures["row_id"].nunique()) if len(self.failures) else 0

    @property
    def exit_code(self) -> int:
        return 1 if len(self.failures) else 0


def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for pkg in ("radiomix", "numpy", "scipy", "numba", "SimpleITK", "scikit-image", "pandas", "pyarrow", "pydicom",
                "pydantic", "dask", "distributed"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


class _Progress:
    """A rich progress bar on a terminal; a log line every 30 s otherwise."""

    def __init__(self, total: int):
        self.total, self.done, self.failed, self.t0, self.last = total, 0, 0, time.time(), 0.0
        self.bar = None
        if sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("extracting"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[failed]} failed, {task.fields[rate]}"), TimeRemainingColumn(),
                                transient=False)
            self.task = self.bar.add_task("cases", total=total, failed=0, rate="")
            self.bar.start()

    def update(self, status: dict) -> None:
        self.done += 1
        self.failed += status.get("status") == "failed"
        elapsed = time.time() - self.t0
        rate = f"{60 * self.done / elapsed:.1f} cases/min" if elapsed > 0 else ""
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done, failed=self.failed, rate=rate)
        elif time.time() - self.last > 30 or self.done == self.total:
            self.last = time.time()
            log.warning("batch: %d/%d cases done, %d failed, %s", self.done, self.total, self.failed, rate)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _pool_context():
    """Workers start from a clean forkserver, never by forking the caller: a caller that has already used OpenMP
    (scikit-learn, torch, numba's omp layer) cannot fork safely, and GNU OpenMP kills such children at once."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["radiomix.batch.worker"])
    return ctx


def _run_local(rows, settings, shard_dir, resume, jobs, memory_limit_mb, progress) -> list[dict]:
    """Local process pool. If a worker process dies (segfault, OOM kill), its in-flight cases are retried one by one
    in a fresh pool; a case that kills its worker again is recorded as failed."""
    statuses: list[dict] = []
    pending = list(rows)
    suspects: list[dict] = []
    max_workers = max(1, jobs)
    while pending or suspects:
        solo = bool(suspects) and not pending
        batch = [suspects.pop(0)] if solo else pending
        pending = [] if not solo else pending
        with ProcessPoolExecutor(max_workers=1 if solo else max_workers, mp_context=_pool_context()) as pool:
            queue = list(batch)
            running: dict = {}
            broken = False
            while queue or running:
                while queue and len(running) < (1 if solo else 2 * max_workers) and not broken:
                    r = queue.pop(0)
                    running[pool.submit(run_case, r, settings, str(shard_dir), resume, memory_limit_mb)] = r
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    r = running.pop(fut)
                    try:
                        st = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        if solo:
                            st = {"row_id": r["row_id"], "case_id": r["case_id"], "status": "failed",
                                  "stage": "extract", "error_type": "WorkerCrash",
                                  "message": "the worker process died while processing this case (crash or killed "
                                             "for memory)"}
                            statuses.append(st)
                            progress.update(st)
                        else:
                            suspects.append(r)
                        continue
                    statuses.append(st)
                    progress.update(st)
                if broken:
                    suspects += list(running.values()) + queue
                    running, queue = {}, []
    return statuses


def _run_dask(rows, settings, shard_dir, resume, jobs, memory_limit_mb, progress, address) -> list[dict]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - dask is an optional extra
        raise RuntimeError("Dask engine needs the 'cluster' extra: pip install 'radiomix[cluster]'") from exc
    cluster = None
    if address == "local":
        cluster = LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(address)
    statuses = []
    try:
        futures = [client.submit(run_case, r, settings, str(shard_dir), resume, memory_limit_mb, pure=False,
                                 key=f"radiomix-{r['row_id']}-{time.time_ns()}") for r in rows]
        by_key = {f.key: r for f, r in zip(futures, rows)}
        for fut in as_completed(futures):
            r = by_key[fut.key]
            try:
                st = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker fails this case only
                st = {"row_id": r["row_id"], "case_id": r["case_id"], "status": "failed", "stage": "extract",
                      "error_type": type(exc).__name__, "message": f"Dask task failed: {exc}"}
            statuses.append(st)
            progress.update(st)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return statuses


def merge_shards(manifest: pd.DataFrame, shard_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Merge finished shards in manifest order (a case with several lesion rows keeps them in lesion order).
    Columns: the manifest's own columns (without paths and series UIDs), the lesion columns when lesions were split,
    then feature columns in order of first appearance. Every feature column is float64; a case missing a column
    gets NaN."""
    from radiomix.io.lesions import LESION_COLUMNS

    carried = [c for c in manifest.columns if c not in NOT_CARRIED]
    frames, reasons = [], []
    for rec in manifest.to_dict("records"):
        data_path, meta_path = shard_paths(shard_dir, rec["row_id"])
        if not data_path.exists():
            continue
        f = pd.read_parquet(data_path)
        for i, c in enumerate(carried):
            f.insert(i, c, [rec[c]] * len(f))
        frames.append(f)
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        for col, why in (meta.get("nan_reasons") or {}).items():
            reasons.append((rec["row_id"], rec["case_id"], col, why))
        for lesion, col, why in meta.get("lesion_nan_reasons") or []:
            reasons.append((rec["row_id"], rec["case_id"], col, f"lesion {lesion}: {why}"))
        for fam, err in (meta.get("family_errors") or {}).items():
            reasons.append((rec["row_id"], rec["case_id"], f"{fam}/*", f"family failed: {err}"))
    if not frames:
        empty = pd.DataFrame(columns=carried)
        return empty, pd.DataFrame(reasons, columns=["row_id", "case_id", "column", "reason"])
    order: dict[str, None] = dict.fromkeys(carried)
    present = set().union(*(f.columns for f in frames))
    order.update(dict.fromkeys(c for c in LESION_COLUMNS if c in present))
    for f in frames:
        order.update(dict.fromkeys(c for c in f.columns if c not in order))
    merged = pd.concat(frames, ignore_index=True).reindex(columns=list(order))
    feat_cols = [c for c in merged.columns if c not in carried and c not in LESION_COLUMNS]
    merged[feat_cols] = merged[feat_cols].astype("float64")
    return merged, pd.DataFrame(reasons, columns=["row_id", "case_id", "column", "reason"])


def extract_batch(manifest, settings: Settings, out_dir=None, *, jobs: int = 1, dask: str | None = None,
                  resume: bool = False, csv: bool = False, memory_limit_mb: int | None = None,
                  roi: str | None = None) -> BatchResult:
    """Extract features for every manifest row; returns a BatchResult (``.features`` is the merged DataFrame).

    ``manifest``: a table (path or DataFrame), a PyRadiomics batch CSV, or a DICOM root folder (one row per image
    series and segmentation; ``roi`` keeps one ROI name, see :func:`load_manifest`). With ``settings.lesions`` a
    case gives one row per lesion (``per_lesion``) or one aggregated row. ``out_dir`` defaults to a temporary
    folder. One bad case never stops the others: it goes to the ledger.
    """
    import tempfile

    df = load_manifest(manifest, roi=roi)
    if settings.lesions is not None and "lesion" in df.columns:
        raise SettingsError(f"{manifest if not isinstance(manifest, pd.DataFrame) else 'manifest'}: it has a "
                            f"'lesion' column and the settings split lesions ({settings.lesions.mode}); use one "
                            "or the other")
    out = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="radiomix-batch-"))
    shard_dir = out / "shards"
    shard_dir.mkdir(parents=True, exist_ok=True)
    rows = df.to_dict("records")
    for r in rows:
        if "label" in r and pd.isna(r["label"]):
            r["label"] = None
    t0 = time.time()
    progress = _Progress(len(rows))
    try:
        if dask:
            statuses = _run_dask(rows, settings, shard_dir, resume, jobs, memory_limit_mb, progress, dask)
        else:
            statuses = _run_local(rows, settings, shard_dir, resume, jobs, memory_limit_mb, progress)
    finally:
        progress.close()
    features, reasons = merge_shards(df, shard_dir)
    failed = [s for s in statuses if s.get("status") == "failed"]
    family_fail = [{"row_id": s["row_id"], "case_id": s["case_id"], "stage": f"family:{k.split('/')[-1]}",
                    "error_type": v.split(":")[0], "message": v}
                   for s in statuses if s.get("status") == "done" for k, v in (s.get("family_errors") or {}).items()]
    order = {r: i for i, r in enumerate(df["row_id"])}
    ledger = pd.DataFrame([{c: s.get(c) for c in LEDGER_COLUMNS} for s in failed] + family_fail,
                          columns=LEDGER_COLUMNS)
    ledger = ledger.sort_values("row_id", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    features.to_parquet(out / "features.parquet", index=False)
    if csv:
        features.to_csv(out / "features.csv", index=False, float_format="%.10g")
    reasons.to_parquet(out / "nan_reasons.parquet", index=False)
    ledger.to_parquet(out / "failures.parquet", index=False)
    _write_provenance(out, manifest, df, settings, statuses, time.time() - t0, jobs, dask)
    return BatchResult(features, ledger, out, statuses)


def _write_provenance(out, manifest, df, settings, statuses, seconds, jobs, dask) -> None:
    shard_dir = out / "shards"
    cases = {}
    for rec in df.to_dict("records"):
        meta_path = shard_paths(shard_dir, rec["row_id"])[1]
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        cases[rec["row_id"]] = {"case_id": rec["case_id"], "key": meta.get("key"), "seconds": meta.get("seconds"),
                                "warnings": meta.get("warnings", []), "host": meta.get("host")}
    prov = {
        "radiomix_batch": 1,
        "versions": _versions(),
        "platform": platform.platform(),
        "hosts": sorted({s.get("host") for s in statuses if s.get("host")} | {socket.gethostname()}),
        "engine": {"dask": dask, "jobs": jobs},
        "settings_digest": settings.digest(),
        "settings_yaml": settings.to_yaml(),
        "manifest": str(manifest) if not isinstance(manifest, pd.DataFrame) else "<DataFrame>",
        "manifest_sha256": file_digest(manifest) if isinstance(manifest, (str, os.PathLike)) else None,
        "cases": cases,
        "n_cases": len(df),
        "n_done": sum(s.get("status") == "done" for s in statuses),
        "n_skipped": sum(s.get("status") == "skipped" for s in statuses),
        "n_failed": sum(s.get("status") == "failed" for s in statuses),
        "wall_seconds": round(seconds, 3),
    }
    tmp = out / ".provenance.json.tmp"
    tmp.write_text(json.dumps(prov, indent=1, default=str))
    os.replace(tmp, out / "provenance.json")
