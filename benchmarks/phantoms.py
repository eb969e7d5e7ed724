"""Deterministic benchmark phantoms, written as NIfTI to ``bench-output/phantoms/``.

Cases (sizes in x, y, z order as scanners write them; arrays are z, y, x):

* ``small``  128 x 128 x 64, 1 x 1 x 2 mm, a textured ~5k-voxel lesion
* ``medium`` 512 x 512 x 120, 0.75 x 0.75 x 2.5 mm, an irregular ~40 mm lesion (~30k voxels)
* ``large``  the medium grid with a liver-sized ROI (~800k voxels)
* ``voxel``  the small phantom's image with a 32 x 32 x 16 box ROI at the lesion's centre (voxel-wise maps)
* ``ibsi_ct`` the IBSI 1 CT phantom, read in place from the shared reference folder (never copied)

A phantom is a CT-like body (soft tissue 40 HU in air) with noise; the lesion carries smooth Gaussian texture and an
irregular surface (its radius modulated by smooth noise). Everything is built inside the lesion's bounding box, so
making the 31M-voxel grids takes seconds. Same code, same files: the generator is seeded.

Usage: ``python benchmarks/phantoms.py [--out bench-output/phantoms] [--cases small,medium,large]``
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
from scipy import ndimage

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench-output" / "phantoms"
IBSI_CT = Path(os.environ.get("RADIOMIX_REFERENCE_DIR", ROOT.parent / "shared" / "reference")) / \
    "ibsi" / "ibsi1" / "ct_phantom" / "nifti"

#: name -> (shape z, y, x), spacing (z, y, x) mm, lesion semi-axes (z, y, x) mm, texture sigma (voxels), seed
CASES: dict[str, dict] = {
    "small": {"shape": (64, 128, 128), "spacing": (2.0, 1.0, 1.0), "axes_mm": (12.3, 13.2, 12.8), "seed": 1},
    "medium": {"shape": (120, 512, 512), "spacing": (2.5, 0.75, 0.75), "axes_mm": (21.7, 22.7, 22.2), "seed": 2},
    "large": {"shape": (120, 512, 512), "spacing": (2.5, 0.75, 0.75), "axes_mm": (46.0, 66.0, 90.0), "seed": 3},
}


def make_phantom(shape, spacing, axes_mm, seed: int, irregularity: float = 0.25):
    """Return (image int16 HU, mask uint8), both (z, y, x), for one case definition."""
    rng = np.random.default_rng(seed)
    sp = np.asarray(spacing, float)
    _, ny, nx = shape
    # body: an elliptic cylinder of soft tissue in air, with noise
    yy, xx = np.meshgrid((np.arange(ny) - (ny - 1) / 2) * sp[1], (np.arange(nx) - (nx - 1) / 2) * sp[2],
                         indexing="ij")
    body2d = (yy / (0.46 * ny * sp[1])) ** 2 + (xx / (0.40 * nx * sp[2])) ** 2 <= 1.0
    img = np.where(body2d[None], np.int16(40), np.int16(-1000)).astype(np.int16)
    img = np.broadcast_to(img, shape).copy()
    img += rng.normal(0, 12, size=shape).astype(np.int16)
    # lesion inside its bounding box (+ 20 % for the irregular surface)
    ax = np.asarray(axes_mm, float)
    half = np.ceil(ax * (1 + irregularity) / sp).astype(int) + 1
    centre = np.array(shape) // 2
    box = tuple(slice(int(c - h), int(c + h + 1)) for c, h in zip(centre, half))
    bshape = tuple(s.stop - s.start for s in box)
    z, y, x = np.meshgrid(*[(np.arange(n) - (n - 1) / 2) * s for n, s in zip(bshape, sp)], indexing="ij")
    r = np.sqrt((z / ax[0]) ** 2 + (y / ax[1]) ** 2 + (x / ax[2]) ** 2)
    bumps = ndimage.gaussian_filter(rng.standard_normal(bshape), sigma=np.maximum(6.0 / sp, 1.0))
    bumps /= np.abs(bumps).max() + 1e-12
    lesion = r <= 1.0 + irregularity * bumps
    lab, n = ndimage.label(lesion)
    if n > 1:  # keep the largest connected piece
        lesion = lab == (np.argmax(np.bincount(lab.ravel())[1:]) + 1)
    lesion = ndimage.binary_fill_holes(lesion)
    texture = ndimage.gaussian_filter(rng.standard_normal(bshape), sigma=1.2) * 220.0
    necrosis = ndimage.gaussian_filter(rng.standard_normal(bshape), sigma=3.0) > 0.15
    values = 70.0 + texture - 50.0 * necrosis + rng.normal(0, 15, bshape)
    sub = img[box]
    sub[lesion] = np.clip(np.round(values[lesion]), -1000, 3000).astype(np.int16)
    mask = np.zeros(shape, np.uint8)
    mask[box][lesion] = 1
    return img, mask


def write_case(name: str, out: Path = DEFAULT_OUT, force: bool = False) -> dict:
    """Write ``<out>/<name>_image.nii.gz`` and ``<name>_mask.nii.gz`` (skipped when present); return their paths."""
    import SimpleITK as sitk

    out.mkdir(parents=True, exist_ok=True)
    ip, mp = out / f"{name}_image.nii.gz", out / f"{name}_mask.nii.gz"
    meta = out / f"{name}.json"
    if force or not (ip.exists() and mp.exists() and meta.exists()):
        c = CASES[name]
        img, mask = make_phantom(c["shape"], c["spacing"], c["axes_mm"], c["seed"])
        for arr, p in ((img, ip), (mask, mp)):
            s = sitk.GetImageFromArray(arr)
            s.SetSpacing(tuple(float(v) for v in c["spacing"][::-1]))
            sitk.WriteImage(s, str(p), True)
        meta.write_text(json.dumps({"shape_zyx": list(c["shape"]), "spacing_zyx": list(c["spacing"]),
                                    "roi_voxels": int(mask.sum())}))
    return {"image": str(ip), "mask": str(mp), **json.loads(meta.read_text())}


#: (z, y, x) size of the region of the ``voxel`` case
VOXEL_REGION = (16, 32, 32)


def write_voxel_case(out: Path = DEFAULT_OUT) -> dict:
    """The ``voxel`` case: the small phantom's image and a box mask of ``VOXEL_REGION`` at its centre."""
    import SimpleITK as sitk

    small = write_case("small", out)
    mp = out / "voxel_mask.nii.gz"
    if not mp.exists():
        c = CASES["small"]
        mask = np.zeros(c["shape"], np.uint8)
        centre = np.array(c["shape"]) // 2
        mask[tuple(slice(int(m - n // 2), int(m - n // 2 + n)) for m, n in zip(centre, VOXEL_REGION))] = 1
        s = sitk.GetImageFromArray(mask)
        s.SetSpacing(tuple(float(v) for v in c["spacing"][::-1]))
        sitk.WriteImage(s, str(mp), True)
    return {"image": small["image"], "mask": str(mp), "shape_zyx": small["shape_zyx"],
            "spacing_zyx": small["spacing_zyx"], "roi_voxels": int(np.prod(VOXEL_REGION))}


def cases(names, out: Path = DEFAULT_OUT) -> dict[str, dict]:
    """Paths (and ROI sizes) of the named cases, writing phantoms as needed; ``ibsi_ct`` is read in place."""
    res = {}
    for n in names:
        if n == "ibsi_ct":
            ip, mp = IBSI_CT / "image.nii.gz", IBSI_CT / "mask.nii.gz"
            if not ip.exists():
                raise FileNotFoundError(f"{ip}: IBSI CT phantom not found (set RADIOMIX_REFERENCE_DIR)")
            res[n] = {"image": str(ip), "mask": str(mp)}
        elif n in CASES:
            res[n] = write_case(n, out)
        elif n == "voxel":
            res[n] = write_voxel_case(out)
        else:
            raise KeyError(f"unknown case {n!r}; known: {', '.join([*CASES, 'voxel', 'ibsi_ct'])}")
    return res


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--cases", default="small,medium,large")
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    for name in a.cases.split(","):
        if name in CASES:
            print(name, write_case(name, a.out, a.force))
