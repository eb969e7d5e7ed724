"""CLI commands: `radiomix robustness` (perturbation and settings sensitivity). Registered on the main app by :func:`register`."""

from __future__ import annotations

from pathlib import Path

import typer


def robustness_command(
    image: Path | None = typer.Argument(None, help="image file or DICOM series folder (or use --manifest)"),
    mask: Path | None = typer.Argument(None, help="mask file; with several labels (and no --label) each is a case"),
    out: Path = typer.Option(..., help="output table .csv or .parquet"),
    manifest: Path | None = typer.Option(None, help="batch form: manifest .csv/.parquet (case_id, image, mask)"),
    label: int | None = typer.Option(None, help="label of the ROI (default: every label, each a case)"),
    preset: str | None = typer.Option(None, help="named settings preset"),
    settings: Path | None = typer.Option(None, help="settings YAML file"),
    n: int = typer.Option(20, min=2, help="perturbations per case"),
    seed: int = typer.Option(0, help="random seed (same seed, same perturbations)"),
    kinds: str = typer.Option("rotation,translation,noise,volume,contour",
                              help="comma-separated perturbations combined in each draw"),
    sensitivity: Path | None = typer.Option(None, help="grid YAML: settings sensitivity instead of perturbations"),
):
    """Rank features by robustness: ICC(1,1) with CI over image perturbations (Zwanenburg et al. 2019), pooled across
    cases; or, with --sensitivity, ICC(2,1) and CV across a grid of settings."""
    from radiomix.analysis import perturbation_study as ps
    from radiomix.cli import _settings, err_console, write_table
    from radiomix.io import read_image, read_mask

    s = _settings(preset, settings)
    if (manifest is None) == (image is None):
        raise typer.BadParameter("give IMAGE MASK or --manifest MANIFEST (one of them)")
    if image is not None and mask is None:
        raise typer.BadParameter("IMAGE needs a MASK")
    if manifest is not None:
        cases = ps.manifest_cases(manifest)
    else:
        img = read_image(image)
        cases = ([("roi", img, read_mask(mask, label=label, image=img))] if label is not None
                 else ps.mask_label_cases(img, mask))
    if sensitivity is not None:
        from radiomix.analysis.sensitivity import load_grid, settings_sensitivity

        grid = load_grid(sensitivity)
        loaded = [c[1:] if len(c) == 3 else c[1]() for c in cases]
        table = settings_sensitivity([c[0] for c in loaded], [c[1] for c in loaded], s, grid)
        err_console.print(f"{len(table)} features over {int(table['n_settings'].iloc[0])} settings and "
                          f"{len(loaded)} case(s)")
    else:
        kind_list = tuple(k.strip() for k in kinds.split(",") if k.strip())
        bad = sorted(set(kind_list) - set(ps.KINDS))
        if bad or not kind_list:
            raise typer.BadParameter(f"unknown perturbation(s) {bad}; choose from {', '.join(ps.KINDS)}")
        table, secs = ps.timed_robustness(cases, s, n, seed, kind_list)
        err_console.print(f"{len(table)} features, {len(cases)} case(s) x {n} perturbations in {secs:.1f} s; "
                          f"ranked by {table['rank_by'].iloc[0]}")
    if len(cases) < 2:
        err_console.print("note: one case: ICC needs between-case variance, so icc is NaN and the rank follows the "
                          "within-case CV; give a cohort (--manifest) or a mask with several labels for ICCs")
    write_table(table, out)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("robustness")(robustness_command)
