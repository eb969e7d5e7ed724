"""Batch throughput: 40 generated medium-size cases, 1 and 2 workers, local pool and Dask LocalCluster.

Run: .venv/bin/python benchmarks/batch_throughput.py [--cases 40] [--out bench-output/batch.md]
Writes a markdown table (cases per minute, Dask overhead against the local pool) and the hardware it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from radiomix.batch import extract_batch
from radiomix.io import write_image, write_mask
from radiomix.phantoms import lesion_phantom
from radiomix.settings import Discretisation, Resegmentation, Settings, Texture

SETTINGS = Settings(name="bench-batch", resegmentation=Resegmentation(range=(-200, 300)),
                    discretisation=Discretisation(method="fixed_bin_size", bin_width=25),
                    texture=Texture(aggregations=("3d_averaged", "3d")))


def make_cohort(folder: Path, n: int) -> Path:
    rows = []
    for i in range(n):
        # medium-size: 96 x 192 x 192 voxels of 0.75 x 0.75 x 2.5 mm, a ~40 mm irregular lesion
        img, mask = lesion_phantom(shape=(48, 160, 160), spacing=(2.5, 0.75, 0.75), radius_mm=20, seed=i)
        write_image(img, folder / f"img{i}.nii.gz")
        write_mask(mask, folder / f"roi{i}.nii.gz")
        rows.append({"case_id": f"C{i:03d}", "image": f"img{i}.nii.gz", "mask": f"roi{i}.nii.gz"})
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    return folder / "manifest.csv"


def markdown_table(df: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in df.itertuples(index=False)]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=40)
    ap.add_argument("--out", default="bench-output/batch.md")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="radiomix-bench-"))
    manifest = make_cohort(work, args.cases)
    # warm the numba cache once so no engine pays compilation
    extract_batch(pd.read_csv(manifest).head(1).assign(image=lambda d: str(work) + "/" + d.image,
                                                       mask=lambda d: str(work) + "/" + d["mask"]),
                  SETTINGS, work / "warm")
    rows = []
    for engine, jobs in [("local pool", 1), ("local pool", 2), ("dask LocalCluster", 1), ("dask LocalCluster", 2)]:
        out = work / f"out-{engine.split()[0]}-{jobs}"
        t0 = time.perf_counter()
        res = extract_batch(manifest, SETTINGS, out, jobs=jobs, dask="local" if engine.startswith("dask") else None)
        dt = time.perf_counter() - t0
        assert res.exit_code == 0, res.failures
        rows.append({"engine": engine, "workers": jobs, "seconds": round(dt, 1),
                     "cases_per_minute": round(60 * args.cases / dt, 1)})
    df = pd.DataFrame(rows)
    for jobs in (1, 2):
        local = df[(df.engine == "local pool") & (df.workers == jobs)].seconds.iloc[0]
        df.loc[(df.engine != "local pool") & (df.workers == jobs), "overhead_vs_local"] = (
            f"{100 * (df[(df.engine != 'local pool') & (df.workers == jobs)].seconds.iloc[0] / local - 1):+.0f}%")
    text = (f"# Batch throughput ({args.cases} cases of 48x160x160 voxels, ROI ~40 mm)\n\n"
            f"Hardware: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.platform()}\n\n"
            + markdown_table(df.fillna("")) + "\n")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
