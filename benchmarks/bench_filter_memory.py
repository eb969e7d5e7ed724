"""Filter memory benchmark: LoG at 3 sigmas + all 8 first-level wavelet sub-bands, features of every response map,
on a 512 x 512 x 120 CT (0.75 x 0.75 x 2.5 mm, int16 on disk) with a 40 mm lesion. Peak RSS is measured in a fresh
process (read + extract) and must stay under 1 GiB.

Run: .venv/bin/python benchmarks/bench_filter_memory.py [--out bench-output/filter_memory.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SHAPE = (120, 512, 512)  # z, y, x
SPACING = (2.5, 0.75, 0.75)
LIMIT_MIB = 1024


def settings():
    from radiomix.settings import Discretisation, Resegmentation, Settings

    filters = [{"kind": "log", "sigma_mm": s} for s in (1.0, 2.0, 3.0)]
    filters += [{"kind": "wavelet", "wavelet": "coif1", "subband": b, "level": 1}
                for b in ("LLL", "LLH", "LHL", "LHH", "HLL", "HLH", "HHL", "HHH")]
    return Settings(name="bench-filter-memory", resegmentation=Resegmentation(range=(-200, 300)),
                    discretisation=Discretisation(method="fixed_bin_number", bin_number=32),
                    filters=filters, filter_families=("statistics", "intensity_histogram", "glcm"))


def make_case(folder: Path) -> tuple[Path, Path]:
    """Write a CT-like int16 volume and a 40 mm lesion mask, slice by slice (the generator stays small)."""
    import SimpleITK as sitk

    rng = np.random.default_rng(0)
    nz, ny, nx = SHAPE
    yy, xx = np.meshgrid((np.arange(ny) - ny / 2) * SPACING[1], (np.arange(nx) - nx / 2) * SPACING[2],
                         indexing="ij")
    body = (yy / 170.0) ** 2 + (xx / 150.0) ** 2 <= 1.0
    img = np.empty(SHAPE, np.int16)
    mask = np.zeros(SHAPE, np.uint8)
    for z in range(nz):
        dz = (z - nz / 2) * SPACING[0]
        r = np.sqrt(dz**2 + (yy - 30.0) ** 2 + (xx + 40.0) ** 2)
        lesion = r <= 20.0
        sl = np.where(body, 40.0, -1000.0) + rng.normal(0, 20, (ny, nx))
        sl[lesion] += 20 + 40 * np.sin(r[lesion] / 3.0)
        img[z] = np.round(sl).astype(np.int16)
        mask[z] = lesion
    for arr, name in ((img, "ct.nii.gz"), (mask, "lesion.nii.gz")):
        im = sitk.GetImageFromArray(arr)
        im.SetSpacing(SPACING[::-1])
        sitk.WriteImage(im, str(folder / name), True)
    return folder / "ct.nii.gz", folder / "lesion.nii.gz"


def child(image: str, mask: str) -> None:
    """Fresh process: read, extract with the filters, print timings, feature count and peak RSS as JSON."""
    from radiomix.extract import extract
    from radiomix.io import read_image, read_mask

    t0 = time.perf_counter()
    img = read_image(image)
    m = read_mask(mask)
    t1 = time.perf_counter()
    fs = extract(img, m, settings())
    t2 = time.perf_counter()
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"read_s": t1 - t0, "extract_s": t2 - t1, "n_values": len(fs.values),
                      "image_types": len({v.image_type for v in fs.values}), "peak_rss_mib": rss_kib / 1024,
                      "image_dtype": str(img.array.dtype), "roi_voxels": int(m.n_voxels)}))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench-output/filter_memory.md")
    ap.add_argument("--child", nargs=2, metavar=("IMAGE", "MASK"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        image, mask = make_case(Path(tmp))
        r = subprocess.run([sys.executable, __file__, "--child", str(image), str(mask)], capture_output=True, check=False,
                           text=True)
        if r.returncode != 0:
            print(r.stderr, file=sys.stderr)
            return r.returncode
        res = json.loads(r.stdout.strip().splitlines()[-1])
    ok = res["peak_rss_mib"] < LIMIT_MIB
    lines = [
        "# Filter memory benchmark",
        "",
        (f"CT {SHAPE[2]}x{SHAPE[1]}x{SHAPE[0]} (x, y, z) voxels of {SPACING[2]}x{SPACING[1]}x{SPACING[0]} mm, "
         f"int16 on disk, 40 mm lesion ({res['roi_voxels']} voxels); LoG sigma 1, 2, 3 mm + 8 coif1 level-1 "
         "wavelet sub-bands; statistics, intensity histogram and GLCM of every response map, all families on the "
         "original."),
        "",
        "| peak RSS (MiB) | limit (MiB) | pass | read (s) | extract (s) | image types | values |",
        "| ---: | ---: | :---: | ---: | ---: | ---: | ---: |",
        (f"| {res['peak_rss_mib']:.0f} | {LIMIT_MIB} | {'yes' if ok else 'NO'} | {res['read_s']:.1f} | "
         f"{res['extract_s']:.1f} | {res['image_types']} | {res['n_values']} |"),
        "",
        (f"Measured in a fresh process (ru_maxrss). Host: {platform.platform()}, {os.cpu_count()} CPUs, Python "
         f"{platform.python_version()}. Times on a shared machine are upper bounds."),
    ]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
