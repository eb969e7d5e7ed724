"""CLI commands: `radiomix segment ...` (box, grow, ring, metrics, regions; train/predict from cli_segment_deep).

Points are given as ``X,Y,Z``: physical mm (patient LPS) by default, voxel indices (i, j, k) with ``--voxel``.
"""

from __future__ import annotations

from pathlib import Path

import typer

segment_app = typer.Typer(no_args_is_help=True, help="Make ROI masks: boxes, region growing, rings, deep learning.")


def _echo_written(mask, out: Path) -> None:
    typer.echo(f"wrote {out} ({mask.n_voxels} voxels, {mask.n_voxels * mask.geometry.voxel_volume:.1f} mm^3)",
               err=True)


@segment_app.command()
def box(
    image: Path = typer.Argument(..., help="image whose grid the box is drawn on"),
    corner: list[str] = typer.Option(None, help="corner X,Y,Z; give two (opposite corners, both included)"),
    around: Path | None = typer.Option(None, help="instead of corners: the bounding box of this mask"),
    margin_mm: float = typer.Option(0.0, help="with --around: grow the box by this margin (mm)"),
    voxel: bool = typer.Option(False, help="corners are voxel indices (i, j, k) instead of mm"),
    out: Path = typer.Option(..., help="output mask file (.nii.gz, .nrrd, .mha)"),
):
    """A box ROI from two corners, or around an existing mask."""
    from radiomix.errors import InputError
    from radiomix.image import check_same_grid
    from radiomix.io import read_image, read_mask, write_mask
    from radiomix.segment.box import box_mask, mask_box, parse_point

    img = read_image(image)
    if around is not None:
        if corner:
            raise InputError("give either --corner twice or --around MASK, not both")
        m = read_mask(around, image=img)
        check_same_grid(img, m)
        result = mask_box(m, margin_mm)
    else:
        if not corner or len(corner) != 2:
            raise InputError(f"a box needs exactly two --corner X,Y,Z options, got {len(corner or [])}")
        result = box_mask(img, parse_point(corner[0], "corner"), parse_point(corner[1], "corner"), voxel=voxel)
    write_mask(result, out)
    _echo_written(result, out)


@segment_app.command()
def grow(
    image: Path = typer.Argument(..., help="image to segment"),
    seed: list[str] = typer.Option(..., help="seed X,Y,Z (repeat for several seeds)"),
    voxel: bool = typer.Option(False, help="seeds are voxel indices (i, j, k) instead of mm"),
    lower: float | None = typer.Option(None, help="intensity window: lower bound"),
    upper: float | None = typer.Option(None, help="intensity window: upper bound"),
    confidence: float | None = typer.Option(None, help="confidence-connected: mean +/- K SD (instead of a window)"),
    iterations: int = typer.Option(4, help="confidence-connected: re-estimation rounds"),
    connectivity: int = typer.Option(26, help="6, 18 or 26"),
    max_radius_mm: float | None = typer.Option(None, help="keep the region within this distance of a seed"),
    opening_mm: float = typer.Option(0.0, help="opening radius (mm) that cuts thin leaks"),
    fill_holes: bool = typer.Option(True, help="fill enclosed holes"),
    min_component_mm3: float = typer.Option(0.0, help="remove components smaller than this volume"),
    out: Path = typer.Option(..., help="output mask file"),
):
    """Click-and-grow: seeded region growing."""
    from radiomix.io import read_image, write_mask
    from radiomix.segment.box import parse_point
    from radiomix.segment.grow import region_grow

    img = read_image(image)
    m = region_grow(img, [parse_point(s, "seed") for s in seed], voxel=voxel, lower=lower, upper=upper,
                    confidence=confidence, iterations=iterations, connectivity=connectivity,
                    max_radius_mm=max_radius_mm, opening_mm=opening_mm, fill_holes=fill_holes,
                    min_component_mm3=min_component_mm3)
    write_mask(m, out)
    _echo_written(m, out)


@segment_app.command()
def ring(
    image: Path = typer.Argument(..., help="image (its grid must be the mask's)"),
    mask: Path = typer.Argument(..., help="tumour mask"),
    outer_mm: float = typer.Option(..., help="shell thickness outside the mask (mm)"),
    inner_mm: float = typer.Option(0.0, help="shell thickness inside the mask (mm)"),
    label: int | None = typer.Option(None, help="label of the ROI in the mask (default: every non-zero voxel)"),
    within: Path | None = typer.Option(None, help="keep the ring inside this body/organ mask"),
    out: Path = typer.Option(..., help="output mask file"),
):
    """A peritumoral ring (shell of a physical thickness around / inside a mask)."""
    from radiomix.image import check_same_grid
    from radiomix.io import read_image, read_mask, write_mask
    from radiomix.segment.rings import ring_mask

    img = read_image(image)
    m = read_mask(mask, label=label, image=img)
    check_same_grid(img, m)
    w = read_mask(within, image=img) if within is not None else None
    r = ring_mask(m, outer_mm, inner_mm, within=w)
    write_mask(r, out)
    _echo_written(r, out)


@segment_app.command()
def metrics(
    reference: Path = typer.Argument(..., help="reference mask"),
    test: Path = typer.Argument(..., help="mask to compare"),
    label: int | None = typer.Option(None, help="label in both masks (default: every non-zero voxel)"),
    json_out: Path | None = typer.Option(None, "--json", help="also write the metrics to this JSON file"),
):
    """Dice, Jaccard, Hausdorff, HD95, ASSD (mm) and volume difference of two masks."""
    import json

    from radiomix.io import read_mask
    from radiomix.segment.metrics import segmentation_metrics

    res = segmentation_metrics(read_mask(reference, label=label), read_mask(test, label=label))
    for k, v in res.items():
        typer.echo(f"{k}\t{v:.6g}")
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(res, indent=2))


@segment_app.command()
def regions(
    image: Path = typer.Argument(..., help="image"),
    mask: Path = typer.Argument(..., help="tumour mask"),
    ring_mm: list[float] = typer.Option([5.0], "--ring-mm", help="outer ring thickness (repeat for several)"),
    inner_mm: float = typer.Option(0.0, help="inner shell thickness added to every ring"),
    within: Path | None = typer.Option(None, help="keep rings inside this body/organ mask"),
    preset: str | None = typer.Option(None, help="named settings preset"),
    settings: Path | None = typer.Option(None, help="settings YAML file"),
    out: Path | None = typer.Option(None, help="output .csv or .parquet (default: print)"),
):
    """Features of the intratumoral region and peritumoral rings in one row (columns `{region}__{feature}`)."""
    import pandas as pd

    from radiomix.cli import _settings, write_table
    from radiomix.io import read_image, read_mask
    from radiomix.segment.regions import extract_regions

    s = _settings(preset, settings)
    img = read_image(image)
    w = read_mask(within, image=img) if within is not None else None
    row = extract_regions(img, read_mask(mask, image=img), s, [(r, inner_mm) for r in ring_mm], within=w)
    write_table(pd.DataFrame([row]), out)


def register(app: typer.Typer) -> None:
    """Add the ``segment`` sub-command group to ``app``."""
    from radiomix import cli_segment_deep

    cli_segment_deep.register(segment_app)
    app.add_typer(segment_app, name="segment")
