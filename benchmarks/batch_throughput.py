"""Batch throughput: generated medium-size CT cases, 1 and 2 workers, local process pool and Dask LocalCluster.

Run: .venv/bin/python benchmarks/batch_throughput.py [--cases 40] [--shape 120,512,512] [--out bench-output/...]

Each case is a 120 x 512 x 512 int16 CT volume (0.75 x 0.75 x 2.5 mm; a body ellipse with noise) holding one
irregular, textured lesion of ~40 mm diameter (``radiomix.phantoms.lesion_phantom``) at a case-dependent place.
Images are written as uncompressed NRRD (what a reader of a PACS export meets after conversion), masks as compressed
NRRD. The numba cache is warmed by one case first, so no engine pays compilation. Every engine runs the same manifest
into its own folder; the script checks that their features.parquet files are byte-identical, then writes a markdown
table (cases per minute, Dask's overhead against the local pool) and the hardware it ran on to
``bench-output/batch_throughput.md``. Timings on a shared machine are upper bounds.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from radiomix.batch import extract_batch
from radiomix.image import Geometry, Mask
from radiomix.io import write_mask
from radiomix.io.itk import geometry_to_sitk
from radiomix.phantoms import lesion_phantom
from radiomix.settings import Discretisation, Resegmentation, Settings, Texture

SETTINGS = Settings(name="bench-batch", resegmentation=Resegmentation(range=(-200, 300)),
                    discretisation=Discretisation(method="fixed_bin_size", bin_width=25),
                    texture=Texture(aggregations=("3d_averaged", "3d")))
SPACING = (2.5, 0.75, 0.75)


def make_cohort(folder: Path, n: int, shape=(120, 512, 512), radius_mm: float = 20.0) -> Path:
    """``n`` cases on one shared noisy body background; each gets its own lesion (seed) at its own place."""
    rng = np.random.default_rng(0)
    nz, ny, nx = shape
    yy, xx = np.mgrid[:ny, :nx]
    body = ((yy - ny / 2) / (0.42 * ny)) ** 2 + ((xx - nx / 2) / (0.45 * nx)) ** 2 <= 1.0
    background = np.where(body, 40, -1000).astype(np.int16)[None] + \
        rng.normal(0, 20, shape).round().astype(np.int16)
    geom = Geometry(shape, SPACING)
    crop = (int(np.ceil(2.8 * radius_mm / SPACING[0])), int(np.ceil(2.8 * radius_mm / SPACING[1])),
            int(np.ceil(2.8 * radius_mm / SPACING[2])))
    rows = []
    for i in range(n):
        les_img, les_mask = lesion_phantom(shape=crop, spacing=SPACING, radius_mm=radius_mm, seed=i)
        z0 = (nz - crop[0]) // 2 + (i % 5 - 2) * 2
        y0 = ny // 2 - crop[1] // 2 + (i % 7 - 3) * 10
        x0 = nx // 2 - crop[2] // 2 + (i % 3 - 1) * 40
        img = background.copy()
        box = (slice(z0, z0 + crop[0]), slice(y0, y0 + crop[1]), slice(x0, x0 + crop[2]))
        img[box] = np.where(les_mask.array, les_img.array, img[box])
        mask = np.zeros(shape, bool)
        mask[box] = les_mask.array
        sitk.WriteImage(geometry_to_sitk(img, geom), str(folder / f"img{i}.nrrd"), False)
        write_mask(Mask(mask, geom), folder / f"roi{i}.nrrd")
        rows.append({"case_id": f"C{i:03d}", "image": f"img{i}.nrrd", "mask": f"roi{i}.nrrd"})
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    return folder / "manifest.csv"


def markdown_table(df: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in df.itertuples(index=False)]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=40)
    ap.add_argument("--shape", default="120,512,512", help="z,y,x voxels of each case")
    ap.add_argument("--radius-mm", type=float, default=20.0)
    ap.add_argument("--engines", default="local:1,local:2,dask:1,dask:2")
    ap.add_argument("--out", default="bench-output/batch_throughput.md")
    args = ap.parse_args()
    shape = tuple(int(v) for v in args.shape.split(","))
    Path("bench-output").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="batch-throughput-", dir="bench-output"))
    try:
        t0 = time.perf_counter()
        manifest = make_cohort(work, args.cases, shape, args.radius_mm)
        print(f"cohort of {args.cases} cases written in {time.perf_counter() - t0:.0f} s", flush=True)
        warm = pd.read_csv(manifest).head(1)
        warm[["image", "mask"]] = warm[["image", "mask"]].map(lambda p: str(work / p))
        t0 = time.perf_counter()
        extract_batch(warm, SETTINGS, work / "warm")  # numba compilation and caches, paid once
        print(f"warm-up case: {time.perf_counter() - t0:.1f} s", flush=True)
        rows, outputs, mismatches = [], {}, []
        for spec in args.engines.split(","):
            engine, jobs = spec.split(":")
            out = work / f"out-{spec.replace(':', '-')}"
            t0 = time.perf_counter()
            res = extract_batch(manifest, SETTINGS, out, jobs=int(jobs), dask="local" if engine == "dask" else None)
            dt = time.perf_counter() - t0
            if res.exit_code != 0:
                raise SystemExit(f"{spec}: failures:\n{res.failures}")
            outputs[spec] = (out / "features.parquet").read_bytes()
            first = next(iter(outputs))
            if outputs[spec] != outputs[first]:  # name what differs from the first engine
                a = pd.read_parquet(work / f"out-{first.replace(':', '-')}" / "features.parquet")
                diff = [c for c in a.columns if not a[c].equals(res.features[c])]
                mismatches.append(f"{spec} differs from {first} in {len(diff)} column(s): {', '.join(diff[:8])}")
                print(mismatches[-1], flush=True)
            rows.append({"engine": "Dask LocalCluster" if engine == "dask" else "local pool", "workers": int(jobs),
                         "seconds": round(dt, 1), "cases_per_minute": round(60 * args.cases / dt, 1)})
            print(rows[-1], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    identical = len(set(outputs.values())) == 1
    df = pd.DataFrame(rows)
    df["overhead_vs_local"] = ""
    for jobs in df.workers.unique():
        local = df[(df.engine == "local pool") & (df.workers == jobs)]
        dask = (df.engine != "local pool") & (df.workers == jobs)
        if len(local) and dask.any():
            df.loc[dask, "overhead_vs_local"] = f"{100 * (df.loc[dask, 'seconds'].iloc[0] / local.seconds.iloc[0] - 1):+.0f}%"
    roi_voxels = "~" + str(int(4 / 3 * np.pi * args.radius_mm ** 3 / np.prod(SPACING)))
    text = (f"# Batch throughput: {args.cases} cases of {shape[0]}x{shape[1]}x{shape[2]} voxels "
            f"({SPACING[1]} x {SPACING[2]} x {SPACING[0]} mm), one lesion of ~{2 * args.radius_mm:.0f} mm "
            f"({roi_voxels} ROI voxels)\n\n"
            f"Hardware: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.platform()}. "
            "Shared machine: timings are upper bounds.\n\n"
            f"Settings: {SETTINGS.name} (all families, 3D texture, re-segmentation [-200, 300] HU, bin width 25). "
            f"features.parquet byte-identical across engines: {'yes' if identical else 'NO'}.\n\n"
            + markdown_table(df) + "\n" + "".join(f"\n- {m}" for m in mismatches) + "\n")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)
    if not identical:
        raise SystemExit("engines disagree")


if __name__ == "__main__":
    main()
