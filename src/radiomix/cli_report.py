"""CLI commands: `radiomix report` and `radiomix demo-data`. Registered on the main app by :func:`register`."""

from __future__ import annotations

from pathlib import Path

import typer


def report(
    run_dir: Path = typer.Argument(..., help="run folder (e.g. demo-output/, see docs/run-layout.md)"),
    out: Path = typer.Option(None, "--out", help="output HTML file (default: RUN_DIR/report.html)"),
    title: str = typer.Option("radiomix study report", help="report title"),
):
    """Write the self-contained HTML report of a run folder (no network needed to view it)."""
    from radiomix.report import write_report

    path = write_report(run_dir, out, title=title)
    typer.echo(f"report written to {path}")


def demo_data(
    out: Path = typer.Argument(..., help="output folder for the synthetic cohort"),
    patients: int = typer.Option(150, "--patients", min=6, help="number of patients"),
    seed: int = typer.Option(0, "--seed", help="random seed (same seed, same cohort)"),
):
    """Generate the synthetic three-site demo cohort (NIfTI and DICOM + RTSTRUCT, clinical table, manifest)."""
    from radiomix.cohort import make_cohort

    man = make_cohort(out, n_patients=patients, seed=seed)
    typer.echo(f"{len(man)} cases of {man['patient_id'].nunique()} patients written to {out} "
               f"(manifest: {out / 'manifest.csv'}, clinical table: {out / 'clinical.csv'})")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("report")(report)
    app.command("demo-data")(demo_data)
