"""A small fake run folder (docs/run-layout.md) built without extraction or models, for fast report tests."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

XSS = "<script>alert(1)</script>"


def make_fake_run(root, n_patients: int = 9, seed: int = 0):
    """A run folder with every file the report reads; one case id is an XSS attempt. Returns the folder."""
    from radiomix.cohort import make_cohort
    from radiomix.demo import demo_settings

    rng = np.random.default_rng(seed)
    make_cohort(root / "cohort", n_patients=n_patients, seed=seed)
    clin = pd.read_csv(root / "cohort" / "clinical.csv", dtype={"case_id": str, "patient_id": str})
    # a hostile case id: it must show up as text, never as markup
    bad = clin["case_id"].iloc[0]
    clin.loc[0, "case_id"] = XSS
    clin.to_csv(root / "cohort" / "clinical.csv", index=False)
    m = pd.read_csv(root / "cohort" / "manifest.csv", dtype={"case_id": str})
    m.loc[m["case_id"] == bad, "case_id"] = XSS
    m.to_csv(root / "cohort" / "manifest.csv", index=False)
    n = len(clin)
    feats = {f"original_statistics_f{k}": rng.normal(size=n) + (clin["site"] == "B") * 0.8 for k in range(6)}
    feats.update({f"log_sigma_2mm_glcm_g{k}": rng.normal(size=n) for k in range(4)})
    features = pd.concat([clin[["case_id", "patient_id", "site", "timepoint"]], pd.DataFrame(feats)], axis=1)
    ext = root / "extraction"
    ext.mkdir()
    features.to_parquet(ext / "features.parquet", index=False)
    pd.DataFrame([{"row_id": "r1", "case_id": XSS, "stage": "extract", "error_type": "InputError",
                   "message": "<b>bold</b> mask is empty"}]).to_parquet(ext / "failures.parquet", index=False)
    pd.DataFrame([{"row_id": "r2", "case_id": clin["case_id"].iloc[1], "column": "original_statistics_f0",
                   "reason": "undefined for this ROI"}]).to_parquet(ext / "nan_reasons.parquet", index=False)
    s = demo_settings(fast=True)
    (ext / "provenance.json").write_text(json.dumps({
        "versions": {"radiomix": "0.1.0", "python": "3.11"}, "settings_digest": s.digest(),
        "settings_yaml": s.to_yaml(), "n_cases": n, "n_done": n - 1, "n_failed": 1, "wall_seconds": 1.5,
        "engine": {"dask": None, "jobs": 1},
        "cases": {"r1": {"case_id": XSS, "warnings": ["RuntimeWarning: <i>odd</i>"]}}}))
    names = list(feats)
    pd.DataFrame({"feature": names, "icc": np.linspace(0.95, 0.4, len(names)),
                  "icc_low": np.linspace(0.9, 0.3, len(names)), "icc_high": np.linspace(0.99, 0.5, len(names)),
                  "rank": np.arange(1, len(names) + 1)}).to_parquet(root / "robustness.parquet", index=False)
    (root / "robustness.json").write_text(json.dumps({"threshold": 0.75, "n_cases": 4, "n_perturbations": 3}))
    harm = features.copy()
    harm[names] = harm[names] - harm.groupby("site")[names].transform("mean")
    harm.to_parquet(root / "harmonised.parquet", index=False)
    y = clin["outcome"].to_numpy()
    score = np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.2, n), 0.01, 0.99)
    for folder, metrics in (("model", {"auc": {"estimate": 0.8123456789, "ci": [0.7011111, 0.9122222]},
                                       "brier": {"estimate": 0.18, "ci": [0.12, 0.25]}, "task": "binary", "n": n,
                                       "n_events": int(y.sum())}),
                            ("external", {"auc": {"estimate": 0.7333333333, "ci": [0.5, 0.9]}, "task": "binary",
                                          "n": n}),
                            ("survival", {"c_index": {"estimate": 0.7123, "ci": [0.61, 0.8]}, "task": "survival",
                                          "n": n, "n_events": int(clin["event"].sum())})):
        d = root / folder
        d.mkdir()
        (d / "metrics.json").write_text(json.dumps(metrics))
    pred = pd.DataFrame({"case_id": clin["case_id"], "patient_id": clin["patient_id"], "repeat": 0, "fold": 0,
                         "y_true": y, "y_score": score})
    pred.to_parquet(root / "model" / "predictions.parquet", index=False)
    pred[["case_id", "patient_id", "y_true", "y_score"]].to_parquet(root / "external" / "predictions.parquet",
                                                                    index=False)
    pd.DataFrame({"case_id": clin["case_id"], "patient_id": clin["patient_id"], "repeat": 0, "fold": 0,
                  "time": clin["time"], "event": clin["event"], "risk": score}).to_parquet(
        root / "survival" / "predictions.parquet", index=False)
    pd.DataFrame({"model": ["radiomics/logistic", "clinical/logistic"], "metric": ["auc", "auc"],
                  "estimate": [0.81, 0.6], "ci_low": [0.7, 0.45], "ci_high": [0.91, 0.74]}).to_csv(
        root / "model" / "comparison.csv", index=False)
    pd.DataFrame({"feature": names[:3], "frequency": [1.0, 0.6, 0.2]}).to_csv(
        root / "model" / "selection_frequency.csv", index=False)
    pd.DataFrame({"feature": names[:3], "permutation_mean": [0.1, 0.05, 0.01], "permutation_std": [0.02, 0.01, 0.01],
                  "shap_mean_abs": [0.3, 0.2, 0.1]}).to_csv(root / "model" / "importance.csv", index=False)
    (root / "model" / "model.json").write_text(json.dumps({"task": "binary", "outcome": "outcome", "seed": 0}))
    (root / "delta").mkdir()
    pd.DataFrame({"feature": ["delta_" + names[0]], "spearman_rho": [0.5], "p_value": [0.01],
                  "q_value": [0.02]}).to_csv(root / "delta" / "association.csv", index=False)
    return root


@pytest.fixture(scope="module")
def fake_run(tmp_path_factory):
    return make_fake_run(tmp_path_factory.mktemp("run"))
