"""Cross-check radiomix's PyRadiomics compatibility mode against PyRadiomics itself on every image type.

PyRadiomics (pyradiomics-bhklab 3.1.4) lives in its own virtualenv (``.bench-venv``, never imported here): for each
configuration this script writes the parameter file, runs a small PyRadiomics runner with ``.bench-venv/bin/python``
in a subprocess (it prints its feature values as JSON), runs radiomix's compat extraction in this process, and
compares every feature by relative error.

Configurations (brain1 and breast1 from the PyRadiomics reference data):

* ``plain``: every image type (Original, LoG sigma 1 and 3 mm, Wavelet, Square, SquareRoot, Logarithm, Exponential,
  Gradient, LBP2D, LBP3D) and every feature class;
* ``resampled``: the same with ``resampledPixelSpacing [2, 2, 2]`` and ``sitkBSpline``;
* ``maskgrid``: the same with the mask written on a different grid (cropped to the ROI box + 3 voxels, so origin and
  size differ) and ``correctMask: true``.

Outputs ``bench-output/crosscheck_pyradiomics.md`` (per configuration and image type: features compared, max relative
error, worst features) and, with ``--freeze``, the PyRadiomics values of brain1/plain as the regression data
``tests/compat/data/pyradiomics_3.1.4_brain1_filtered.csv`` (columns image_type, feature, value).

SciPy >= 1.17 removed ``scipy.special.sph_harm``, which PyRadiomics 3.1.4 calls for LBP3D (without it PyRadiomics
logs a warning and silently skips LBP3D). The runner aliases it to ``sph_harm_y`` with the arguments reordered, the
replacement SciPy documents; nothing else of PyRadiomics is touched.

Run: .venv/bin/python benchmarks/crosscheck_pyradiomics.py [--cases brain1 breast1] [--configs plain resampled maskgrid]
     [--freeze] [--out bench-output/crosscheck_pyradiomics.md]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_PY = ROOT / ".bench-venv" / "bin" / "python"
FREEZE_CSV = ROOT / "tests" / "compat" / "data" / "pyradiomics_3.1.4_brain1_filtered.csv"
RTOL = 1e-6

#: image types and their settings; LBP images hold small integers / small values: bin width 1 (as PyRadiomics advises)
IMAGE_TYPES = {
    "Original": {}, "LoG": {"sigma": [1.0, 3.0]}, "Wavelet": {}, "Square": {}, "SquareRoot": {}, "Logarithm": {},
    "Exponential": {}, "Gradient": {}, "LBP2D": {"binWidth": 1.0}, "LBP3D": {"binWidth": 1.0},
}
CLASSES = ("firstorder", "shape", "glcm", "glrlm", "glszm", "gldm", "ngtdm")

RUNNER = r'''
import json, sys, logging
import scipy.special as _ss
if not hasattr(_ss, "sph_harm"):  # removed in SciPy 1.17; documented replacement with reordered arguments
    _ss.sph_harm = lambda m, n, theta, phi: _ss.sph_harm_y(n, m, phi, theta)
import numpy as np
import radiomics
from radiomics import featureextractor
radiomics.setVerbosity(logging.ERROR)
params, image, mask = sys.argv[1:4]
ext = featureextractor.RadiomicsFeatureExtractor(params)
res = ext.execute(image, mask)
out = {}
for k, v in res.items():
    if k.startswith("diagnostics_"):
        continue
    out[k] = float(np.asarray(v))
print(json.dumps({"version": radiomics.__version__, "scipy": __import__("scipy").__version__,
                  "values": out}))
'''


def params_dict(config: str) -> dict:
    """The PyRadiomics parameter file of one configuration."""
    setting: dict = {"binWidth": 25, "label": 1}
    if config == "resampled":
        setting.update(resampledPixelSpacing=[2, 2, 2], interpolator="sitkBSpline")
    if config == "maskgrid":
        setting.update(correctMask=True)
    return {"setting": setting, "imageType": {k: dict(v) for k, v in IMAGE_TYPES.items()},
            "featureClass": {c: None for c in CLASSES}}


def mask_on_other_grid(mask_path: Path, out: Path) -> Path:
    """The mask cropped to its ROI box + 3 voxels: same spacing, another origin and size."""
    import numpy as np
    import SimpleITK as sitk

    m = sitk.ReadImage(str(mask_path))
    idx = np.argwhere(sitk.GetArrayFromImage(m) > 0)
    lo = np.maximum(idx.min(0)[::-1] - 3, 0)
    hi = np.minimum(idx.max(0)[::-1] + 4, np.asarray(m.GetSize()))
    sub = m[int(lo[0]):int(hi[0]), int(lo[1]):int(hi[1]), int(lo[2]):int(hi[2])]
    sitk.WriteImage(sub, str(out))
    return out


def run_pyradiomics(params_path: Path, image: Path, mask: Path) -> tuple[dict, float, str]:
    """PyRadiomics' features (``{name: value}``), its run time and version, from the bench virtualenv."""
    if not BENCH_PY.exists():
        raise SystemExit(f"{BENCH_PY} not found: PyRadiomics must be installed in .bench-venv")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(RUNNER)
        runner = fh.name
    t0 = time.perf_counter()
    proc = subprocess.run([str(BENCH_PY), runner, str(params_path), str(image), str(mask)], capture_output=True,
                          text=True, cwd=tempfile.gettempdir(), check=False)
    dt = time.perf_counter() - t0
    Path(runner).unlink(missing_ok=True)
    if proc.returncode != 0:
        raise SystemExit(f"PyRadiomics failed on {image.name}:\n{proc.stderr[-3000:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return data["values"], dt, f"{data['version']} (SciPy {data['scipy']})"


def run_radiomix(params: dict, image: Path, mask: Path) -> tuple[dict, float]:
    """radiomix's compat-mode features with PyRadiomics names, and the run time."""
    from radiomix.compat.pyradiomics import settings_from_params, to_pyradiomics_names
    from radiomix.extract import extract
    from radiomix.io import read_image, read_mask

    t0 = time.perf_counter()
    settings = settings_from_params(params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fs = extract(read_image(image), read_mask(mask, label=int(params["setting"].get("label", 1))), settings)
    return to_pyradiomics_names(fs), time.perf_counter() - t0


def rel_error(got: float, want: float) -> float:
    """|got - want| / |want| (absolute below 1e-12); 0 when both are NaN, inf when only one is."""
    if math.isnan(got) and math.isnan(want):
        return 0.0
    if math.isnan(got) or math.isnan(want):
        return math.inf
    err = abs(got - want)
    return err if abs(want) < 1e-12 else err / abs(want)


def image_type_of(name: str) -> str:
    return name.split("_", 1)[0]


def compare(rx: dict, py: dict) -> dict:
    """Per image type: n compared, max relative error, the worst features, names only one side has."""
    out: dict = {}
    for name in sorted(set(rx) | set(py)):
        it = image_type_of(name)
        e = out.setdefault(it, {"n": 0, "max": 0.0, "errors": [], "only_radiomix": [], "only_pyradiomics": []})
        if name not in py:
            e["only_radiomix"].append(name)
            continue
        if name not in rx:
            e["only_pyradiomics"].append(name)
            continue
        r = rel_error(float(rx[name]), float(py[name]))
        e["n"] += 1
        e["max"] = max(e["max"], r)
        e["errors"].append((r, name, float(rx[name]), float(py[name])))
    for e in out.values():
        e["errors"].sort(reverse=True)
    return out


def freeze(py: dict, path: Path = FREEZE_CSV) -> None:
    """Write PyRadiomics' values as the regression CSV (image_type, feature = class_Feature, value)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image_type", "feature", "value"])
        for name in sorted(py):
            it, feat = name.split("_", 1)
            w.writerow([it, feat, repr(float(py[name]))])


def report(results: list, pyversion: str) -> str:
    lines = ["# radiomix PyRadiomics mode vs PyRadiomics on every image type", "",
             (f"PyRadiomics {pyversion} in `.bench-venv` (subprocess); radiomix compat mode in `.venv`; "
             f"{platform.python_version()}, {platform.machine()}. Relative error |radiomix - PyRadiomics| / "
             f"|PyRadiomics| (absolute below 1e-12; NaN on both sides counts as equal). Tolerance {RTOL:g}. "
             "Timings are from a loaded shared 2-core machine: upper bounds."),
             "", "Parameters: binWidth 25 (LBP2D / LBP3D: 1), label 1, image types "
             + ", ".join(IMAGE_TYPES) + " (LoG sigma 1, 3 mm), classes " + ", ".join(CLASSES) + "; `resampled` adds "
             "resampledPixelSpacing [2, 2, 2] + sitkBSpline; `maskgrid` gives the mask on another grid (ROI box + 3 "
             "voxels) with correctMask.", "",
             "| case | config | image type | features | max rel. error | within 1e-6 |", "|---|---|---|---|---|---|"]
    worst_lines = []
    for case, config, cmp, t_py, t_rx in results:
        for it, e in sorted(cmp.items()):
            ok = "yes" if e["max"] <= RTOL and not e["only_radiomix"] and not e["only_pyradiomics"] else "**no**"
            extra = ""
            if e["only_radiomix"] or e["only_pyradiomics"]:
                extra = f" (+{len(e['only_radiomix'])} only radiomix, {len(e['only_pyradiomics'])} only PyRadiomics)"
            lines.append(f"| {case} | {config} | {it} | {e['n']}{extra} | {e['max']:.3g} | {ok} |")
            bad = [x for x in e["errors"] if x[0] > RTOL][:5]
            for r, name, got, want in bad:
                worst_lines.append(f"| {case} | {config} | `{name}` | {got!r} | {want!r} | {r:.3g} |")
            for name in (e["only_radiomix"] + e["only_pyradiomics"])[:5]:
                worst_lines.append(f"| {case} | {config} | `{name}` | only on one side | | |")
        lines.append(f"| {case} | {config} | *time* | PyRadiomics {t_py:.1f} s, radiomix {t_rx:.1f} s | | |")
    lines += ["", "## Features beyond 1e-6 (up to 5 per image type)", ""]
    if worst_lines:
        lines += ["| case | config | feature | radiomix | PyRadiomics | rel. error |", "|---|---|---|---|---|---|"]
        lines += worst_lines
    else:
        lines.append("None: every feature of every image type agrees to 1e-6.")
    lines.append("")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", nargs="+", default=["brain1", "breast1"])
    ap.add_argument("--configs", nargs="+", default=["plain", "resampled", "maskgrid"],
                    choices=["plain", "resampled", "maskgrid"])
    ap.add_argument("--freeze", action="store_true", help=f"write {FREEZE_CSV.relative_to(ROOT)} (brain1/plain)")
    ap.add_argument("--out", default=str(ROOT / "bench-output" / "crosscheck_pyradiomics.md"))
    args = ap.parse_args(argv)
    data = ROOT / "shared" / "reference" / "pyradiomics" / "data"
    if not data.exists():
        data = Path("/work/shared/reference/pyradiomics/data")
    results, pyversion = [], "?"
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases:
            image, mask = data / f"{case}_image.nrrd", data / f"{case}_label.nrrd"
            for config in args.configs:
                params = params_dict(config)
                ppath = Path(tmp) / f"{case}_{config}.json"  # PyRadiomics reads JSON parameter files too
                ppath.write_text(json.dumps(params))
                m = mask_on_other_grid(mask, Path(tmp) / f"{case}_label_cropped.nrrd") if config == "maskgrid" \
                    else mask
                py, t_py, pyversion = run_pyradiomics(ppath, image, m)
                rx, t_rx = run_radiomix(params, image, m)
                cmp = compare(rx, py)
                results.append((case, config, cmp, t_py, t_rx))
                worst = max((e["max"] for e in cmp.values()), default=0.0)
                print(f"{case}/{config}: {sum(e['n'] for e in cmp.values())} features, max rel. error {worst:.3g} "
                      f"(PyRadiomics {t_py:.1f} s, radiomix {t_rx:.1f} s)", flush=True)
                if args.freeze and case == "brain1" and config == "plain":
                    freeze(py)
                    print(f"wrote {FREEZE_CSV}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report(results, pyversion))
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
