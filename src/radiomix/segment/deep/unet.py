"""Train a MONAI 3D U-Net on image/mask pairs; save it as TorchScript (``model.pt``) with ``preprocessing.json``.

Training samples random patches: half centred on a random foreground voxel, half anywhere, with random flips; the
loss is Dice + binary cross-entropy on one sigmoid output channel; Adam. Everything is seeded (``seed``), and
``threads`` caps torch's CPU threads. Output folder: ``model.pt`` (TorchScript, loads without radiomix),
``preprocessing.json`` (see :mod:`.preprocessing`) and ``training.json`` (loss per epoch, settings, timings).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from radiomix.errors import InputError
from radiomix.image import Image, check_same_grid
from radiomix.segment.deep import quiet_torchscript, require_monai, require_torch
from radiomix.segment.deep.preprocessing import PREPROCESSING_FILE, Preprocessing, prepare_input, resample_array

log = logging.getLogger(__name__)
MODEL_FILE = "model.pt"


def build_unet(channels: Sequence[int] = (8, 16, 32), strides: Sequence[int] = (2, 2), num_res_units: int = 1):
    """A MONAI ``UNet``: 3D, one input channel, one output channel (foreground logit)."""
    require_monai()
    from monai.networks.nets import UNet

    if len(strides) != len(channels) - 1:
        raise InputError(f"a U-Net with channels {tuple(channels)} needs {len(channels) - 1} strides, "
                         f"got {tuple(strides)}")
    return UNet(spatial_dims=3, in_channels=1, out_channels=1, channels=tuple(channels), strides=tuple(strides),
                num_res_units=num_res_units)


def pairs_from_dirs(images_dir, masks_dir) -> list[tuple[Path, Path]]:
    """Image/mask pairs matched by identical file name in two folders."""
    images_dir, masks_dir = Path(images_dir), Path(masks_dir)
    for d in (images_dir, masks_dir):
        if not d.is_dir():
            raise InputError(f"{d}: folder not found")
    imgs = {p.name: p for p in sorted(images_dir.iterdir()) if p.is_file() and not p.name.startswith(".")}
    masks = {p.name: p for p in sorted(masks_dir.iterdir()) if p.is_file() and not p.name.startswith(".")}
    missing = sorted(set(imgs) - set(masks))
    if missing:
        raise InputError(f"{masks_dir}: no mask with the same file name as image(s) {missing[:10]}")
    if not imgs:
        raise InputError(f"{images_dir}: no image files")
    return [(imgs[n], masks[n]) for n in sorted(imgs)]


def pairs_from_manifest(manifest) -> list[tuple[Path, Path]]:
    """Image/mask pairs from a manifest (CSV/Parquet with ``case_id, image, mask``; as for ``radiomix batch``)."""
    from radiomix.batch.manifest import load_manifest

    df = load_manifest(manifest)
    return [(Path(r["image"]), Path(r["mask"])) for r in df.to_dict("records")]


@dataclass
class TrainResult:
    """Where the model went and how training went."""

    out_dir: Path
    losses: list[float]
    seconds: float


def _pad_to(a: np.ndarray, shape, value) -> np.ndarray:
    pad = [(0, max(0, int(p) - n)) for n, p in zip(a.shape, shape)]
    return np.pad(a, pad, constant_values=value) if any(p[1] for p in pad) else a


def _load_pairs(pairs, prep: Preprocessing) -> list[tuple[np.ndarray, np.ndarray]]:
    from radiomix.io import read_image, read_mask

    out = []
    for item in pairs:
        if isinstance(item[0], Image):
            img, msk = item
        else:
            img = read_image(item[0])
            msk = read_mask(item[1], image=img)
        check_same_grid(img, msk)
        x, geom = prepare_input(img, prep)
        y = resample_array(msk.array.astype(np.float32), msk.geometry, geom, linear=True) >= 0.5
        out.append((_pad_to(x, prep.patch, float(x.min())), _pad_to(y, prep.patch, False)))
    return out


def _sample(x: np.ndarray, y: np.ndarray, patch, rng: np.random.Generator, foreground: bool):
    shape = np.asarray(x.shape)
    p = np.asarray(patch)
    fg = np.flatnonzero(y) if foreground else np.array([], int)
    if fg.size:
        c = np.array(np.unravel_index(fg[rng.integers(fg.size)], y.shape))
        lo = np.clip(c - p // 2 + rng.integers(-(p // 4), p // 4 + 1), 0, shape - p)
    else:
        lo = np.array([rng.integers(0, n - q + 1) for n, q in zip(shape, p)])
    sl = tuple(slice(int(a), int(a + q)) for a, q in zip(lo, p))
    xs, ys = x[sl], y[sl]
    for ax in range(3):
        if rng.random() < 0.5:
            xs, ys = np.flip(xs, ax), np.flip(ys, ax)
    return np.ascontiguousarray(xs), np.ascontiguousarray(ys)


def train_unet(pairs: Sequence, out_dir, *, epochs: int = 50, patch: Sequence[int] = (32, 64, 64),
               batch_size: int = 4, steps_per_epoch: int | None = None, learning_rate: float = 3e-3,
               spacing_mm: Sequence[float] | None = None, normalisation: str = "zscore",
               window: Sequence[float] | None = None, channels: Sequence[int] = (8, 16, 32),
               strides: Sequence[int] = (2, 2), num_res_units: int = 1, seed: int = 0, device: str = "cpu",
               threads: int | None = None, time_limit_s: float | None = None) -> TrainResult:
    """Train a U-Net on ``pairs`` (file path pairs, or (Image, Mask) pairs) and save it in ``out_dir``.

    ``patch`` is (z, y, x) voxels on the model grid (``spacing_mm`` (x, y, z), default: each image's own grid).
    Each epoch runs ``steps_per_epoch`` batches (default: one batch per training image). ``time_limit_s`` stops
    early, after the epoch that passes it (the model saved is the last one)."""
    torch = require_torch()
    require_monai()
    from monai.losses import DiceCELoss

    if epochs < 1 or batch_size < 1:
        raise InputError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("device 'cuda' was asked for, but torch sees no CUDA GPU (this torch build: "
                         f"{torch.__version__})")
    if threads:
        torch.set_num_threads(int(threads))
    prep = Preprocessing(spacing_mm=None if spacing_mm is None else tuple(float(s) for s in spacing_mm),
                         normalisation=normalisation, window=None if window is None else tuple(window),
                         patch=tuple(int(p) for p in patch),
                         extra={"channels": list(channels), "strides": list(strides), "num_res_units": num_res_units})
    data = _load_pairs(pairs, prep)
    if not data:
        raise InputError("no training pairs")
    if not any(y.any() for _, y in data):
        raise InputError("every training mask is empty; nothing to learn")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = build_unet(channels, strides, num_res_units).to(device)
    loss_fn = DiceCELoss(sigmoid=True)
    opt = torch.optim.Adam(net.parameters(), lr=learning_rate)
    steps = steps_per_epoch or max(1, len(data) // batch_size)
    losses: list[float] = []
    t0 = time.perf_counter()
    net.train()
    for epoch in range(epochs):
        total = 0.0
        for _ in range(steps):
            xs, ys = [], []
            for b in range(batch_size):
                x, y = data[rng.integers(len(data))]
                xp, yp = _sample(x, y, prep.patch, rng, foreground=b % 2 == 0)
                xs.append(xp)
                ys.append(yp)
            xb = torch.from_numpy(np.stack(xs)[:, None]).to(device)
            yb = torch.from_numpy(np.stack(ys)[:, None].astype(np.float32)).to(device)
            opt.zero_grad()
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
            total += float(loss.detach())
        losses.append(total / steps)
        log.info("epoch %d/%d loss %.4f", epoch + 1, epochs, losses[-1])
        if time_limit_s is not None and time.perf_counter() - t0 > time_limit_s:
            log.warning("training stopped after epoch %d: time limit %.0f s reached", epoch + 1, time_limit_s)
            break
    seconds = time.perf_counter() - t0
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    net.eval()
    with quiet_torchscript():
        torch.jit.script(net.cpu()).save(str(out / MODEL_FILE))
    prep.to_json(out / PREPROCESSING_FILE)
    (out / "training.json").write_text(json.dumps({
        "epochs_run": len(losses), "epochs": epochs, "batch_size": batch_size, "steps_per_epoch": steps,
        "learning_rate": learning_rate, "seed": seed, "n_pairs": len(data), "losses": losses,
        "seconds": round(seconds, 3), "device": device, "torch_version": torch.__version__,
    }, indent=2))
    return TrainResult(out, losses, seconds)
