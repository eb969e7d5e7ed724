"""Figures of the report as matplotlib ``Figure`` objects (no pyplot state, usable in notebooks and in threads).

Every figure uses the Okabe-Ito colour-blind-safe palette (or the perceptually uniform, colour-blind-safe ``cividis``
/ diverging ``PuOr`` maps), labels its axes with units and takes its numbers from the tables it is given: estimates
and confidence intervals printed on a figure come from the run's ``metrics.json``, never from a recomputation. The
bootstrap bands drawn around curves are drawing aids computed from the stored predictions (seeded, reproducible).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

#: Okabe & Ito (2008) colour-blind-safe palette
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
_RC = {"text.parse_math": False, "font.size": 9, "axes.titlesize": 10, "axes.spines.top": False,
       "axes.spines.right": False}


def _styled(fn):
    """Run a figure function under the report's style (a local rc_context: the global matplotlib state is left
    alone). Text is plain: a '$' in a case id or feature name is never parsed as mathtext."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(_RC):
            return fn(*args, **kwargs)

    return wrapper


def _figure(w: float = 6.0, h: float = 4.0, **kw) -> Figure:
    return Figure(figsize=(w, h), layout="constrained", **kw)


def to_png_base64(fig: Figure, dpi: int = 110) -> str:
    """The figure as a base64 PNG string (for an ``<img src="data:image/png;base64,...">``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return base64.b64encode(buf.getvalue()).decode("ascii")


@_styled
def mosaic(cases: Sequence[tuple[str, np.ndarray, np.ndarray, tuple[float, float]]], window=(-200.0, 300.0),
           ncols: int = 6) -> Figure:
    """Slices with the ROI outline: ``cases`` holds (label, 2D image in HU, 2D mask, pixel spacing (y, x) mm).

    Grey levels: the CT window ``window`` (HU); outline: Okabe-Ito orange; a 10 mm scale bar in each panel.
    """
    n = max(1, len(cases))
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig = _figure(1.6 * ncols, 1.75 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, (label, img, msk, sp) in zip(axes, cases):
        ny, nx = img.shape
        ext = (0, nx * sp[1], ny * sp[0], 0)
        ax.imshow(img, cmap="gray", vmin=window[0], vmax=window[1], extent=ext, interpolation="nearest")
        if msk.any():
            yy = (np.arange(ny) + 0.5) * sp[0]
            xx = (np.arange(nx) + 0.5) * sp[1]
            ax.contour(xx, yy, msk.astype(float), levels=[0.5], colors=[OKABE_ITO[1]], linewidths=1.2)
        x0 = 0.06 * nx * sp[1]
        ax.plot([x0, x0 + 10], [0.92 * ny * sp[0]] * 2, color="white", lw=2)
        ax.set_title(str(label), fontsize=7)
    return fig


@_styled
def site_distributions(before: pd.DataFrame, after: pd.DataFrame | None, features: Sequence[str],
                       site: str = "site") -> Figure:
    """Box plots of each feature by site, before (top row) and after (bottom row) harmonisation. Values are
    standardised per feature (z-scores over all cases of the 'before' table) so features share one axis."""
    feats = list(features)
    rows = 2 if after is not None else 1
    fig = _figure(max(3.0, 2.2 * len(feats)), 2.4 * rows)
    axes = fig.subplots(rows, max(1, len(feats)), squeeze=False)
    sites = sorted(before[site].astype(str).unique())
    for j, f in enumerate(feats):
        mu, sd = before[f].mean(), before[f].std() or 1.0
        for i, (tab, what) in enumerate([(before, "before")] + ([(after, "after ComBat")] if rows == 2 else [])):
            ax = axes[i, j]
            data = [((tab.loc[tab[site].astype(str) == s, f] - mu) / sd).dropna().to_numpy() for s in sites]
            bp = ax.boxplot(data, patch_artist=True, widths=0.6)
            ax.set_xticks(range(1, len(sites) + 1), sites)
            for k, box in enumerate(bp["boxes"]):
                box.set_facecolor(OKABE_ITO[k % len(OKABE_ITO)])
                box.set_alpha(0.8)
            for med in bp["medians"]:
                med.set_color("black")
            ax.set_title(f"{_short(f)}\n({what})", fontsize=7)
            ax.set_xlabel("site")
            if j == 0:
                ax.set_ylabel("z-score (SD units)")
    return fig


def _short(name: str, n: int = 38) -> str:
    return name if len(name) <= n else name[: n - 3] + "..."


@_styled
def correlation_heatmap(table: pd.DataFrame, features: Sequence[str], selected: Sequence[str] = ()) -> Figure:
    """Spearman correlation between features (diverging colour-blind-safe PuOr map, -1 to 1); selected features
    are marked with a black triangle and bold labels."""
    feats = list(features)
    corr = table[feats].corr(method="spearman").to_numpy()
    k = len(feats)
    size = min(11.0, 3.0 + 0.16 * k)
    fig = _figure(size + 1.2, size)
    ax = fig.subplots()
    im = ax.imshow(corr, cmap="PuOr", vmin=-1, vmax=1, interpolation="nearest")
    sel = set(selected)
    show_labels = k <= 60
    ax.set_xticks(range(k), [_short(f, 30) if show_labels else "" for f in feats], rotation=90, fontsize=5)
    ax.set_yticks(range(k), [_short(f, 30) if show_labels else "" for f in feats], fontsize=5)
    for i, f in enumerate(feats):
        if f in sel:
            ax.plot(-1.2, i, marker=">", color="black", markersize=5, clip_on=False)
            if show_labels:
                ax.get_yticklabels()[i].set_fontweight("bold")
    ax.set_xlim(-1.6, k - 0.5)
    cb = fig.colorbar(im, ax=ax, shrink=0.7)
    cb.set_label("Spearman correlation (unitless)")
    return fig


def _roc_points(y, s):
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    distinct = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(y)[distinct]
    fps = (1 + distinct) - tps
    P, N = max(y.sum(), 1), max(len(y) - y.sum(), 1)
    return np.r_[0, fps / N], np.r_[0, tps / P]


def roc_band(y_true, y_score, n_boot: int = 200, seed: int = 0, grid=None):
    """(fpr grid, lower, upper): a 95 % pointwise bootstrap band of the ROC curve (resampling cases)."""
    y, s = np.asarray(y_true, int), np.asarray(y_score, float)
    grid = np.linspace(0, 1, 101) if grid is None else grid
    rng = np.random.default_rng(seed)
    curves = []
    for _ in range(n_boot):
        i = rng.integers(0, len(y), len(y))
        if y[i].min() == y[i].max():
            continue
        f, t = _roc_points(y[i], s[i])
        curves.append(np.interp(grid, f, t))
    if not curves:
        return grid, np.zeros_like(grid), np.ones_like(grid)
    c = np.array(curves)
    return grid, np.percentile(c, 2.5, axis=0), np.percentile(c, 97.5, axis=0)


@_styled
def roc_curves(curves: Sequence[tuple[str, np.ndarray, np.ndarray, dict | None]]) -> Figure:
    """ROC curves with 95 % bootstrap bands; ``curves``: (label, y_true, y_score, auc metric dict from
    metrics.json or None). The legend prints the stored AUC estimate and CI."""
    fig = _figure(4.6, 4.2)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1, label="chance")
    for k, (label, y, s, auc) in enumerate(curves):
        col = OKABE_ITO[k % len(OKABE_ITO)]
        f, t = _roc_points(np.asarray(y, int), np.asarray(s, float))
        g, lo, hi = roc_band(y, s, seed=k)
        ax.fill_between(g, lo, hi, color=col, alpha=0.2, lw=0)
        txt = label
        if auc:
            txt += f" (AUC {fmt(auc.get('estimate'))}, 95% CI {fmt_ci(auc.get('ci'))})"
        ax.step(f, t, where="post", color=col, lw=1.8, label=txt, ls="-" if k == 0 else "--")
    ax.set_xlabel("1 - specificity (false-positive rate, fraction)")
    ax.set_ylabel("sensitivity (true-positive rate, fraction)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.legend(loc="lower right", fontsize=7)
    return fig


@_styled
def calibration_plot(curves: Sequence[tuple[str, np.ndarray, np.ndarray]], n_bins: int = 5) -> Figure:
    """Observed event rate against mean predicted probability in quantile bins (with binomial 95 % intervals)."""
    fig = _figure(4.6, 4.2)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1, label="perfect calibration")
    for k, (label, y, p) in enumerate(curves):
        y, p = np.asarray(y, float), np.asarray(p, float)
        bins = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1)))
        idx = np.clip(np.searchsorted(bins, p, side="right") - 1, 0, len(bins) - 2)
        xs, ys, err = [], [], []
        for b in range(len(bins) - 1):
            sel = idx == b
            if sel.sum() == 0:
                continue
            m, o = p[sel].mean(), y[sel].mean()
            xs.append(m)
            ys.append(o)
            err.append(1.96 * np.sqrt(max(o * (1 - o), 1e-9) / sel.sum()))
        ax.errorbar(xs, ys, yerr=err, marker="o", ms=4, capsize=2, color=OKABE_ITO[k % len(OKABE_ITO)],
                    label=label, ls="-" if k == 0 else "--")
    ax.set_xlabel("mean predicted probability (fraction)")
    ax.set_ylabel("observed outcome rate (fraction)")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="upper left", fontsize=7)
    return fig


def net_benefit(y, p, thresholds) -> np.ndarray:
    """Net benefit of treating when p >= threshold (Vickers & Elkin 2006): TP/n - FP/n * t / (1 - t)."""
    y, p = np.asarray(y, int), np.asarray(p, float)
    n = len(y)
    out = []
    for t in thresholds:
        treat = p >= t
        tp, fp = np.sum(treat & (y == 1)), np.sum(treat & (y == 0))
        out.append(tp / n - fp / n * t / (1 - t))
    return np.array(out)


@_styled
def decision_curve(curves: Sequence[tuple[str, np.ndarray, np.ndarray]]) -> Figure:
    """Decision curve: net benefit of each model, of treating all and of treating none, over threshold
    probabilities 0.05-0.80."""
    th = np.linspace(0.05, 0.8, 60)
    fig = _figure(4.6, 4.2)
    ax = fig.subplots()
    prev = None
    for k, (label, y, p) in enumerate(curves):
        ax.plot(th, net_benefit(y, p, th), color=OKABE_ITO[k % len(OKABE_ITO)], lw=1.8, label=label,
                ls="-" if k == 0 else "--")
        prev = np.mean(y) if prev is None else prev
    if prev is not None:
        ax.plot(th, prev - (1 - prev) * th / (1 - th), color=OKABE_ITO[7], lw=1, ls="-.", label="treat all")
    ax.axhline(0, color="grey", lw=1, ls=":", label="treat none")
    ax.set_ylim(-0.05, max(0.1, (prev or 0.5) + 0.05))
    ax.set_xlabel("threshold probability (fraction)")
    ax.set_ylabel("net benefit (true positives per patient)")
    ax.legend(fontsize=7)
    return fig


@_styled
def kaplan_meier_plot(time, event, groups, p_value: float | None = None, unit: str = "months") -> Figure:
    """Kaplan-Meier curves (with 95 % log-log pointwise intervals) of each group; the log-rank p-value given
    (not recomputed here) is printed on the plot."""
    from sksurv.nonparametric import kaplan_meier_estimator

    time, event, groups = np.asarray(time, float), np.asarray(event, bool), np.asarray(groups).astype(str)
    fig = _figure(5.2, 4.0)
    ax = fig.subplots()
    for k, g in enumerate(sorted(set(groups))):
        sel = groups == g
        t, s, (lo, hi) = kaplan_meier_estimator(event[sel], time[sel], conf_type="log-log")
        col = OKABE_ITO[k % len(OKABE_ITO)]
        ax.step(np.r_[0, t], np.r_[1, s], where="post", color=col, lw=1.8, label=f"{g} (n={sel.sum()})",
                ls="-" if k == 0 else "--")
        ax.fill_between(np.r_[0, t], np.r_[1, lo], np.r_[1, hi], step="post", color=col, alpha=0.15, lw=0)
    if p_value is not None:
        ax.text(0.98, 0.95, f"log-rank {fmt_p(p_value)}", transform=ax.transAxes, ha="right", va="top")
    ax.set_xlabel(f"time ({unit})")
    ax.set_ylabel("survival probability (fraction)")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left", fontsize=7)
    return fig


@_styled
def importance_bars(table: pd.DataFrame, value: str, err: str | None = None, n: int = 15,
                    xlabel: str = "importance") -> Figure:
    """Horizontal bars of the ``n`` largest values of column ``value`` (with ``err`` as error bars)."""
    t = table.dropna(subset=[value]).sort_values(value, ascending=False).head(n)[::-1]
    fig = _figure(6.4, 0.9 + 0.25 * max(1, len(t)))
    ax = fig.subplots()
    xerr = t[err].to_numpy() if err and err in t else None
    ax.barh([_short(str(f), 45) for f in t["feature"]], t[value], xerr=xerr, color=OKABE_ITO[0], alpha=0.85,
            error_kw={"ecolor": "black", "lw": 0.8})
    ax.set_xlabel(xlabel)
    ax.tick_params(axis="y", labelsize=6)
    return fig


@_styled
def robustness_plot(table: pd.DataFrame, n: int = 25, threshold: float | None = None) -> Figure:
    """ICC point estimates with 95 % CIs of the ``n`` most and the 5 least robust features (by rank)."""
    t = table.sort_values("rank")
    t = pd.concat([t.head(n), t.tail(5)]).drop_duplicates("feature")[::-1]
    fig = _figure(6.4, 0.9 + 0.2 * len(t))
    ax = fig.subplots()
    y = np.arange(len(t))
    ax.errorbar(t["icc"], y, xerr=[t["icc"] - t["icc_low"], t["icc_high"] - t["icc"]], fmt="o", ms=3,
                color=OKABE_ITO[0], ecolor=OKABE_ITO[4])
    ax.set_yticks(y, [_short(str(f), 45) for f in t["feature"]], fontsize=6)
    if threshold is not None:
        ax.axvline(threshold, color=OKABE_ITO[5], ls="--", lw=1, label=f"threshold {threshold:g}")
        ax.legend(fontsize=7, loc="lower left")
    ax.set_xlabel("ICC(1,1) over image perturbations (unitless, 95% CI)")
    ax.set_xlim(min(0.0, float(np.nanmin(t["icc_low"])) if len(t) else 0.0), 1.0)
    return fig


# ---- number formatting shared by figures and HTML (one place, so text and figures agree) --------------------------
def fmt(x, digits: int = 3) -> str:
    """A number as the report prints it."""
    if x is None:
        return "n/a"
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return str(x)
    if np.isnan(xf):
        return "NaN"
    if float(xf).is_integer() and abs(xf) >= 1:
        return f"{int(xf)}"
    if 0 < abs(xf) < 10 ** -digits:
        return f"{xf:.2e}"
    return f"{xf:.{digits}f}"


def fmt_ci(ci, digits: int = 3) -> str:
    """A confidence interval as the report prints it."""
    if ci is None or len(ci) != 2:
        return "n/a"
    return f"{fmt(ci[0], digits)} to {fmt(ci[1], digits)}"


def fmt_p(p) -> str:
    """A p-value as the report prints it: ``p = 0.012`` or ``p < 0.001``."""
    if p is None or np.isnan(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
