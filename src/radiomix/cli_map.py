"""CLI commands: `radiomix map` (voxel-wise feature maps). Registered on the main app by :func:`register`."""

from __future__ import annotations

from pathlib import Path

import typer


def map_command(
    image: Path = typer.Argument(..., help="image file (NIfTI, NRRD, MHA) or DICOM series folder"),
    mask: Path = typer.Argument(..., help="mask / label map file"),
    settings: Path = typer.Option(..., help="settings YAML file (3D)"),
    kernel_radius: int = typer.Option(..., min=1, help="kernel radius R in voxels (cube of side 2R+1)"),
    families: str | None = typer.Option(None, help="comma-separated map families: glcm,statistics "
                                                   "(default: those in the settings)"),
    label: int | None = typer.Option(None, help="label of the ROI (default: every non-zero voxel)"),
    out: Path = typer.Option(..., help="output folder; one <feature>.nii.gz per feature"),
):
    """Voxel-wise feature maps over the ROI: one NIfTI per feature, covering the ROI's bounding box, NaN outside
    the ROI."""
    from rich.console import Console

    from radiomix.io import read_image, read_mask, write_image
    from radiomix.maps import feature_maps
    from radiomix.settings import load_settings

    s = load_settings(settings)
    img = read_image(image)
    fams = [f.strip() for f in families.split(",") if f.strip()] if families else None
    maps = feature_maps(img, read_mask(mask, label=label, image=img), s, kernel_radius, fams)
    out.mkdir(parents=True, exist_ok=True)
    for key, m in maps.items():
        write_image(m, out / f"{key}.nii.gz")
    Console(stderr=True).print(f"wrote {len(maps)} maps to {out}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("map")(map_command)
