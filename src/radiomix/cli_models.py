"""CLI commands: `radiomix train` and `radiomix evaluate` (outcome models). Registered on the main app by :func:`register`."""

from __future__ import annotations

from pathlib import Path

import typer


def _read_table(path: Path | None, what: str):
    """A CSV or Parquet table (None passes through); a missing or unreadable file is an InputError."""
    if path is None:
        return None
    import pandas as pd

    from radiomix.errors import InputError

    if not path.is_file():
        raise InputError(f"{path}: {what} table not found")
    try:
        return pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)
    except Exception as e:  # pandas/pyarrow raise many types for a corrupt file
        raise InputError(f"{path}: cannot read the {what} table: {e}") from e


def _summary(metrics: dict) -> str:
    parts = []
    for k, v in metrics.items():
        if isinstance(v, dict) and "estimate" in v and v["estimate"] is not None:
            lo, hi = v["ci"]
            ci = f" [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else ""
            parts.append(f"{k} {v['estimate']:.3f}{ci}")
    return "\n".join(parts)


def train_command(
    features: Path = typer.Option(..., help="feature table (.parquet or .csv), one row per case"),
    clinical: Path | None = typer.Option(None, help="clinical table (.csv or .parquet) with the outcome columns"),
    outcome: str | None = typer.Option(None, help="outcome column (binary, multiclass or regression tasks)"),
    time: str | None = typer.Option(None, help="survival time column (survival task)"),
    event: str | None = typer.Option(None, help="event indicator column, 0/1 (survival task)"),
    config: Path = typer.Option(..., help="model config YAML (task, models, pipeline, cv, bootstrap, seed)"),
    out: Path = typer.Option(..., help="output run folder"),
    id_column: str = typer.Option("case_id", help="case id column shared by the tables"),
    group_column: str = typer.Option("patient_id", help="patient column: a patient's rows stay in one fold"),
    site_column: str = typer.Option("site", help="site column for ComBat and leave-one-site-out"),
):
    """Train and validate outcome models (nested CV, bootstrap CIs) and write a run folder."""
    import sys

    from rich.console import Console

    from radiomix.analysis.models import train

    result = train(_read_table(features, "features"), _read_table(clinical, "clinical"), outcome, config, out,
                   time=time, event=event, id_column=id_column, group_column=group_column, site_column=site_column,
                   progress=sys.stderr.isatty())
    console = Console(stderr=True)
    m = result.metrics
    console.print(f"{m['task']}: {m['feature_set']}/{m['model']}, n={m['n']} ({m['validation']} CV)")
    console.print(_summary(m), markup=False, highlight=False)
    console.print(f"wrote {out}")


def evaluate_command(
    model: Path = typer.Option(..., help="a `radiomix train` output folder"),
    features: Path = typer.Option(..., help="external feature table (.parquet or .csv)"),
    clinical: Path | None = typer.Option(None, help="external clinical table with the outcome columns"),
    out: Path = typer.Option(..., help="output folder"),
    bootstrap: int | None = typer.Option(None, help="bootstrap resamples (default: the training config's)"),
):
    """Evaluate a locked model on external data (metrics with bootstrap CIs, predictions)."""
    from rich.console import Console

    from radiomix.analysis.models import evaluate

    res = evaluate(model, _read_table(features, "features"), _read_table(clinical, "clinical"), out, n_boot=bootstrap)
    console = Console(stderr=True)
    console.print(f"external: n={res.metrics['n']}")
    console.print(_summary(res.metrics), markup=False, highlight=False)
    console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("train")(train_command)
    app.command("evaluate")(evaluate_command)
