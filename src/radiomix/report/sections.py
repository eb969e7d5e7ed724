"""Sections of the report as HTML fragments, and the figures behind them, built from a run folder.

A run folder follows docs/run-layout.md. :class:`RunData` reads its files lazily and remembers which were missing;
every ``section_*`` function takes a RunData and returns a :class:`Section` (id, title, HTML fragment) that says what
is missing instead of failing. Every string that comes from the run (case ids, feature names, messages) is escaped.
Numbers printed for metrics are those of the run's ``metrics.json`` files, formatted by ``figures.fmt`` and carried
in ``data-metric``/``data-value`` attributes so they can be checked against the file.

For notebooks: the ``*_figure(run)`` functions return the matplotlib figures (or None when their input is missing).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from radiomix.report import figures as F
from radiomix.report.figures import fmt, fmt_ci, fmt_p

_META = {"case_id", "patient_id", "site", "timepoint", "lesion", "roi", "label", "row_id", "outcome", "time",
         "event", "age", "stage"}
_FAMILY_RE = re.compile(r"_(morphology|local_intensity|statistics|intensity_histogram|ivh|glcm|glrlm|glszm|gldzm|"
                        r"ngtdm|ngldm)_")


def esc(x) -> str:
    """HTML-escape any value (quotes included)."""
    return html.escape(str(x), quote=True)


@dataclass
class Section:
    """One report section: anchor id, title and HTML body (already escaped where it holds user strings)."""

    id: str
    title: str
    html: str
    error: str | None = None


class RunData:
    """Lazy, cached access to a run folder's files; ``missing`` lists the files asked for that were absent."""

    def __init__(self, run_dir):
        self.root = Path(run_dir)
        self.missing: list[str] = []
        self._cache: dict[str, object] = {}

    def path(self, rel: str) -> Path:
        return self.root / rel

    def has(self, rel: str) -> bool:
        return self.path(rel).exists()

    def _load(self, rel: str, reader):
        if rel not in self._cache:
            p = self.path(rel)
            if not p.exists():
                if rel not in self.missing:
                    self.missing.append(rel)
                self._cache[rel] = None
            else:
                self._cache[rel] = reader(p)
        return self._cache[rel]

    def table(self, rel: str) -> pd.DataFrame | None:
        """A Parquet or CSV table (``case_id``-like columns read as text), or None when the file is missing."""
        def read(p: Path):
            if p.suffix == ".parquet":
                return pd.read_parquet(p)
            return pd.read_csv(p, dtype={"case_id": str, "patient_id": str, "feature": str})
        return self._load(rel, read)

    def json(self, rel: str) -> dict | None:
        return self._load(rel, lambda p: json.loads(p.read_text(encoding="utf-8")))


def feature_columns(df: pd.DataFrame) -> list[str]:
    """Feature columns of a features table: ``{image_type}_{family}_{feature}`` numeric columns."""
    return [c for c in df.columns if c not in _META and _FAMILY_RE.search(c) and pd.api.types.is_numeric_dtype(df[c])]


# ---- HTML helpers -----------------------------------------------------------------------------------------------
def missing_note(*rels: str) -> str:
    """The paragraph a section shows for missing inputs."""
    files = ", ".join(f"<code>{esc(r)}</code>" for r in rels)
    return f'<p class="missing">Not available: {files} not found in this run folder.</p>'


def table_html(df: pd.DataFrame, max_rows: int = 30, cls: str = "data") -> str:
    """An escaped HTML table of the first ``max_rows`` rows; numbers formatted with ``fmt``."""
    if df is None or df.empty:
        return "<p>(no rows)</p>"
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    rows = []
    for rec in df.head(max_rows).itertuples(index=False):
        cells = []
        for v in rec:
            num = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            cells.append(f'<td class="num">{esc(fmt(v))}</td>' if num else f"<td>{esc(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = f'<p class="note">{len(df) - max_rows} more rows not shown.</p>' if len(df) > max_rows else ""
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>{more}'


def figure_html(fig, caption: str, fig_id: str) -> str:
    """A figure as an inline base64 PNG with a numbered caption (caption text is escaped)."""
    data = F.to_png_base64(fig)
    return (f'<figure id="{esc(fig_id)}"><img class="fig" alt="{esc(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


_METRIC_NAMES = {"auc": "AUC", "balanced_accuracy": "balanced accuracy", "sensitivity": "sensitivity",
                 "specificity": "specificity", "brier": "Brier score", "calibration_slope": "calibration slope",
                 "calibration_intercept": "calibration intercept", "c_index": "Harrell's C-index",
                 "uno_c_index": "Uno's C-index", "integrated_brier": "integrated Brier score",
                 "net_benefit": "net benefit at the decision threshold", "td_auc": "mean time-dependent AUC"}


def metrics_table(metrics: dict, prefix: str) -> str:
    """Rows of a metrics.json: estimate and 95 % CI, each cell tagged with ``data-metric`` and the exact value."""
    rows = []
    for name, val in metrics.items():
        if not isinstance(val, dict) or "estimate" not in val:
            continue
        est, ci = val.get("estimate"), val.get("ci") or [None, None]
        rows.append(
            f"<tr><td>{esc(_METRIC_NAMES.get(name, name))}</td>"
            f'<td class="num" data-metric="{esc(prefix)}/{esc(name)}/estimate" data-value="{esc(repr(est))}">'
            f"{esc(fmt(est))}</td>"
            f'<td class="num" data-metric="{esc(prefix)}/{esc(name)}/ci" data-value="{esc(json.dumps(ci))}">'
            f"{esc(fmt_ci(ci))}</td></tr>")
    extra = ", ".join(f"{esc(k)} = {esc(metrics[k])}" for k in ("task", "n", "n_events") if k in metrics)
    return (f'<table class="data metrics"><thead><tr><th>metric</th><th>estimate</th><th>95% CI</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table><p class="note">{extra}</p>')


def _per_case(pred: pd.DataFrame, cols) -> pd.DataFrame:
    """Out-of-fold predictions averaged over repeats, one row per case."""
    keep = [c for c in cols if c in pred.columns]
    return pred.groupby("case_id", sort=False)[keep].mean().reset_index()


# ---- sections ---------------------------------------------------------------------------------------------------
def section_overview(run: RunData) -> Section:
    """Cohort overview: cases and patients per site, outcome and event rates, extraction summary."""
    clin, prov = run.table("cohort/clinical.csv"), run.json("extraction/provenance.json")
    parts = []
    if clin is None:
        parts.append(missing_note("cohort/clinical.csv"))
    else:
        g = clin.groupby("site") if "site" in clin else None
        agg = {"cases": clin.groupby("site").size()} if g is not None else {}
        if g is not None:
            if "patient_id" in clin:
                agg["patients"] = g["patient_id"].nunique()
            for col, name in (("outcome", "outcome rate"), ("event", "event rate"), ("age", "mean age (years)"),
                              ("time", "median follow-up (months)")):
                if col in clin:
                    agg[name] = g[col].median() if col == "time" else g[col].mean()
            if "timepoint" in clin:
                agg["second timepoints"] = g["timepoint"].apply(lambda s: int((s > 1).sum()))
            t = pd.DataFrame(agg).reset_index()
            parts.append(table_html(t))
        parts.append(f"<p>{len(clin)} cases"
                     + (f" from {clin['patient_id'].nunique()} patients" if "patient_id" in clin else "")
                     + (f" at {clin['site'].nunique()} sites" if "site" in clin else "") + ".</p>")
    if prov is None:
        parts.append(missing_note("extraction/provenance.json"))
    else:
        feats = run.table("extraction/features.parquet")
        nf = len(feature_columns(feats)) if feats is not None else "n/a"
        parts.append(f"<p>Feature extraction: {esc(prov.get('n_done'))} cases extracted, "
                     f"{esc(prov.get('n_failed'))} failed, {esc(nf)} features per case, "
                     f"{esc(fmt(prov.get('wall_seconds')))} s wall time "
                     f"(engine: {esc(json.dumps(prov.get('engine')))}; settings digest "
                     f"<code>{esc(prov.get('settings_digest'))}</code>).</p>")
    return Section("overview", "Cohort overview", "".join(parts))


def section_quality(run: RunData) -> Section:
    """Data-quality flags: failure ledger, NaN reasons, warnings from extraction."""
    fail, nan, prov = (run.table("extraction/failures.parquet"), run.table("extraction/nan_reasons.parquet"),
                       run.json("extraction/provenance.json"))
    parts = ["<h3>Failed cases</h3>"]
    if fail is None:
        parts.append(missing_note("extraction/failures.parquet"))
    elif fail.empty:
        parts.append('<p class="ok">No case failed.</p>')
    else:
        parts.append(f'<p class="flag">{fail["case_id"].nunique()} case(s) failed or lost a feature family:</p>')
        parts.append(table_html(fail[[c for c in ("case_id", "stage", "error_type", "message") if c in fail]]))
    parts.append("<h3>NaN feature values</h3>")
    if nan is None:
        parts.append(missing_note("extraction/nan_reasons.parquet"))
    elif nan.empty:
        parts.append('<p class="ok">No NaN feature values.</p>')
    else:
        t = (nan.groupby(["column", "reason"]).agg(cases=("case_id", "nunique")).reset_index()
             .sort_values("cases", ascending=False))
        parts.append(f'<p class="flag">{len(nan)} NaN values in {nan["column"].nunique()} columns:</p>')
        parts.append(table_html(t, 20))
    if prov is not None:
        warns = [(c.get("case_id"), w) for c in (prov.get("cases") or {}).values() for w in c.get("warnings") or []]
        parts.append("<h3>Warnings</h3>")
        if warns:
            parts.append(table_html(pd.DataFrame(warns, columns=["case_id", "warning"]), 20))
        else:
            parts.append('<p class="ok">No warnings during extraction.</p>')
    return Section("quality", "Data quality", "".join(parts))


def _read_case(run: RunData, rec: dict):
    from radiomix.io import read_image, read_mask

    base = run.path("cohort")
    img_p = Path(rec["image"]) if Path(str(rec["image"])).is_absolute() else base / str(rec["image"])
    msk_p = Path(rec["mask"]) if Path(str(rec["mask"])).is_absolute() else base / str(rec["mask"])
    roi = rec.get("roi")
    roi = None if roi is None or (isinstance(roi, float) and np.isnan(roi)) else str(roi)
    image = read_image(img_p)
    mask = read_mask(msk_p, image=image, roi=roi)
    m = mask.array.astype(bool)
    z = int(np.argmax(m.sum(axis=(1, 2))))
    ys, xs = np.nonzero(m[z])
    sp = image.spacing
    pad = [int(np.ceil(8.0 / s)) for s in sp[1:]]
    y0, y1 = max(0, ys.min() - pad[0]), min(m.shape[1], ys.max() + pad[0] + 1)
    x0, x1 = max(0, xs.min() - pad[1]), min(m.shape[2], xs.max() + pad[1] + 1)
    return np.asarray(image.array[z, y0:y1, x0:x1], float), m[z, y0:y1, x0:x1], (sp[1], sp[2])


def mosaic_figure(run: RunData, n: int = 12):
    """The mosaic figure and the list of cases that could not be read (or (None, []) without a manifest)."""
    man = run.table("cohort/manifest.csv")
    if man is None:
        return None, []
    if "timepoint" in man:
        man = man[man["timepoint"] == man["timepoint"].min()]
    if "site" in man:  # spread the sample over the sites
        man = man.assign(_k=man.groupby("site").cumcount()).sort_values(["_k", "site"], kind="stable")
    cases, bad = [], []
    for rec in man.head(n).to_dict("records"):
        try:
            img, msk, sp = _read_case(run, rec)
        except Exception as exc:  # noqa: BLE001 - an unreadable case is reported, the others still shown
            bad.append((rec["case_id"], f"{type(exc).__name__}: {exc}"))
            continue
        label = f"{rec['case_id']} ({rec['site']})" if "site" in rec else str(rec["case_id"])
        cases.append((label, img, msk, sp))
    return (F.mosaic(cases) if cases else None), bad


def section_images(run: RunData) -> Section:
    """A mosaic of sample cases: the slice of largest ROI area with the ROI outline."""
    fig, bad = mosaic_figure(run)
    if fig is None and not bad:
        return Section("images", "Images and segmentations", missing_note("cohort/manifest.csv"))
    parts = []
    if fig is not None:
        parts.append(figure_html(fig, "Sample cases (case id and site): axial slice with the largest ROI area, "
                                      "CT window -200 to 300 HU (grey), ROI outline in orange, white bar = 10 mm.",
                                 "fig-mosaic"))
    if bad:
        parts.append('<p class="flag">Cases that could not be read:</p>'
                     + table_html(pd.DataFrame(bad, columns=["case_id", "error"])))
    return Section("images", "Images and segmentations", "".join(parts))


def _selected(run: RunData, threshold: float = 0.5) -> list[str]:
    sel = run.table("model/selection_frequency.csv")
    if sel is None or sel.empty:
        return []
    return sel.loc[sel["frequency"] >= threshold].sort_values("frequency", ascending=False)["feature"].tolist()


def harmonisation_figure(run: RunData, n: int = 4):
    """Box plots by site before/after ComBat of the most selected (else most robust) features."""
    before, after = run.table("extraction/features.parquet"), run.table("harmonised.parquet")
    if before is None or "site" not in before:
        return None
    feats = [f for f in _selected(run) if f in before and (after is None or f in after)]
    rob = run.table("robustness.parquet")
    if len(feats) < n and rob is not None:
        feats += [f for f in rob.sort_values("rank")["feature"] if f in before and f not in feats
                  and (after is None or f in after)]
    if len(feats) < n:
        feats += [f for f in feature_columns(before) if f not in feats and (after is None or f in after)]
    feats = feats[:n]
    if after is not None and "site" not in after:
        after = after.merge(before[["case_id", "site"]], on="case_id", how="left")
    return F.site_distributions(before, after, feats) if feats else None


def section_harmonisation(run: RunData) -> Section:
    """Feature distributions by site before and after ComBat harmonisation."""
    fig = harmonisation_figure(run)
    parts = []
    if fig is None:
        parts.append(missing_note("extraction/features.parquet"))
    else:
        parts.append(figure_html(fig, "Feature distributions by site (box: quartiles, whiskers: 1.5 IQR), as z-scores "
                                      "(SD units) of the unharmonised values; top: before, bottom: after ComBat.",
                                 "fig-harmonisation"))
    if not run.has("harmonised.parquet"):
        parts.append(missing_note("harmonised.parquet"))
    return Section("harmonisation", "Site effects and harmonisation", "".join(parts))


def correlation_figure(run: RunData, n: int = 40):
    """Spearman correlation heatmap of the most robust (or first) features, selected features marked."""
    tab = run.table("harmonised.parquet")
    if tab is None:
        tab = run.table("extraction/features.parquet")
    if tab is None:
        return None
    cols = feature_columns(tab)
    rob = run.table("robustness.parquet")
    sel = [f for f in _selected(run) if f in cols]
    order = [f for f in rob.sort_values("rank")["feature"] if f in cols] if rob is not None else cols
    feats = list(dict.fromkeys(sel + order))[:n]
    feats = [f for f in feats if tab[f].std() > 0]
    return F.correlation_heatmap(tab, feats, sel) if len(feats) >= 2 else None


def section_correlation(run: RunData) -> Section:
    """Correlation heatmap of candidate features with the model's selected features marked."""
    fig = correlation_figure(run)
    if fig is None:
        return Section("correlation", "Feature correlation", missing_note("harmonised.parquet",
                                                                          "extraction/features.parquet"))
    sel = _selected(run)
    note = "" if sel else missing_note("model/selection_frequency.csv")
    return Section("correlation", "Feature correlation", figure_html(
        fig, "Spearman rank correlation (unitless, -1 orange to +1 purple) between candidate features; triangles and "
             "bold labels mark features selected in at least half of the outer cross-validation folds.",
        "fig-correlation") + note)


def section_robustness(run: RunData) -> Section:
    """Robustness ranking by perturbation ICC."""
    rob = run.table("robustness.parquet")
    if rob is None:
        return Section("robustness", "Feature robustness", missing_note("robustness.parquet"))
    info = run.json("robustness.json") or {}
    thr = info.get("threshold")
    kept = f" {int((rob['icc'] >= thr).sum())} of {len(rob)} features reach ICC >= {fmt(thr)}." if thr else ""
    desc = (f"<p>ICC(1,1) of each feature over {esc(info.get('n_perturbations', 'several'))} random perturbations "
            f"(rotation, translation, noise, volume, contour) of {esc(info.get('n_cases', 'several'))} cases."
            f"{esc(kept)}</p>")
    fig = F.robustness_plot(rob, threshold=thr)
    return Section("robustness", "Feature robustness", desc + figure_html(
        fig, "Perturbation ICC(1,1) (unitless) with 95% confidence intervals of the most and least robust features; "
             "dashed line: the robustness threshold of this run.", "fig-robustness")
        + table_html(rob.sort_values("rank")[["rank", "feature", "icc", "icc_low", "icc_high"]], 15))


def binary_curves(run: RunData):
    """(internal (label, y, p), external (label, y, p) or None) from the binary model's predictions."""
    out = []
    pred = run.table("model/predictions.parquet")
    if pred is not None and {"y_true", "y_score"} <= set(pred.columns):
        pc = _per_case(pred, ["y_true", "y_score"])
        out.append(("internal (cross-validated)", pc["y_true"].to_numpy(int), pc["y_score"].to_numpy(float)))
    ext = run.table("external/predictions.parquet")
    if ext is not None and {"y_true", "y_score"} <= set(ext.columns):
        out.append(("external (held-out site)", ext["y_true"].to_numpy(int), ext["y_score"].to_numpy(float)))
    return out


def roc_figure(run: RunData):
    """ROC curves (internal and external) with bootstrap bands; legend AUCs from metrics.json."""
    curves = binary_curves(run)
    if not curves:
        return None
    auc = {"internal (cross-validated)": (run.json("model/metrics.json") or {}).get("auc"),
           "external (held-out site)": (run.json("external/metrics.json") or {}).get("auc")}
    return F.roc_curves([(lab, y, p, auc.get(lab)) for lab, y, p in curves])


def section_model(run: RunData) -> Section:
    """Binary model: metrics (internal and external), model comparison, ROC, calibration and decision curves."""
    m, e, comp = run.json("model/metrics.json"), run.json("external/metrics.json"), run.table("model/comparison.csv")
    parts = ["<h3>Internal validation (nested cross-validation)</h3>"]
    parts.append(metrics_table(m, "model") if m is not None else missing_note("model/metrics.json"))
    parts.append("<h3>External validation (held-out site, locked model)</h3>")
    parts.append(metrics_table(e, "external") if e is not None else missing_note("external/metrics.json"))
    info = run.json("model/model.json")
    if info is not None:
        keys = [k for k in ("task", "outcome", "model", "features", "seed", "note") if k in info]
        parts.append("<p>" + "; ".join(f"{esc(k)}: {esc(info[k] if not isinstance(info[k], list) else len(info[k]))}"
                                       for k in keys) + "</p>")
    curves = binary_curves(run)
    if curves:
        parts.append('<div class="figrow">')
        parts.append(figure_html(roc_figure(run), "ROC curves with 95% pointwise bootstrap bands (200 resamples of "
                                 "cases); AUC estimates and CIs as stored in metrics.json.", "fig-roc"))
        parts.append(figure_html(F.calibration_plot(curves), "Calibration: observed outcome rate against mean "
                                 "predicted probability in quintiles of prediction, with binomial 95% intervals.",
                                 "fig-calibration"))
        parts.append(figure_html(F.decision_curve(curves), "Decision curve: net benefit (true positives per "
                                 "patient) of acting on the model against treating all or none.", "fig-decision"))
        parts.append("</div>")
    else:
        parts.append(missing_note("model/predictions.parquet"))
    parts.append("<h3>Model comparison</h3>")
    parts.append(table_html(comp, 40) if comp is not None else missing_note("model/comparison.csv"))
    return Section("model", "Binary outcome model", "".join(parts))


def survival_groups(run: RunData):
    """(per-case table with time, event, risk, group; p-value; where the p-value comes from) or None."""
    pred = run.table("survival/predictions.parquet")
    if pred is None or not {"time", "event", "risk"} <= set(pred.columns):
        return None
    pc = _per_case(pred, ["time", "event", "risk"])
    groups = run.table("survival/risk_groups.csv")
    lr = run.json("survival/logrank.json")
    if groups is not None and {"case_id", "group"} <= set(groups.columns):
        pc = pc.merge(groups[["case_id", "group"]], on="case_id", how="inner")
    else:
        thr = float(np.median(pc["risk"]))
        pc["group"] = np.where(pc["risk"] > thr, "high risk", "low risk")
        lr = None
    if lr is not None and "p_value" in lr:
        return pc, float(lr["p_value"]), "survival/logrank.json"
    from sksurv.compare import compare_survival

    y = np.array(list(zip(pc["event"].astype(bool), pc["time"].astype(float))), dtype=[("e", bool), ("t", float)])
    _, p = compare_survival(y, pc["group"].to_numpy())
    return pc, float(p), "computed by the report (median split of predicted risk; no survival/logrank.json)"


def km_figure(run: RunData):
    """Kaplan-Meier curves by predicted risk group (or None)."""
    g = survival_groups(run)
    if g is None:
        return None
    pc, p, _ = g
    return F.kaplan_meier_plot(pc["time"], pc["event"], pc["group"], p)


def section_survival(run: RunData) -> Section:
    """Survival model: metrics and Kaplan-Meier curves by predicted risk group with the log-rank p-value."""
    m = run.json("survival/metrics.json")
    parts = [metrics_table(m, "survival") if m is not None else missing_note("survival/metrics.json")]
    g = survival_groups(run)
    if g is None:
        parts.append(missing_note("survival/predictions.parquet"))
    else:
        pc, p, src = g
        parts.append(f'<p>Log-rank test between risk groups: <span data-metric="survival/logrank_p" '
                     f'data-value="{esc(repr(p))}">{esc(fmt_p(p))}</span> ({esc(src)}).</p>')
        parts.append(figure_html(F.kaplan_meier_plot(pc["time"], pc["event"], pc["group"], p),
                                 "Kaplan-Meier survival by cross-validated predicted risk group (shaded: 95% "
                                 "log-log pointwise intervals); time in months.", "fig-km"))
    return Section("survival", "Survival model", "".join(parts))


def section_importance(run: RunData) -> Section:
    """Permutation importance (and mean |SHAP|) of the binary model's features; selection frequency."""
    imp, sel = run.table("model/importance.csv"), run.table("model/selection_frequency.csv")
    parts = []
    if imp is None:
        parts.append(missing_note("model/importance.csv"))
    else:
        parts.append(figure_html(F.importance_bars(imp, "permutation_mean", "permutation_std",
                                                   xlabel="permutation importance (decrease in AUC, unitless)"),
                                 "Permutation importance of the final model's features (mean and SD over "
                                 "repeats).", "fig-importance"))
        parts.append(table_html(imp.sort_values("permutation_mean", ascending=False), 15))
    parts.append("<h3>Selection frequency across outer folds</h3>")
    parts.append(table_html(sel.sort_values("frequency", ascending=False), 15) if sel is not None
                 else missing_note("model/selection_frequency.csv"))
    return Section("importance", "Feature importance", "".join(parts))


def section_delta(run: RunData) -> Section:
    """Delta-radiomics: change of features between timepoints (metrics or association table of the delta folder)."""
    parts = []
    m = run.json("delta/metrics.json")
    if m is not None:
        parts.append(metrics_table(m, "delta"))
    assoc = run.table("delta/association.csv")
    if assoc is not None:
        parts.append("<p>Association of feature changes (timepoint 2 - timepoint 1) with the outcome, "
                     "strongest first:</p>" + table_html(assoc, 12))
    d = run.table("delta/delta_features.parquet")
    if d is not None:
        parts.append(f"<p>{len(d)} patients with two timepoints.</p>")
    if not parts:
        parts.append(missing_note("delta/metrics.json", "delta/association.csv", "delta/delta_features.parquet"))
    return Section("delta", "Delta-radiomics", "".join(parts))


def settings_terms(settings: dict) -> list[tuple[str, str]]:
    """Extraction settings (as in the batch provenance) in IBSI reporting terms: (item, value) pairs."""
    from radiomix.settings import AGGREGATIONS

    rows = [("Processing dimension", "3D (volumetric)" if settings.get("dimensions") == "3d" else "2D (per slice)")]
    r = settings.get("resampling")
    if r:
        sp = ", ".join("original" if s is None else f"{s:g}" for s in r["spacing_mm"])
        txt = (f"voxel spacing (x, y, z) = {sp} mm; {r['interpolator']} image interpolation, "
               f"{r['grid_alignment']}-aligned grid; mask: {r['mask_interpolator']} interpolation, partial-volume "
               f"threshold {r['mask_threshold']:g}; intensities rounded: {'yes' if r.get('round_intensities') else 'no'}")
        rows.append(("Interpolation (IBSI 2.4)", txt))
    else:
        rows.append(("Interpolation (IBSI 2.4)", "none (original voxel grid)"))
    rs = settings.get("resegmentation")
    if rs:
        txt = []
        if rs.get("range"):
            lo, hi = (inf if v is None else f"{v:g}" for v, inf in zip(rs["range"], ("-inf", "+inf")))
            txt.append(f"range re-segmentation [{lo}, {hi}]")
        if rs.get("outlier_sd"):
            txt.append(f"outlier filtering mean +/- {rs['outlier_sd']:g} SD")
        rows.append(("Re-segmentation (IBSI 2.5)", "; ".join(txt) or "none"))
    else:
        rows.append(("Re-segmentation (IBSI 2.5)", "none"))
    d = settings.get("discretisation") or {}
    if d.get("method") == "fixed_bin_size":
        lo = d.get("min_value")
        lo = lo if lo is not None else "re-segmentation lower bound (or ROI minimum)"
        rows.append(("Discretisation (IBSI 2.7)", f"fixed bin size, bin width {d['bin_width']:g}, lower bound {lo}"))
    elif d.get("method") == "fixed_bin_number":
        rows.append(("Discretisation (IBSI 2.7)", f"fixed bin number, {d['bin_number']} bins"))
    else:
        rows.append(("Discretisation (IBSI 2.7)", "none (integer intensities used as grey levels)"))
    t = settings.get("texture") or {}
    aggs = ", ".join(f"{a} ({AGGREGATIONS.get(a, '?')})" for a in t.get("aggregations", ()))
    rows.append(("Texture aggregation (IBSI 3.6.1)", aggs or "n/a"))
    txt = (f"GLCM distance {t.get('glcm_distance')} (symmetric: {t.get('glcm_symmetric')}); NGTDM distance "
           f"{t.get('ngtdm_distance')}; NGLDM distance {t.get('ngldm_distance')}, alpha {t.get('ngldm_alpha')}; "
           f"zone connectivity {t.get('zone_connectivity')} (26-connected in 3D)")
    rows.append(("Texture parameters", txt))
    rows.append(("Feature families", ", ".join(settings.get("families", ()))))
    filt = settings.get("filters") or []
    if filt:
        desc = ["; ".join(f"{k}={v}" for k, v in f.items() if v is not None) for f in filt]
        rows.append(("Convolutional filters (IBSI 2)", " | ".join(desc)
                     + f"; families on response maps: {', '.join(settings.get('filter_families', ()))}"))
    else:
        rows.append(("Convolutional filters (IBSI 2)", "none"))
    return rows


def section_ibsi(run: RunData) -> Section:
    """IBSI compliance statement with the run's settings in IBSI reporting terms."""
    import yaml

    prov = run.json("extraction/provenance.json")
    if prov is None or not prov.get("settings_yaml"):
        return Section("ibsi", "IBSI compliance statement", missing_note("extraction/provenance.json"))
    settings = yaml.safe_load(prov["settings_yaml"])
    vers = prov.get("versions") or {}
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in settings_terms(settings))
    body = (f"<p>Features were computed with radiomix {esc(vers.get('radiomix', '?'))}, which implements the feature "
            "definitions of the Image Biomarker Standardisation Initiative (IBSI 1, Zwanenburg et al., Radiology "
            "2020) and the convolutional filters of IBSI 2; its values are checked against the IBSI digital and CT "
            "phantom reference values (<code>radiomix ibsi</code>). Settings of this run (settings digest "
            f"<code>{esc(prov.get('settings_digest'))}</code>, name {esc(settings.get('name'))}):</p>"
            f'<table class="kv">{rows}</table>'
            "<p>Feature names follow <code>{image_type}_{family}_{feature}</code> with IBSI identifiers listed by "
            "<code>radiomix features</code>.</p>")
    return Section("ibsi", "IBSI compliance statement", body)


def _check(item: str, value: str | None, source: str) -> tuple[str, str, str, str]:
    if value is None:
        return item, "to complete by the user", "", source
    return item, "filled from the run", value, source


def checklist_rows(run: RunData) -> list[tuple[str, str, str, str]]:
    """TRIPOD / CLEAR items: (item, status, content, source)."""
    clin, prov = run.table("cohort/clinical.csv"), run.json("extraction/provenance.json")
    m, e, s = run.json("model/metrics.json"), run.json("external/metrics.json"), run.json("survival/metrics.json")
    info = run.json("model/model.json") or {}
    rob, feats = run.table("robustness.parquet"), run.table("extraction/features.parquet")
    nan, fail = run.table("extraction/nan_reasons.parquet"), run.table("extraction/failures.parquet")
    vers = (prov or {}).get("versions") or {}
    src_data = (f"{len(clin)} cases, {clin['patient_id'].nunique()} patients, sites "
                f"{', '.join(map(str, sorted(clin['site'].astype(str).unique())))}"
                if clin is not None and {"patient_id", "site"} <= set(clin.columns) else None)
    outcome = None
    if m is not None:
        outcome = f"{info.get('outcome', 'binary outcome')} ({m.get('task', 'binary')}), n = {m.get('n')}"
        if "n_events" in m:
            outcome += f", {m['n_events']} events"
    surv = (f"time-to-event, n = {s.get('n')}, {s.get('n_events')} events" if s is not None else None)
    predictors = (f"{len(feature_columns(feats))} radiomic features per case plus clinical variables"
                  if feats is not None else None)
    missing = None
    if nan is not None and fail is not None:
        missing = (f"{len(nan)} NaN feature values with documented reasons; {fail['case_id'].nunique()} case(s) in "
                   "the failure ledger; cases with NaN are handled inside the modelling pipeline")
    perf = None
    if m is not None and "auc" in m:
        perf = f"internal AUC {fmt(m['auc']['estimate'])} (95% CI {fmt_ci(m['auc'].get('ci'))})"
        if e is not None and "auc" in e:
            perf += f"; external AUC {fmt(e['auc']['estimate'])} (95% CI {fmt_ci(e['auc'].get('ci'))})"
        if s is not None and "c_index" in s:
            perf += f"; C-index {fmt(s['c_index']['estimate'])} (95% CI {fmt_ci(s['c_index'].get('ci'))})"
    settings_txt = None
    if prov is not None and prov.get("settings_yaml"):
        import yaml

        settings_txt = "; ".join(f"{k}: {v}" for k, v in settings_terms(yaml.safe_load(prov["settings_yaml"]))[:4])
    return [
        _check("TRIPOD 1-2: title and abstract", None, "manuscript"),
        _check("TRIPOD 3: background and objectives", None, "manuscript"),
        _check("TRIPOD 4a: source of data", src_data, "cohort/clinical.csv"),
        _check("TRIPOD 5a: eligibility criteria", None, "study protocol"),
        _check("TRIPOD 6a: outcome definition", outcome, "model/metrics.json, model/model.json"),
        _check("TRIPOD 6a: time-to-event outcome", surv, "survival/metrics.json"),
        _check("TRIPOD 7a: predictors", predictors, "extraction/features.parquet"),
        _check("TRIPOD 8: sample size", f"n = {m.get('n')}" if m else None, "model/metrics.json"),
        _check("TRIPOD 9: missing data", missing, "extraction/nan_reasons.parquet, failures.parquet"),
        _check("TRIPOD 10b: model building and internal validation",
               "nested cross-validation, feature selection inside the folds" if m is not None else None,
               "model/model.json"),
        _check("TRIPOD 10e / 12: external validation", "locked model on the held-out site" if e else None,
               "external/metrics.json"),
        _check("TRIPOD 16: model performance with CIs", perf, "metrics.json files"),
        _check("TRIPOD 18-19: limitations and interpretation", None, "manuscript"),
        _check("TRIPOD 22: funding", None, "manuscript"),
        _check("CLEAR: image acquisition protocol", None, "scanner protocols per site"),
        _check("CLEAR: segmentation method and readers", None, "study protocol"),
        _check("CLEAR: image preprocessing", settings_txt, "extraction/provenance.json"),
        _check("CLEAR: feature extraction software and version",
               f"radiomix {vers.get('radiomix', '?')} (Python {vers.get('python', '?')})" if prov else None,
               "extraction/provenance.json"),
        _check("CLEAR: IBSI compliance", "see the IBSI compliance statement" if prov else None, "this report"),
        _check("CLEAR: feature robustness", f"perturbation ICC of {len(rob)} features" if rob is not None else None,
               "robustness.parquet"),
        _check("CLEAR: harmonisation", "ComBat (empirical Bayes) across sites" if run.has("harmonised.parquet")
               else None, "harmonised.parquet"),
        _check("CLEAR: feature selection", "selection inside each outer fold; frequencies reported"
               if run.has("model/selection_frequency.csv") else None, "model/selection_frequency.csv"),
        _check("CLEAR: code and data availability", None, "manuscript"),
    ]


def section_checklist(run: RunData) -> Section:
    """TRIPOD / CLEAR checklist: each item filled from the run or marked as the user's to complete."""
    rows = checklist_rows(run)
    body = "".join(f'<tr class="{"filled" if st.startswith("filled") else "todo"}"><td>{esc(i)}</td>'
                   f"<td>{esc(st)}</td><td>{esc(v)}</td><td>{esc(src)}</td></tr>" for i, st, v, src in rows)
    n = sum(st.startswith("filled") for _, st, _, _ in rows)
    return Section("checklist", "TRIPOD / CLEAR checklist", f"<p>{n} of {len(rows)} items filled from this run; the "
                   "others are for the authors to complete.</p><table class=\"data checklist\"><thead><tr><th>item"
                   "</th><th>status</th><th>content</th><th>source</th></tr></thead><tbody>" + body
                   + "</tbody></table>")


SECTIONS = (section_overview, section_quality, section_images, section_robustness, section_harmonisation,
            section_correlation, section_model, section_survival, section_importance, section_delta, section_ibsi,
            section_checklist)
