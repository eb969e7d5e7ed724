"""Shared scaffolding of the per-tool benchmark runners.

Every runner is started in a fresh process as ``<python> benchmarks/peers/<tool>_case.py --case NAME --image P
--mask P --task original|filters|voxel [--warm]`` and prints one JSON object on its last stdout line:

``tool, version, task, case, status ("ok" | "unsupported" | "error"), reason, import_s, read_s, extract_s (first
extraction in this process, image and mask already in memory), extract_cpu_s (its CPU seconds, all threads),
extract_warm_s / extract_warm_cpu_s (a second extraction, with --warm), n_values, cpu_s, maxrss_mb``. The parent (benchmarks/run.py) adds the process wall time and the child's rusage.

Tasks (the same for every tool, as far as each tool allows; each runner says what it computes):

* ``original``: all features of the original image, 3D, fixed bin size 25, no resampling.
* ``filters``: LoG at sigma 1, 2, 3 mm and the 8 first-level wavelet sub-bands (coif1), with the features each tool
  computes on filtered images by default.
* ``voxel``: voxel-wise first-order + GLCM maps, kernel radius 1, over the case's ROI (a 32 x 32 x 16 box).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import traceback

T_START = time.perf_counter()

#: LoG sigmas (mm) of the ``filters`` task
LOG_SIGMAS = (1.0, 2.0, 3.0)
#: first-level wavelet sub-bands (x, y, z letter order) of the ``filters`` task
WAVELET_SUBBANDS = ("LLL", "LLH", "LHL", "LHH", "HLL", "HLH", "HHL", "HHH")
WAVELET = "coif1"
BIN_WIDTH = 25.0
KERNEL_RADIUS = 1


def parse_args(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--mask", required=True)
    ap.add_argument("--task", required=True, choices=("original", "filters", "voxel"))
    ap.add_argument("--warm", action="store_true", help="also time a second extraction in this process")
    return ap.parse_args(argv)


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB: VmHWM from /proc (Linux). ``ru_maxrss`` is not used where VmHWM
    exists, because Linux carries it over fork and exec, so a child would report at least its parent's peak."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024.0, 1)  # kB
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def emit(rec: dict) -> None:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    rec.setdefault("cpu_s", round(ru.ru_utime + ru.ru_stime, 4))
    rec.setdefault("maxrss_mb", peak_rss_mb())
    sys.stdout.flush()
    print(json.dumps(rec), flush=True)


def run(tool: str, version: str, args, t_import: float, read, extract, supported=("original", "filters", "voxel"),
        reason: str = "") -> None:
    """Time ``read(args) -> data`` and ``extract(data, task) -> n_values`` and print the JSON record."""
    rec = {"tool": tool, "version": version, "task": args.task, "case": args.case, "import_s": round(t_import, 4)}
    if args.task not in supported:
        rec.update(status="unsupported", reason=reason or f"{tool} has no {args.task} extraction")
        emit(rec)
        return
    try:
        t0 = time.perf_counter()
        data = read(args)
        t1 = time.perf_counter()
        c1 = time.process_time()
        n = extract(data, args.task)
        t2 = time.perf_counter()
        rec.update(read_s=round(t1 - t0, 4), extract_s=round(t2 - t1, 4), n_values=int(n), status="ok",
                   extract_cpu_s=round(time.process_time() - c1, 4))
        if args.warm:
            t3 = time.perf_counter()
            c3 = time.process_time()
            extract(data, args.task)
            rec["extract_warm_s"] = round(time.perf_counter() - t3, 4)
            rec["extract_warm_cpu_s"] = round(time.process_time() - c3, 4)
        rec["total_s"] = round(time.perf_counter() - T_START, 4)
    except Exception as exc:  # noqa: BLE001 - a peer that cannot run here is recorded, not fatal
        rec.update(status="error", reason=f"{type(exc).__name__}: {str(exc)[:300]}")
        traceback.print_exc(file=sys.stderr)
    emit(rec)
