"""``make demo``: a whole radiomics study on a synthetic three-site cohort, ending in ``demo-output/report.html``.

Steps (folder layout: docs/run-layout.md, "The demo run folder")::

    cohort/       make_cohort: NIfTI (sites A, B) and DICOM CT + RTSTRUCT (site C), clinical table, manifest
    extraction/   extract_batch with the local process pool: original image + LoG + wavelet features
    robustness.parquet   perturbation ICC(1,1) on a few cases (bounded time)
    harmonised.parquet   ComBat across sites (fitted on the training sites, the held-out site estimated on its own)
    model/ external/     binary outcome: nested CV on sites A+B, locked model evaluated on site C
    survival/            survival model, cross-validated risk, risk groups and log-rank test
    delta/               delta-radiomics (timepoint 2 - timepoint 1) and its association with the outcome
    report.html          radiomix.report

Usage: ``python -m radiomix.demo [--out demo-output] [--patients 150] [--jobs 2] [--seed 0] [--fast]``.

The models come from ``radiomix.analysis.models`` (train / evaluate); the report from ``radiomix.report``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from radiomix.settings import Discretisation, Resampling, Resegmentation, Settings, Texture

log = logging.getLogger("radiomix.demo")
HELD_OUT_SITE = "C"
ICC_THRESHOLD = 0.75
CLINICAL = ["age", "stage"]


def demo_settings(fast: bool = False) -> Settings:
    """Extraction settings of the demo: 2 mm isotropic linear resampling, re-segmentation [-200, 300] HU, fixed bin
    size 25 HU, 3D texture; filters: LoG (sigma 2 mm, and 4 mm unless ``fast``) and a Haar wavelet (HHH)."""
    from radiomix.filters.spec import FilterSpec

    filters = [FilterSpec(kind="log", sigma_mm=2.0)]
    if not fast:
        filters.append(FilterSpec(kind="log", sigma_mm=4.0))
    filters.append(FilterSpec(kind="wavelet", wavelet="haar", subband="HHH", rotation_invariant=True))
    families = ("morphology", "statistics", "intensity_histogram", "glcm", "glrlm", "glszm", "gldzm", "ngtdm",
                "ngldm")
    if fast:
        families = ("morphology", "statistics", "intensity_histogram", "glcm", "glszm")
    return Settings(
        name="demo" + ("_fast" if fast else ""),
        resampling=Resampling(spacing_mm=(2.0, 2.0, 2.0), interpolator="linear", round_intensities=True),
        resegmentation=Resegmentation(range=(-200, 300)),
        discretisation=Discretisation(method="fixed_bin_size", bin_width=25),
        texture=Texture(aggregations=("3d_averaged", "3d")),
        families=families,
        filters=tuple(filters),
    )


def _say(msg: str) -> None:
    print(f"[demo] {msg}", flush=True)


def run_robustness(manifest: pd.DataFrame, settings: Settings, out: Path, n_cases: int = 6,
                   n_perturbations: int = 5, seed: int = 0) -> pd.DataFrame:
    """Perturbation ICC on ``n_cases`` baseline cases spread over the sites -> robustness.parquet/.json."""
    from radiomix.analysis.perturb import perturbation_icc
    from radiomix.batch.worker import read_inputs

    base = manifest[manifest["timepoint"] == 1]
    base = base.assign(_k=base.groupby("site").cumcount()).sort_values(["_k", "site"], kind="stable").head(n_cases)
    images, masks = [], []
    for rec in base.to_dict("records"):
        im, m = read_inputs(rec)
        images.append(im)
        masks.append(m)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = perturbation_icc(images, masks, settings, n=n_perturbations, seed=seed)
    rob = (res.rename(columns={"icc1": "icc", "icc1_low": "icc_low", "icc1_high": "icc_high"})
           .rename_axis("feature").reset_index()[["feature", "icc", "icc_low", "icc_high", "rank"]])
    rob.to_parquet(out / "robustness.parquet", index=False)
    (out / "robustness.json").write_text(json.dumps({"threshold": ICC_THRESHOLD, "n_cases": len(images),
                                                     "n_perturbations": n_perturbations, "icc": "ICC(1,1)"}))
    return rob


def run_harmonisation(features: pd.DataFrame, out: Path) -> pd.DataFrame:
    """ComBat on every usable feature column (finite, varying): fitted on the training sites, the held-out site
    estimated on its own (``unseen='estimate'``); other columns pass through unchanged -> harmonised.parquet."""
    from radiomix.analysis.harmonise import ComBat
    from radiomix.report.sections import feature_columns

    cols = [c for c in feature_columns(features)
            if np.all(np.isfinite(features[c])) and features.groupby("site")[c].std().min() > 0]
    train = features["site"] != HELD_OUT_SITE
    cb = ComBat(batch="site", unseen="estimate").fit(features.loc[train, ["site", *cols]])
    harmonised = features.copy()
    harmonised[cols] = cb.transform(features[["site", *cols]])
    harmonised.to_parquet(out / "harmonised.parquet", index=False)
    return harmonised


def run_delta(features: pd.DataFrame, clinical: pd.DataFrame, out: Path) -> pd.DataFrame | None:
    """Delta features (timepoint 2 - timepoint 1 per patient, :func:`radiomix.analysis.delta.delta_features`) and
    their Spearman association with the outcome (Benjamini-Hochberg q-values) -> delta/."""
    from scipy import stats

    from radiomix.analysis.delta import delta_features
    from radiomix.analysis.select import benjamini_hochberg
    from radiomix.report.sections import feature_columns

    d = out / "delta"
    d.mkdir(exist_ok=True)
    if features["timepoint"].nunique() < 2:
        return None
    delta = delta_features(features, "patient_id", "timepoint", baseline=1, followup=2,
                           features=feature_columns(features))
    if len(delta) < 4:
        return None
    y = clinical[clinical["timepoint"] == 1].set_index("patient_id").loc[delta["patient_id"], "outcome"].to_numpy()
    delta.to_parquet(d / "delta_features.parquet", index=False)
    rows = []
    for c in [c for c in delta.columns if c.startswith("delta_")]:
        v = delta[c].to_numpy(float)
        if np.isfinite(v).all() and np.ptp(v) > 0:
            r = stats.spearmanr(v, y)
            rows.append((c, float(r.statistic), float(r.pvalue)))
    assoc = pd.DataFrame(rows, columns=["feature", "spearman_rho", "p_value"])
    assoc["q_value"] = benjamini_hochberg(assoc["p_value"].to_numpy())
    assoc = assoc.reindex(assoc["spearman_rho"].abs().sort_values(ascending=False).index).reset_index(drop=True)
    assoc.to_csv(d / "association.csv", index=False, float_format="%.6g")
    return assoc


def _is_feature(column: str) -> bool:
    from radiomix.report.sections import _FAMILY_RE

    return bool(_FAMILY_RE.search(column))


def run_models(features: pd.DataFrame, clinical: pd.DataFrame, out: Path, seed: int, fast: bool) -> None:
    """With radiomix.analysis.models: the binary model (nested CV on the training sites; ComBat and feature
    selection inside the folds; the locked model evaluated on the held-out site) and the survival
    model (Coxnet, cross-validated risk, median risk groups and log-rank test). Only features with perturbation
    ICC >= ICC_THRESHOLD enter the models."""
    rob = pd.read_parquet(out / "robustness.parquet")
    robust = set(rob.loc[rob["icc"] >= ICC_THRESHOLD, "feature"])
    # the robustness filter: perturbation ICCs do not use the outcome, so filtering before the models leaks nothing
    keep = [c for c in features.columns if c in robust or not _is_feature(c)]
    base = features.loc[features["timepoint"] == 1, keep].reset_index(drop=True)
    clin = clinical[clinical["timepoint"] == 1].reset_index(drop=True)
    train_f, test_f = base[base["site"] != HELD_OUT_SITE], base[base["site"] == HELD_OUT_SITE]
    train_c, test_c = clin[clin["site"] != HELD_OUT_SITE], clin[clin["site"] == HELD_OUT_SITE]
    from radiomix.analysis.models import evaluate, train

    boot = 200 if fast else 500
    common = {"pipeline": {"combat_unseen": "estimate", "n_features": 8},
              "cv": {"outer_folds": 5, "inner_folds": 3, "repeats": 1}, "bootstrap": boot, "seed": seed,
              "explain": {"permutation_repeats": 3, "shap": not fast}}
    cfg = {**common, "task": "binary", "models": ["logistic"], "clinical_features": CLINICAL,
           "feature_sets": ["radiomics", "clinical", "combined"], "primary_feature_set": "radiomics"}
    train(train_f.drop(columns=["timepoint"]), train_c[["case_id", *CLINICAL, "outcome"]], "outcome", cfg,
          out / "model", progress=False)
    evaluate(out / "model", test_f.drop(columns=["timepoint"]), test_c[["case_id", *CLINICAL, "outcome"]],
             out / "external")
    scfg = {**common, "task": "survival", "models": ["coxnet"]}
    train(train_f.drop(columns=["timepoint"]), train_c[["case_id", "time", "event"]], None, scfg,
          out / "survival", time="time", event="event", progress=False)
    _risk_groups(out / "survival")


def _risk_groups(folder: Path) -> None:
    """Median split of the cross-validated risk -> risk_groups.csv and the log-rank test -> logrank.json."""
    from radiomix.analysis.survival import logrank_test, risk_groups

    p = folder / "predictions.parquet"
    if not p.exists():
        return
    pred = pd.read_parquet(p).groupby("case_id", sort=False)[["time", "event", "risk"]].mean().reset_index()
    pred["group"] = [f"{g} risk" for g in risk_groups(pred["risk"].to_numpy())]
    pred[["case_id", "risk", "group"]].to_csv(folder / "risk_groups.csv", index=False)
    lr = logrank_test(pred["time"], pred["event"], pred["group"])
    (folder / "logrank.json").write_text(json.dumps({**lr, "split": "median of cross-validated risk"}))


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the extraction workers)."""
    import resource

    s, ch = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + ch.ru_utime + ch.ru_stime


def run_demo(out="demo-output", n_patients: int = 150, seed: int = 0, jobs: int = 2, fast: bool = False) -> Path:
    """Run the whole study into ``out``; returns the report's path. ``fast`` trims filters, families, perturbations
    and bootstrap resamples (for tests)."""
    from radiomix.batch import extract_batch
    from radiomix.cohort import make_cohort
    from radiomix.report import write_report

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    t, c = time.perf_counter(), _cpu_seconds()

    def lap(name):
        nonlocal t, c
        timings[name] = round(time.perf_counter() - t, 2)
        cpu[name] = round(_cpu_seconds() - c, 2)
        _say(f"{name}: {timings[name]:.1f} s wall, {cpu[name]:.1f} s CPU")
        t, c = time.perf_counter(), _cpu_seconds()

    _say(f"generating a synthetic cohort of {n_patients} patients in {out / 'cohort'}")
    manifest = make_cohort(out / "cohort", n_patients=n_patients, seed=seed)
    lap("cohort")
    settings = demo_settings(fast)
    _say(f"extracting features of {len(manifest)} cases with {jobs} worker(s)")
    res = extract_batch(out / "cohort" / "manifest.csv", settings, out / "extraction", jobs=jobs)
    lap("extraction")
    features = res.features.copy()  # one block per dtype: the merged table is built column by column
    clinical = pd.read_csv(out / "cohort" / "clinical.csv", dtype={"case_id": str, "patient_id": str})
    _say("robustness: perturbation ICC")
    run_robustness(manifest, settings, out, n_cases=6, n_perturbations=4 if fast else 6, seed=seed)
    lap("robustness")
    run_harmonisation(features, out)
    lap("harmonisation")
    _say("models: binary outcome (external validation on site C) and survival")
    run_models(features, clinical, out, seed, fast)
    lap("models")
    run_delta(features, clinical, out)
    lap("delta")
    report = write_report(out, out / "report.html", title="radiomix demo study (synthetic cohort)")
    lap("report")
    (out / "demo.json").write_text(json.dumps({"n_patients": n_patients, "seed": seed, "jobs": jobs, "fast": fast,
                                               "timings_s": timings, "cpu_s": cpu,
                                               "total_s": round(sum(timings.values()), 2),
                                               "total_cpu_s": round(sum(cpu.values()), 2)}, indent=1))
    _say(f"done in {sum(timings.values()):.0f} s wall ({sum(cpu.values()):.0f} s CPU, worker processes included)")
    return report


def main(argv=None) -> None:
    """Command line of ``python -m radiomix.demo``."""
    ap = argparse.ArgumentParser(prog="python -m radiomix.demo", description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="demo-output", help="output folder (default demo-output)")
    ap.add_argument("--patients", type=int, default=150, help="number of patients (default 150)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2, help="extraction worker processes (default 2)")
    ap.add_argument("--fast", action="store_true", help="fewer filters, families and resamples")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    report = run_demo(a.out, a.patients, a.seed, a.jobs, a.fast)
    print(f"\nReport: {report.resolve()}\nOpen it in a browser (it is one self-contained file).")


if __name__ == "__main__":
    main()
