"""CLI commands: `radiomix segment train|predict` (U-Net, optional torch extra). Registered on the main app by :func:`register`.

torch and MONAI are imported inside the commands only; without them the commands fail with
``error: ... pip install radiomix[deep]``.
"""

from __future__ import annotations

from pathlib import Path

import typer


def _xyz_to_zyx(text: str | None, what: str):
    from radiomix.errors import InputError

    if text is None:
        return None
    try:
        vals = [int(v) for v in text.split(",")]
    except ValueError:
        raise InputError(f"{what} {text!r}: expected three integers X,Y,Z") from None
    if len(vals) != 3 or min(vals) < 1:
        raise InputError(f"{what} {text!r}: expected three positive integers X,Y,Z")
    return tuple(vals[::-1])


def train(
    images: Path | None = typer.Option(None, help="folder of training images"),
    masks: Path | None = typer.Option(None, help="folder of masks, same file names as the images"),
    manifest: Path | None = typer.Option(None, help="instead of folders: manifest with case_id, image, mask"),
    out: Path = typer.Option(..., help="output model folder (model.pt, preprocessing.json, training.json)"),
    epochs: int = typer.Option(50, help="training epochs"),
    patch: str = typer.Option("64,64,32", help="patch size X,Y,Z voxels"),
    batch_size: int = typer.Option(4, help="patches per step"),
    steps_per_epoch: int | None = typer.Option(None, help="steps per epoch (default: images / batch size)"),
    learning_rate: float = typer.Option(3e-3, help="Adam learning rate"),
    spacing: str | None = typer.Option(None, help="model spacing X,Y,Z mm (default: each image's own grid)"),
    normalisation: str = typer.Option("zscore", help="zscore or window"),
    window: str | None = typer.Option(None, help="with --normalisation window: LOW,HIGH"),
    channels: str = typer.Option("8,16,32", help="U-Net channels per level"),
    device: str = typer.Option("cpu", help="cpu or cuda"),
    threads: int | None = typer.Option(None, help="torch CPU threads"),
    seed: int = typer.Option(0, help="random seed"),
):
    """Train a 3D U-Net (MONAI) on image/mask pairs; saves TorchScript plus its preprocessing JSON."""
    from radiomix.errors import InputError
    from radiomix.segment.deep.unet import pairs_from_dirs, pairs_from_manifest, train_unet

    if manifest is not None and (images or masks):
        raise InputError("give either --manifest or --images and --masks, not both")
    if manifest is not None:
        pairs = pairs_from_manifest(manifest)
    elif images is not None and masks is not None:
        pairs = pairs_from_dirs(images, masks)
    else:
        raise InputError("training needs --images DIR and --masks DIR, or --manifest FILE")
    ch = tuple(int(c) for c in channels.split(","))
    sp = None if spacing is None else tuple(float(v) for v in spacing.split(","))
    win = None if window is None else tuple(float(v) for v in window.split(","))
    res = train_unet(pairs, out, epochs=epochs, patch=_xyz_to_zyx(patch, "--patch"), batch_size=batch_size,
                     steps_per_epoch=steps_per_epoch, learning_rate=learning_rate, spacing_mm=sp,
                     normalisation=normalisation, window=win, channels=ch, strides=(2,) * (len(ch) - 1),
                     device=device, threads=threads, seed=seed)
    typer.echo(f"trained {len(res.losses)} epochs in {res.seconds:.1f} s, final loss {res.losses[-1]:.4f}; "
               f"model in {res.out_dir}", err=True)


def predict(
    image: Path = typer.Argument(..., help="image to segment"),
    model: Path = typer.Option(..., help="radiomix model folder, TorchScript file or MONAI bundle folder"),
    out: Path = typer.Option(..., help="output mask file (on the image's grid)"),
    device: str = typer.Option("cpu", help="cpu or cuda"),
    patch: str | None = typer.Option(None, help="sliding-window patch X,Y,Z (default: the model's)"),
    overlap: float = typer.Option(0.25, help="window overlap in [0, 1)"),
    batch_size: int = typer.Option(4, help="windows per batch"),
    threshold: float | None = typer.Option(None, help="foreground probability threshold (default: the model's)"),
    threads: int | None = typer.Option(None, help="torch CPU threads"),
):
    """Segment an image with a U-Net / TorchScript / MONAI bundle model (sliding-window inference)."""
    from radiomix.io import read_image, write_mask
    from radiomix.segment.deep import require_torch
    from radiomix.segment.deep.inference import predict_mask

    if threads:
        require_torch().set_num_threads(threads)
    img = read_image(image)
    m = predict_mask(str(model), img, patch=_xyz_to_zyx(patch, "--patch"), overlap=overlap, batch_size=batch_size,
                     device=device, threshold=threshold)
    write_mask(m, out)
    typer.echo(f"wrote {out} ({m.n_voxels} voxels)", err=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("train")(train)
    app.command("predict")(predict)
