"""Outcome-model benchmark: nested CV of three model families on a simulated wide cohort.

Run: .venv/bin/python benchmarks/bench_models.py [--quick] [--out bench-output/models.md] [--n-jobs 1]

Full: 200 patients x 1000 features (two carry the signal; three sites with site shifts), binary outcome, 5-fold outer
x 5-fold inner nested CV (grid search inside), ComBat + k-best selection inside every fold, three model families
(penalised logistic regression, random forest, histogram gradient boosting), 1000 bootstrap resamples, permutation
importance and SHAP for the final model. ``--quick``: 100 patients x 200 features, 3 x 3 folds, 200 resamples.
Writes a markdown table (seconds per stage, AUC with CI per family, true AUC of the generating model) and the
hardware it ran on. Timings on a shared machine are upper bounds.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from radiomix.analysis.models import train
from radiomix.analysis.simulate import TRUE_FEATURES, simulate_cohort


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small cohort and few folds (a smoke run)")
    ap.add_argument("--out", type=Path, default=Path("bench-output/models.md"))
    ap.add_argument("--n-jobs", type=int, default=1, help="parallel inner grid search (joblib)")
    args = ap.parse_args()
    n, p, folds, boot = (100, 200, 3, 200) if args.quick else (200, 1000, 5, 1000)
    cohort = simulate_cohort(n, p, n_sites=3, coef=(1.5, -1.2), seed=2024)
    cfg = {"models": ["logistic", "random_forest", "hist_gradient_boosting"],
           "cv": {"outer_folds": folds, "inner_folds": folds}, "bootstrap": boot, "seed": 0,
           "pipeline": {"n_features": 10}, "explain": {"permutation_repeats": 5, "shap_samples": 100},
           "n_jobs": args.n_jobs}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        res = train(cohort.features, cohort.clinical, "outcome", cfg, Path(tmp) / "run", progress=True)
    total = time.perf_counter() - t0
    comp = res.comparison
    auc = comp[comp.metric == "auc"].set_index("model")
    freq = res.selection_frequency.set_index("feature")["frequency"]
    lines = [
        "# Outcome models: nested cross-validation benchmark", "",
        (f"Cohort: {n} patients x {p} features (2 true, {p - 2} noise), 3 sites with site shifts, binary outcome; "
         f"true AUC of the generating model {cohort.truth['true_auc']:.3f}."),
        (f"Validation: {folds}-fold outer x {folds}-fold inner nested CV (grouped, stratified), ComBat + ANOVA "
         f"k-best (k=10) inside every fold, {boot} patient-bootstrap resamples; final model refitted with "
         "permutation importance and SHAP."), "",
        f"**Total wall time: {total:.1f} s** ({'quick' if args.quick else 'full'} run, n_jobs={args.n_jobs}).", "",
        "| model | AUC | 95% CI |", "| --- | --- | --- |"]
    for m, row in auc.iterrows():
        lines.append(f"| {m} | {row['estimate']:.3f} | {row['ci_low']:.3f} - {row['ci_high']:.3f} |")
    lines += ["", "Selection frequency of the true features (primary model): " +
              ", ".join(f"{f} {freq.get(f, 0):.2f}" for f in TRUE_FEATURES), "",
              (f"Machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
               f"{os.cpu_count()} CPUs (load average at the end: {os.getloadavg()[0]:.1f}). "
               "On a shared machine these times are upper bounds.")]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
