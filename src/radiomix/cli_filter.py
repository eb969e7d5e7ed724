"""CLI commands: `radiomix filter` (response maps as NIfTI). Registered on the main app by :func:`register`."""

from __future__ import annotations

from pathlib import Path

import typer


def filter_command(
    image: Path = typer.Argument(..., help="image file (NIfTI, NRRD, MHA) or DICOM series folder"),
    out: Path = typer.Option(..., help="output folder: one <image_type>.nii.gz per response map"),
    mask: Path | None = typer.Option(None, help="mask: filter only the ROI's bounding box plus the kernel margin"),
    label: int | None = typer.Option(None, help="label of the ROI in the mask (default: every non-zero voxel)"),
    preset: str | None = typer.Option(None, help="named settings preset with filters, e.g. ibsi2_phase1_2.a"),
    settings: Path | None = typer.Option(None, help="settings YAML file with a filters list"),
):
    """Write every filter response map of the settings as NIfTI (input geometry, float32)."""
    from radiomix.cli import _settings, err_console
    from radiomix.filters.response import write_response_maps
    from radiomix.io import read_image, read_mask

    s = _settings(preset, settings)
    img = read_image(image)
    m = read_mask(mask, label=label, image=img) if mask is not None else None
    res, paths = write_response_maps(img, s, out, m)
    for note in res.notes:
        err_console.print(f"note: {note}")
    for p in paths:
        err_console.print(f"wrote {p}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("filter")(filter_command)
