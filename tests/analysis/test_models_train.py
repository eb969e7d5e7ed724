"""`train` / `evaluate` end to end on small simulated cohorts: run-folder layout, schema, reproducibility, model-file
safety, grouping, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from radiomix.analysis.modelio import load_model
from radiomix.analysis.models import evaluate, train
from radiomix.analysis.pipelines import load_model_config
from radiomix.analysis.simulate import TRUE_FEATURES, simulate_cohort
from radiomix.errors import InputError, SettingsError

FAST = {"models": ["logistic"], "cv": {"outer_folds": 3, "inner_folds": 2}, "bootstrap": 40,
        "search": {"logistic": {"C": [0.1, 1.0]}},
        "pipeline": {"n_features": 4}, "explain": {"permutation_repeats": 2, "shap_samples": 20}}
# no inner search, no explanations: for the tests that only need a fitted run
TINY = {**FAST, "search": {"logistic": {"C": [1.0]}}, "bootstrap": 20,
        "explain": {"permutation_repeats": 0, "shap": False}}

class Evil:
    """A type outside the model-file allow-list."""

    def __init__(self):
        self.payload = "anything"


RUN_FILES = {"model.skops", "model.json", "metrics.json", "comparison.csv", "predictions.parquet",
             "selection_frequency.csv", "importance.csv", "provenance.json"}


@pytest.fixture(scope="module")
def cohort():
    return simulate_cohort(120, 12, n_sites=3, coef=(2.0, -1.5), missing_rate=0.02, seed=1)


@pytest.fixture(scope="module")
def run(cohort, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    return train(cohort.features, cohort.clinical, "outcome", FAST, out, progress=False)


def test_run_folder_layout_and_schema(run):
    out = run.out
    assert RUN_FILES <= {p.name for p in out.iterdir()}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "binary" and metrics["n"] == 120 and 0 < metrics["n_events"] < 120
    for name in ("auc", "balanced_accuracy", "sensitivity", "specificity", "brier", "calibration_slope",
                 "calibration_intercept", "net_benefit"):
        assert set(metrics[name]) == {"estimate", "ci"} and len(metrics[name]["ci"]) == 2, name
    lo, hi = metrics["auc"]["ci"]
    assert lo <= metrics["auc"]["estimate"] <= hi
    comp = pd.read_csv(out / "comparison.csv")
    assert list(comp.columns) == ["model", "metric", "estimate", "ci_low", "ci_high"]
    preds = pd.read_parquet(out / "predictions.parquet")
    assert list(preds.columns) == ["case_id", "patient_id", "repeat", "fold", "y_true", "y_score"]
    assert len(preds) == 120 and preds["case_id"].is_unique and preds["y_score"].between(0, 1).all()
    sel = pd.read_csv(out / "selection_frequency.csv")
    assert list(sel.columns) == ["feature", "frequency"] and sel["frequency"].between(0, 1).all()
    imp = pd.read_csv(out / "importance.csv")
    assert list(imp.columns) == ["feature", "permutation_mean", "permutation_std", "shap_mean_abs"]
    assert imp["shap_mean_abs"].notna().all()
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["seed"] == 0 and prov["random_choices"]["bootstrap_seed"] == 0
    info = json.loads((out / "model.json").read_text())
    assert len(info["model_sha256"]) == 64 and info["input_sha256"]["features"]


def test_strong_features_selected_and_signal_found(run):
    freq = run.selection_frequency.set_index("feature")["frequency"]
    assert freq[TRUE_FEATURES[0]] >= 2 / 3 and freq[TRUE_FEATURES[1]] >= 2 / 3
    assert run.metrics["auc"]["estimate"] > 0.7
    top = run.importance.iloc[:2]["feature"].tolist()
    assert set(top) == set(TRUE_FEATURES)


def test_same_seed_same_metrics(cohort, tmp_path):
    cfg = {**TINY, "cv": {"outer_folds": 3, "inner_folds": 2, "repeats": 2}}
    for name in ("a", "b"):
        train(cohort.features, cohort.clinical, "outcome", cfg, tmp_path / name, progress=False)
    assert (tmp_path / "a" / "metrics.json").read_bytes() == (tmp_path / "b" / "metrics.json").read_bytes()
    other = train(cohort.features, cohort.clinical, "outcome", {**cfg, "seed": 7}, None, progress=False)
    assert other.metrics["auc"] != json.loads((tmp_path / "a" / "metrics.json").read_text())["auc"]


def test_model_file_roundtrip_and_tamper_refused(run, cohort, tmp_path):
    import shutil

    model, info = load_model(run.out)
    assert info["task"] == "binary"
    X = cohort.features.head(5)
    assert np.allclose(model.predict_proba(X[info["input_columns"]])[:, 1],
                       run.model.predict_proba(X[info["input_columns"]])[:, 1])
    bad = tmp_path / "bad"
    shutil.copytree(run.out, bad)
    raw = bytearray((bad / "model.skops").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (bad / "model.skops").write_bytes(bytes(raw))
    with pytest.raises(InputError, match="SHA-256"):
        load_model(bad)


def test_untrusted_type_refused(run, tmp_path):
    import shutil

    import skops.io as sio

    from radiomix.analysis.modelio import sha256_file

    bad = tmp_path / "evil"
    shutil.copytree(run.out, bad)
    sio.dump({"model": Evil()}, bad / "model.skops")
    info = json.loads((bad / "model.json").read_text())
    info["model_sha256"] = sha256_file(bad / "model.skops")
    (bad / "model.json").write_text(json.dumps(info))
    with pytest.raises(InputError, match="allow-list"):
        load_model(bad)


def test_evaluate_external(run, cohort, tmp_path):
    res = evaluate(run.out, cohort.features, cohort.clinical, tmp_path / "ext", n_boot=30)
    assert res.metrics["validation"] == "external" and res.metrics["n"] == 120
    assert (tmp_path / "ext" / "metrics.json").is_file() and (tmp_path / "ext" / "predictions.parquet").is_file()
    # applied to its own training data the model is (optimistically) better than the cross-validated estimate
    assert res.metrics["auc"]["estimate"] >= run.metrics["auc"]["estimate"] - 0.02
    with pytest.raises(InputError, match="feature column"):
        evaluate(run.out, cohort.features.drop(columns=[TRUE_FEATURES[0]]), cohort.clinical)


def test_patients_never_straddle_folds(tmp_path):
    c = simulate_cohort(40, 8, lesions_per_patient=3, coef=(2.0, -1.5), seed=2)
    r = train(c.features, c.clinical, "outcome", {**TINY, "cv": {"outer_folds": 3, "inner_folds": 2, "repeats": 2}},
              None, progress=False)
    p = r.predictions
    assert len(p) == 240 and p.groupby(["repeat", "patient_id"])["fold"].nunique().max() == 1


def test_config_errors():
    with pytest.raises(SettingsError, match="not available"):
        load_model_config({"task": "survival", "models": ["logistic"]})
    with pytest.raises(SettingsError, match="clinical_features"):
        load_model_config({"feature_sets": ["combined"]})
    with pytest.raises(SettingsError, match="invalid model config"):
        load_model_config({"cv": {"outer_folds": 1}})
    with pytest.raises(SettingsError, match="not found"):
        load_model_config("/nonexistent/model.yaml")


def test_input_errors(cohort):
    with pytest.raises(InputError, match="outcome column"):
        train(cohort.features, cohort.clinical, "nope", FAST, None, progress=False)
    with pytest.raises(InputError, match="exactly 2 values"):
        train(cohort.features, cohort.clinical, "outcome_class", FAST, None, progress=False)
    with pytest.raises(InputError, match="--time"):
        train(cohort.features, cohort.clinical, None, {**FAST, "models": ["coxnet"], "task": "survival"}, None,
              progress=False)


def test_cli_train_and_evaluate(cohort, tmp_path):
    from radiomix.cli import app

    cohort.features.to_parquet(tmp_path / "features.parquet")
    cohort.clinical.to_csv(tmp_path / "clinical.csv", index=False)
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(TINY))
    runner = CliRunner()
    r = runner.invoke(app, ["train", "--features", str(tmp_path / "features.parquet"), "--clinical",
                            str(tmp_path / "clinical.csv"), "--outcome", "outcome", "--config",
                            str(tmp_path / "model.yaml"), "--out", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    assert "auc" in r.output and RUN_FILES <= {p.name for p in (tmp_path / "run").iterdir()}
    r = runner.invoke(app, ["evaluate", "--model", str(tmp_path / "run"), "--features",
                            str(tmp_path / "features.parquet"), "--clinical", str(tmp_path / "clinical.csv"),
                            "--out", str(tmp_path / "ext"), "--bootstrap", "10"])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "ext" / "metrics.json").read_text())["n"] == 120


def test_cli_error_exits_2(tmp_path):
    import subprocess
    import sys

    (tmp_path / "model.yaml").write_text("task: binary\n")
    r = subprocess.run([sys.executable, "-c", "from radiomix.cli import main; main()", "train", "--features",
                        str(tmp_path / "missing.parquet"), "--outcome", "y", "--config", str(tmp_path / "model.yaml"),
                        "--out", str(tmp_path / "o")], check=False, capture_output=True, text=True)
    assert r.returncode == 2 and "error:" in r.stderr and "missing.parquet" in r.stderr


def test_icc_filter_inside_pipeline(cohort, tmp_path):
    icc = pd.DataFrame({"feature": [c for c in cohort.features.columns[3:]], "icc": 0.95})
    icc.loc[icc.feature == TRUE_FEATURES[1], "icc"] = 0.3  # a non-robust feature: never reaches the model
    icc.to_csv(tmp_path / "icc.csv", index=False)
    cfg = {**TINY, "pipeline": {"n_features": 4, "icc_table": str(tmp_path / "icc.csv"), "icc_threshold": 0.75}}
    r = train(cohort.features, cohort.clinical, "outcome", cfg, None, progress=False)
    freq = r.selection_frequency.set_index("feature")["frequency"]
    assert freq[TRUE_FEATURES[1]] == 0 and freq[TRUE_FEATURES[0]] == 1
    assert TRUE_FEATURES[1] not in r.model_info["selected_features"]
    with pytest.raises(InputError, match="ICC table"):
        train(cohort.features, cohort.clinical, "outcome",
              {**TINY, "pipeline": {"icc_table": str(tmp_path / "nope.csv")}}, None, progress=False)


@pytest.mark.parametrize("task", ["binary", "regression", "survival"])
def test_every_model_fits_and_predicts(cohort, task):
    from radiomix.analysis.pipelines import build_pipeline, model_names
    from radiomix.analysis.survival import to_structured

    f = cohort.features.head(60)
    clin = cohort.clinical.head(60)
    rad = list(f.columns[3:9])
    y = {"binary": clin["outcome"].to_numpy(), "regression": clin["outcome_value"].to_numpy(),
         "survival": to_structured(clin["time"], clin["event"])}[task]
    cfg = load_model_config({"task": task, "models": model_names(task)[:1], "pipeline": {"n_features": 3}})
    from threadpoolctl import threadpool_limits

    for name in model_names(task):
        pipe, grid = build_pipeline(cfg, name, rad, [], "site")
        with threadpool_limits(1):
            pipe.fit(f[rad + ["site"]], y)
        out = pipe.predict_proba(f[rad + ["site"]])[:, 1] if task == "binary" else pipe.predict(f[rad + ["site"]])
        assert np.all(np.isfinite(out)), name
        assert all(k.startswith("model__") for k in grid), name
