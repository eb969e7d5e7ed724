"""Statistical behaviour of `train` on cohorts with a known truth (slow: each trains a full nested CV).

* binary outcome driven by two texture features, three sites with site shifts: the nested-CV AUC CI covers the true
  AUC of the generating model and the two true features are selected in most outer folds;
* survival: a model trained on two sites reaches, on the third (external) site, a C-index close to that of the true
  linear predictor on the same cases;
* leakage, end to end through `radiomix train`: pure-noise features with site effects and a random outcome give an
  AUC whose CI holds 0.5.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from radiomix.analysis.models import evaluate, train
from radiomix.analysis.simulate import TRUE_FEATURES, simulate_cohort

pytestmark = pytest.mark.slow


def test_nested_cv_ci_covers_true_auc_and_true_features_selected():
    c = simulate_cohort(240, 40, n_sites=3, coef=(1.5, -1.2), seed=11)
    cfg = {"models": ["logistic"], "cv": {"outer_folds": 5, "inner_folds": 3}, "bootstrap": 300,
           "pipeline": {"n_features": 5}, "explain": {"permutation_repeats": 2, "shap": False}}
    r = train(c.features, c.clinical, "outcome", cfg, None, progress=False)
    lo, hi = r.metrics["auc"]["ci"]
    assert lo <= c.truth["true_auc"] <= hi, (r.metrics["auc"], c.truth["true_auc"])
    freq = r.selection_frequency.set_index("feature")["frequency"]
    assert freq[list(TRUE_FEATURES)].min() >= 0.8, freq.head()
    assert freq.drop(list(TRUE_FEATURES)).mean() < 0.2  # 3 of 38 noise features fill the other slots
    slope = r.metrics["calibration_slope"]["ci"]
    assert slope[0] < 1 < slope[1] or abs(r.metrics["calibration_slope"]["estimate"] - 1) < 0.35


def test_survival_external_site_c_index(tmp_path):
    c = simulate_cohort(300, 30, n_sites=3, coef=(1.5, -1.2), seed=3)
    ext = c.features["site"] == "siteC"
    cfg = {"task": "survival", "models": ["coxnet"], "cv": {"outer_folds": 3, "inner_folds": 3}, "bootstrap": 100,
           "pipeline": {"n_features": 5, "combat_unseen": "estimate"}, "explain": {"permutation_repeats": 2,
                                                                                   "shap_samples": 30}}
    r = train(c.features[~ext], c.clinical, None, cfg, tmp_path / "surv", time="time", event="event",
              progress=False)
    assert r.metrics["c_index"]["estimate"] > 0.7 and np.isfinite(r.metrics["integrated_brier"]["estimate"])
    e = evaluate(tmp_path / "surv", c.features[ext], c.clinical, tmp_path / "ext", n_boot=100)
    from sksurv.metrics import concordance_index_censored

    clin = c.clinical.set_index("case_id").loc[e.predictions["case_id"]]
    oracle = concordance_index_censored(clin["event"].astype(bool).to_numpy(), clin["time"].to_numpy(),
                                        c.truth["linear_predictor"].loc[clin.index].to_numpy())[0]
    cext = e.metrics["c_index"]["estimate"]
    assert oracle - 0.08 <= cext <= oracle + 0.03, (cext, oracle)
    assert 0.7 < cext and e.metrics["c_index"]["ci"][0] < oracle
    assert 0 < e.metrics["integrated_brier"]["estimate"] < 0.25
    preds = pd.read_parquet(tmp_path / "surv" / "predictions.parquet")
    assert {"time", "event", "risk"} <= set(preds.columns)


def _noise_cohort(seed=0, n_sites=4, per_site=30, p=300):
    rng = np.random.default_rng(seed)
    site_i = np.repeat(np.arange(n_sites), per_site)
    n = site_i.size
    shift = rng.normal(0, 1, (n_sites, p))[site_i]
    scale = rng.uniform(0.5, 2, (n_sites, p))[site_i]
    X = pd.DataFrame(rng.normal(size=(n, p)) * scale + shift, columns=[f"original_glcm_f{i}" for i in range(p)])
    ids = [f"C{i:03d}" for i in range(n)]
    X.insert(0, "site", [f"s{i}" for i in site_i])
    X.insert(0, "patient_id", ids)
    X.insert(0, "case_id", ids)
    clinical = pd.DataFrame({"case_id": ids, "outcome": rng.permutation(np.repeat([0, 1], n // 2))})
    return X, clinical


def test_leakage_end_to_end_through_cli(tmp_path):
    from radiomix.cli import app

    X, clinical = _noise_cohort()
    X.to_parquet(tmp_path / "features.parquet")
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    cfg = {"models": ["logistic"], "cv": {"outer_folds": 5, "inner_folds": 3}, "bootstrap": 1000,
           "pipeline": {"n_features": 10}, "explain": {"permutation_repeats": 0, "shap": False}}
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(cfg))
    r = CliRunner().invoke(app, ["train", "--features", str(tmp_path / "features.parquet"), "--clinical",
                                 str(tmp_path / "clinical.csv"), "--outcome", "outcome", "--config",
                                 str(tmp_path / "model.yaml"), "--out", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    lo, hi = m["auc"]["ci"]
    assert lo < 0.5 < hi, m["auc"]


def test_other_tasks_models_and_leave_one_site_out():
    c = simulate_cohort(150, 15, n_sites=3, coef=(2.0, -1.5), seed=4)
    quick = {"cv": {"outer_folds": 3, "inner_folds": 2}, "bootstrap": 30, "pipeline": {"n_features": 4},
             "explain": {"permutation_repeats": 1, "shap_samples": 15}}
    mc = train(c.features, c.clinical, "outcome_class", {**quick, "task": "multiclass",
                                                         "models": ["logistic", "random_forest"],
                                                         "search": {"random_forest": {"max_features": [0.5]}}},
               None,
               progress=False)
    assert mc.metrics["auc"]["estimate"] > 0.6
    assert {c_ for c_ in mc.predictions.columns if c_.startswith("y_score_")} == \
        {"y_score_high", "y_score_low", "y_score_mid"}
    rg = train(c.features, c.clinical, "outcome_value", {**quick, "task": "regression", "models": ["ridge"]}, None,
               progress=False)
    assert rg.metrics["r2"]["estimate"] > 0.4
    bi = train(c.features, c.clinical, "outcome",
               {**quick, "models": ["logistic", "mlp", "stacking"],
                "feature_sets": ["clinical", "radiomics", "combined"], "clinical_features": ["age", "stage"],
                "search": {"logistic": {"C": [1.0]}, "mlp": {"alpha": [1.0]}}}, None, progress=False)
    comp = bi.comparison
    assert {"clinical/logistic", "radiomics/logistic", "combined/logistic", "combined/stacking"} <= set(comp.model)
    aucs = comp[comp.metric == "auc"].set_index("model")["estimate"]
    assert aucs["combined/logistic"] > aucs["clinical/logistic"] + 0.1
    p = comp[(comp.metric == "delong_p_vs_primary") & (comp.model == "clinical/logistic")]["estimate"].iloc[0]
    assert p < 0.05
    lo = train(c.features, c.clinical, "outcome", {**quick, "models": ["logistic"],
                                                   "cv": {"scheme": "leave_one_site_out", "inner_folds": 2},
                                                   "pipeline": {"n_features": 4, "combat_unseen": "estimate"}},
               None, progress=False)
    folds = lo.predictions.merge(c.features[["case_id", "site"]], on="case_id").groupby("fold")["site"].nunique()
    assert len(folds) == 3 and folds.max() == 1
    assert lo.metrics["auc"]["estimate"] > 0.7
