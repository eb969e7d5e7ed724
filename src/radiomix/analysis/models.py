"""Outcome models: :func:`train` (nested CV, comparison, final model, explanations) and :func:`evaluate`.

``train`` writes the `radiomix train` run folder described in docs/run-layout.md; ``evaluate`` applies a locked
model to external data. The configuration is a :class:`~radiomix.analysis.pipelines.ModelConfig` (YAML-loadable).

Design
------
* Feature sets: ``radiomics`` (numeric columns of the feature table, less ids/site/excluded), ``clinical`` (the
  config's ``clinical_features``, from the clinical table; categorical ones one-hot encoded with the levels seen in
  training) and ``combined``. Each listed feature set is validated with the primary model, and each listed model with
  the primary feature set, all on the *same* outer splits, so AUCs can be compared with the paired DeLong test.
* The primary model (first in ``models``) on the primary feature set gives ``metrics.json``; it is refitted on all
  data (inner grid search, grouped) as the final model in ``model.skops``.
* Reproducible: every random choice derives from ``config.seed`` (outer split seeds ``seed + repeat``, inner seeds
  ``seed + 1000 * repeat + fold``, estimator ``random_state = seed``, bootstrap seed ``seed``); provenance lists them.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time as _time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from radiomix.analysis.pipelines import ModelConfig, build_pipeline, load_model_config, read_icc_table
from radiomix.errors import InputError

__all__ = ["EvaluationResult", "ModelConfig", "TrainResult", "evaluate", "train"]


@dataclass
class TrainResult:
    """What :func:`train` returns (and writes to ``out``)."""

    metrics: dict
    comparison: pd.DataFrame
    predictions: pd.DataFrame
    selection_frequency: pd.DataFrame
    importance: pd.DataFrame
    model: object
    model_info: dict
    provenance: dict
    config: ModelConfig
    out: Path | None = None


@dataclass
class EvaluationResult:
    """What :func:`evaluate` returns (and writes to ``out``)."""

    metrics: dict
    predictions: pd.DataFrame
    out: Path | None = None
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------------------------
# data preparation


def _hash_frame(df: pd.DataFrame) -> str:
    h = hashlib.sha256(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    h.update(",".join(map(str, df.columns)).encode())
    return h.hexdigest()


def _merge(features: pd.DataFrame, clinical: pd.DataFrame | None, id_column: str) -> pd.DataFrame:
    if not isinstance(features, pd.DataFrame):
        raise InputError(f"features must be a pandas DataFrame, got {type(features).__name__}")
    if id_column not in features.columns:
        raise InputError(f"features table has no id column {id_column!r}")
    if features[id_column].duplicated().any():
        dup = features.loc[features[id_column].duplicated(), id_column].iloc[0]
        raise InputError(f"features table: id {dup!r} appears more than once in column {id_column!r}")
    if clinical is None:
        return features.copy()
    if id_column not in clinical.columns:
        raise InputError(f"clinical table has no id column {id_column!r}")
    extra = [c for c in clinical.columns if c == id_column or c not in features.columns]
    data = features.merge(clinical[extra], on=id_column, how="inner", validate="one_to_one")
    if data.empty:
        raise InputError(f"features and clinical tables share no {id_column!r} value")
    return data


def _outcome(data, cfg, outcome, time, event, positive=None):
    """(y for sklearn, meta columns dict, y_strat for the outer split, class info)."""
    task = cfg.task
    if task == "survival":
        for c, role in ((time, "--time"), (event, "--event")):
            if not c or c not in data.columns:
                raise InputError(f"survival task needs a {role} column present in the data, got {c!r}")
        from radiomix.analysis.survival import to_structured

        t = pd.to_numeric(data[time], errors="coerce").to_numpy(float)
        e = data[event].to_numpy()
        if np.isnan(t).any() or (t < 0).any():
            raise InputError(f"column {time!r}: times must be non-negative numbers")
        if not set(np.unique(e).tolist()) <= {0, 1}:
            raise InputError(f"column {event!r}: events must be 0/1")
        y = to_structured(t, e)
        return y, {"time": t, "event": e.astype(int)}, e.astype(int), None
    if not outcome or outcome not in data.columns:
        raise InputError(f"outcome column {outcome!r} not in the data")
    v = data[outcome]
    if v.isna().any():
        raise InputError(f"column {outcome!r}: {int(v.isna().sum())} case(s) have no outcome; drop them first")
    if task == "regression":
        y = pd.to_numeric(v, errors="coerce").to_numpy(float)
        if np.isnan(y).any():
            raise InputError(f"column {outcome!r}: regression outcome must be numeric")
        return y, {"y_true": y}, None, None
    levels = sorted(pd.unique(v.astype(str)).tolist())
    if task == "binary":
        if len(levels) != 2:
            raise InputError(f"column {outcome!r}: a binary outcome needs exactly 2 values, found {levels[:6]}")
        pos = str(positive) if positive is not None else levels[1]
        if pos not in levels:
            raise InputError(f"positive_class {positive!r} is not a value of {outcome!r} ({levels})")
        y = (v.astype(str) == pos).to_numpy().astype(int)
        return y, {"y_true": y}, y, {"positive_class": pos, "levels": levels}
    if len(levels) < 3:
        raise InputError(f"column {outcome!r}: multiclass needs >= 3 classes, found {levels}")
    y = v.astype(str).to_numpy()
    return y, {"y_true": y}, y, {"classes": levels}


def _encode_clinical(data: pd.DataFrame, names: list[str], levels: dict | None = None):
    """Numeric clinical columns as they are; categorical ones one-hot (first level dropped). -> (frame, levels)."""
    fit = levels is None
    levels = {} if fit else levels
    cols = {}
    for c in names:
        if c not in data.columns:
            raise InputError(f"clinical feature {c!r} is not a column of the clinical/feature tables")
        s = data[c]
        if fit and (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
            cols[c] = s.astype(float)
            continue
        if fit:
            levels[c] = sorted(pd.unique(s.dropna().astype(str)).tolist())
        if c not in levels:
            cols[c] = pd.to_numeric(s, errors="coerce").astype(float)
            continue
        sv = s.astype(str).where(s.notna(), None)
        for lev in levels[c][1:]:
            cols[f"{c}={lev}"] = np.where(sv.isna(), np.nan, (sv == lev).astype(float))
    return pd.DataFrame(cols, index=data.index), levels


def _radiomics_columns(features, cfg, id_column, group_column, site_column, reserved) -> list[str]:
    skip = {id_column, group_column, site_column, *cfg.exclude_columns, *reserved}
    cols = [c for c in features.columns if c not in skip and pd.api.types.is_numeric_dtype(features[c])
            and not pd.api.types.is_bool_dtype(features[c])]
    return [str(c) for c in cols]


def _versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for p in ("radiomix", "numpy", "pandas", "scipy", "scikit-learn", "scikit-survival", "skops", "shap"):
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            out[p] = None
    return out


class _Progress:
    """A rich progress bar on a terminal, silent otherwise."""

    def __init__(self, enabled: bool, total: int):
        from rich.console import Console

        self.console = Console(stderr=True)
        self.bar = None
        if enabled and self.console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=self.console)
            self.bar.start()
            self.task = self.bar.add_task("training", total=total)

    def step(self, text: str | None = None):
        if self.bar is not None:
            self.bar.update(self.task, advance=1, **({"description": text} if text else {}))

    def describe(self, text: str):
        if self.bar is not None:
            self.bar.update(self.task, description=text)

    def close(self):
        if self.bar is not None:
            self.bar.stop()


def _json(obj) -> str:
    def clean(o):
        if isinstance(o, dict):
            return {str(k): clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        if isinstance(o, (np.floating, float)):
            return None if not np.isfinite(o) else float(o)
        if isinstance(o, np.integer):
            return int(o)
        if isinstance(o, Path):
            return str(o)
        return o

    return json.dumps(clean(obj), indent=2, allow_nan=False)


def _metric_rows(label: str, metrics: dict) -> list[dict]:
    return [{"model": label, "metric": k, "estimate": v["estimate"], "ci_low": v["ci"][0], "ci_high": v["ci"][1]}
            for k, v in metrics.items() if isinstance(v, dict) and "estimate" in v]


def _survival_times(t, e) -> np.ndarray:
    """Evaluation times: the 10th..80th percentiles of the event times (inside every fold's follow-up)."""
    return np.unique(np.percentile(t[e.astype(bool)], np.arange(10, 81, 10)))


# --------------------------------------------------------------------------------------------------------------------
# train


def train(features: pd.DataFrame, clinical: pd.DataFrame | None, outcome: str | None, config, out: Path | None,
          *, time: str | None = None, event: str | None = None, id_column: str = "case_id",
          group_column: str = "patient_id", site_column: str = "site", progress: bool = True) -> TrainResult:
    """Validate and fit outcome models; see the module docstring and docs/run-layout.md for what is written.

    ``features``: one row per case (``id_column``), radiomics feature columns, optionally ``group_column`` (patient)
    and ``site_column``; ``clinical``: outcome and clinical columns (merged on ``id_column``; may be None when the
    features table holds them). ``outcome`` is the outcome column (binary/multiclass/regression); survival uses
    ``time`` and ``event``. ``config``: a ModelConfig, a dict or a YAML path. ``out``: run folder (None: write nothing).
    BLAS/OpenMP threads are limited to ``config.threads`` while it runs.
    """
    from threadpoolctl import threadpool_limits

    cfg = load_model_config(config)
    with threadpool_limits(limits=cfg.threads):
        return _train(features, clinical, outcome, cfg, out, time=time, event=event, id_column=id_column,
                      group_column=group_column, site_column=site_column, progress=progress)


def _train(features, clinical, outcome, config, out, *, time, event, id_column, group_column, site_column,
           progress) -> TrainResult:
    """The body of :func:`train` (runs under the thread limit)."""
    from radiomix.analysis.explain import permutation_importance, selection_frequency, shap_importance
    from radiomix.analysis.metrics import delong_test
    from radiomix.analysis.modelio import save_model
    from radiomix.analysis.pipelines import selected_features
    from radiomix.analysis.survival import to_structured
    from radiomix.analysis.validation import cv_metrics, fit_searched, nested_cv, outer_splits

    t0 = _time.perf_counter()
    cfg = load_model_config(config)
    data = _merge(features, clinical, id_column)
    reserved = {c for c in (outcome, time, event) if c} | set(cfg.clinical_features)
    if clinical is not None:
        reserved |= set(clinical.columns) - set(features.columns)
    radiomics = _radiomics_columns(features, cfg, id_column, group_column, site_column, reserved)
    warnings_ = []
    y, ycols, y_strat, class_info = _outcome(data, cfg, outcome, time, event, cfg.positive_class)
    groups = data[group_column].astype(str).to_numpy() if group_column in data.columns else \
        data[id_column].astype(str).to_numpy()
    if group_column not in data.columns:
        warnings_.append(f"no {group_column!r} column: each case is its own patient group")
    sites = data[site_column].astype(str).to_numpy() if site_column in data.columns else None
    harmonise = cfg.pipeline.harmonise and sites is not None and len(np.unique(sites)) > 1
    if cfg.pipeline.harmonise and not harmonise:
        warnings_.append(f"ComBat skipped: no {site_column!r} column with two or more sites")
    clin_frame, clin_levels = _encode_clinical(data, cfg.clinical_features)
    X = pd.concat([data[radiomics].astype(float), clin_frame], axis=1)
    if harmonise:
        X[site_column] = sites
    clinical_cols = list(clin_frame.columns)
    if not radiomics and cfg.feature_sets != ["clinical"]:
        raise InputError("the features table has no numeric feature column")
    icc = read_icc_table(cfg.pipeline.icc_table, cfg.pipeline.icc_column) if cfg.pipeline.icc_table else None
    meta = pd.DataFrame({"case_id": data[id_column].astype(str).to_numpy(), "patient_id": groups, **ycols})
    train_y = to_structured(ycols["time"], ycols["event"]) if cfg.task == "survival" else None
    times = _survival_times(ycols["time"], ycols["event"]) if cfg.task == "survival" else None
    splits = outer_splits(cfg, y_strat, groups, sites, cfg.seed)

    def columns_for(fs):
        return (radiomics if fs in ("radiomics", "combined") else []), (clinical_cols if fs != "radiomics" else [])

    primary_model, primary_set = cfg.models[0], cfg.primary_set
    runs = [(fs, primary_model) for fs in cfg.feature_sets] + \
        [(primary_set, m) for m in cfg.models[1:]]
    runs = sorted(set(runs), key=runs.index)
    bar = _Progress(progress, len(runs) * len(splits) + 2)
    results, pipes = {}, {}
    try:
        for fs, m in runs:
            rad, cli = columns_for(fs)
            pipe, grid = build_pipeline(cfg, m, rad, cli, site_column if (harmonise and rad) else None, icc)
            pipes[(fs, m)] = (pipe, grid, rad, cli)
            cols = rad + cli + ([site_column] if harmonise and rad else [])
            bar.describe(f"{fs}/{m}")
            results[(fs, m)] = nested_cv(pipe, grid, cfg, X[cols], y, meta, splits, cfg.seed, times,
                                         tick=lambda: bar.step())
        comparison_rows, metrics_by_run, avg_by_run = [], {}, {}
        for key, res in results.items():
            mets, avg = cv_metrics(cfg, res.predictions, res.surv, times, res.classes, train_y)
            metrics_by_run[key], avg_by_run[key] = mets, avg
            comparison_rows += _metric_rows(f"{key[0]}/{key[1]}", mets)
        prim = (primary_set, primary_model)
        if cfg.task == "binary":
            base = avg_by_run[prim]
            for key, avg in avg_by_run.items():
                if key == prim:
                    continue
                d = delong_test(base["y_true"], base["y_score"], avg.set_index("case_id").loc[base["case_id"],
                                                                                            "y_score"])
                comparison_rows.append({"model": f"{key[0]}/{key[1]}", "metric": "delong_p_vs_primary",
                                        "estimate": d["p_value"], "ci_low": np.nan, "ci_high": np.nan})
                z = 1.959963984540054
                comparison_rows.append({"model": f"{key[0]}/{key[1]}", "metric": "auc_difference_vs_primary",
                                        "estimate": -d["difference"], "ci_low": -d["difference"] - z * d["se"],
                                        "ci_high": -d["difference"] + z * d["se"]})
        comparison = pd.DataFrame(comparison_rows, columns=["model", "metric", "estimate", "ci_low", "ci_high"])
        metrics = metrics_by_run[prim]
        metrics["model"], metrics["feature_set"] = primary_model, primary_set
        metrics["validation"] = cfg.cv.scheme

        # final model: the primary pipeline refitted on all data
        bar.describe("final model")
        pipe, grid, rad, cli = pipes[prim]
        cols = rad + cli + ([site_column] if harmonise and rad else [])
        final, best = fit_searched(pipe, grid, cfg, X[cols], y, groups, cfg.seed)
        bar.step()
        bar.describe("explanations")
        used = selected_features(final)
        importance = permutation_importance(final, X[cols], y, cfg.task, used, cfg.explain.permutation_repeats,
                                            cfg.seed) if cfg.explain.permutation_repeats else \
            pd.DataFrame({"feature": used, "permutation_mean": np.nan, "permutation_std": np.nan})
        shap_note = None
        if cfg.explain.shap:
            try:
                sh = shap_importance(final, X[cols], cfg.task, cfg.explain.shap_samples, cfg.seed)
                importance = importance.merge(sh, on="feature", how="outer")
            except Exception as e:  # noqa: BLE001 - shap has no explainer for some models: recorded, importance kept
                shap_note = f"SHAP skipped for {type(final[-1]).__name__}: {type(e).__name__}: {e}"
                warnings_.append(shap_note)
        if "shap_mean_abs" not in importance.columns:
            importance["shap_mean_abs"] = np.nan
        importance = importance.sort_values("permutation_mean", ascending=False, kind="stable",
                                            na_position="last").reset_index(drop=True)
        bar.step()
    finally:
        bar.close()

    res = results[prim]
    selfreq = selection_frequency(res.selected, rad + cli)
    predictions = res.predictions
    input_hashes = {"features": _hash_frame(features)}
    if clinical is not None:
        input_hashes["clinical"] = _hash_frame(clinical)
    model_info = {
        "task": cfg.task, "outcome": outcome, "time": time, "event": event, "id_column": id_column,
        "group_column": group_column, "site_column": site_column if harmonise and rad else None,
        "model": primary_model, "feature_set": primary_set, "radiomics_columns": rad, "clinical_features":
        cfg.clinical_features, "clinical_levels": clin_levels, "clinical_columns": cli, "input_columns": cols,
        "selected_features": used, "best_params": best, "class_info": class_info,
        "survival_times": None if times is None else times.tolist(), "config": cfg.model_dump(mode="json"),
        "seed": cfg.seed, "versions": _versions(), "input_sha256": input_hashes}
    provenance = {
        "seed": cfg.seed,
        "random_choices": {"outer_split_seeds": sorted({cfg.seed + r for r, *_ in splits}),
                           "inner_split_seeds": sorted({cfg.seed + 1000 * r + f for r, f, *_ in splits}),
                           "final_inner_seed": cfg.seed, "estimator_random_state": cfg.seed,
                           "bootstrap_seed": cfg.seed, "bootstrap_resamples": cfg.bootstrap,
                           "permutation_seed": cfg.seed, "shap_sample_seed": cfg.seed,
                           "outer_folds": predictions[["case_id", "repeat", "fold"]].to_dict("list")},
        "best_params_per_fold": {f"{k[0]}/{k[1]}": r.best_params for k, r in results.items()},
        "input_sha256": input_hashes, "n_cases": len(data), "n_patients": len(np.unique(groups)),
        "n_radiomics_features": len(radiomics), "versions": _versions(), "warnings": warnings_,
        "seconds": round(_time.perf_counter() - t0, 2), "platform": platform.platform()}
    result = TrainResult(metrics, comparison, predictions, selfreq, importance, final, model_info, provenance, cfg)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        result.model_info = save_model(final, out, model_info)
        (out / "metrics.json").write_text(_json(metrics), encoding="utf-8")
        comparison.to_csv(out / "comparison.csv", index=False, float_format="%.10g")
        predictions.to_parquet(out / "predictions.parquet", index=False)
        selfreq.to_csv(out / "selection_frequency.csv", index=False, float_format="%.10g")
        importance[["feature", "permutation_mean", "permutation_std", "shap_mean_abs"]].to_csv(
            out / "importance.csv", index=False, float_format="%.10g")
        provenance["model_sha256"] = result.model_info["model_sha256"]
        (out / "provenance.json").write_text(_json(provenance), encoding="utf-8")
        result.out = out
    return result


# --------------------------------------------------------------------------------------------------------------------
# evaluate


def evaluate(model_dir: Path, features: pd.DataFrame, clinical: pd.DataFrame | None, out: Path | None = None, *,
             outcome: str | None = None, time: str | None = None, event: str | None = None,
             n_boot: int | None = None) -> EvaluationResult:
    """Apply the locked model of a train folder to external data and compute its metrics with bootstrap CIs.

    Outcome columns default to those used in training. Sites unseen in training are handled as the training config's
    ``pipeline.combat_unseen`` says. Writes ``metrics.json`` and ``predictions.parquet`` to ``out`` when given.
    """
    from threadpoolctl import threadpool_limits

    from radiomix.analysis.modelio import load_model

    model, info = load_model(model_dir)
    cfg = ModelConfig(**info["config"])
    with threadpool_limits(limits=cfg.threads):
        return _evaluate(model, info, cfg, model_dir, features, clinical, out, outcome, time, event, n_boot)


def _evaluate(model, info, cfg, model_dir, features, clinical, out, outcome, time, event, n_boot):
    """The body of :func:`evaluate` (runs under the thread limit)."""
    from radiomix.analysis.survival import to_structured
    from radiomix.analysis.validation import cv_metrics, predict_frame

    id_column = info["id_column"]
    data = _merge(features, clinical, id_column)
    outcome, time, event = outcome or info["outcome"], time or info["time"], event or info["event"]
    positive = (info.get("class_info") or {}).get("positive_class")
    _, ycols, _, _ = _outcome(data, cfg, outcome, time, event, positive)
    missing = [c for c in info["radiomics_columns"] if c not in data.columns]
    if missing:
        raise InputError(f"features table lacks {len(missing)} feature column(s) the model was trained on, first "
                         f"{missing[0]!r}")
    clin, _ = _encode_clinical(data, info["clinical_features"], info["clinical_levels"])
    for c in info["clinical_columns"]:
        if c not in clin.columns:
            clin[c] = 0.0
    X = pd.concat([data[info["radiomics_columns"]].astype(float), clin[info["clinical_columns"]]], axis=1)
    site = info["site_column"]
    if site:
        if site not in data.columns:
            raise InputError(f"the model harmonises on column {site!r}, which the external data lack")
        X[site] = data[site].astype(str).to_numpy()
    group = info["group_column"]
    groups = data[group].astype(str).to_numpy() if group in data.columns else data[id_column].astype(str).to_numpy()
    times = np.asarray(info["survival_times"]) if info.get("survival_times") else None
    try:
        pred, surv = predict_frame(model, X[info["input_columns"]], cfg.task, times)
    except ValueError as e:
        raise InputError(f"cannot apply the model in {model_dir}: {e}") from e
    meta = pd.DataFrame({"case_id": data[id_column].astype(str).to_numpy(), "patient_id": groups, **ycols})
    preds = pd.concat([meta, pred], axis=1)
    classes = (info.get("class_info") or {}).get("classes")
    train_y = to_structured(ycols["time"], ycols["event"]) if cfg.task == "survival" else None
    metrics, _ = cv_metrics(cfg, preds, surv, times, classes, train_y, n_boot=n_boot)
    metrics["model"], metrics["feature_set"], metrics["validation"] = info["model"], info["feature_set"], "external"
    res = EvaluationResult(metrics, preds)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(_json(metrics), encoding="utf-8")
        preds.to_parquet(out / "predictions.parquet", index=False)
        res.out = out
    return res
