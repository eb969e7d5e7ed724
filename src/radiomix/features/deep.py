"""Deep features: embeddings of a user-provided TorchScript or ONNX network, pooled over the ROI.

Not an IBSI family and not in ``FAMILIES``: ``extract`` adds it when ``settings.deep_features`` is set, as family
``deep`` with features ``deep_0000``, ``deep_0001``, ... on image type ``original``, computed on the same
preprocessed (resampled, rounded) crop as the handcrafted features, with the intensity mask.

Steps (deterministic: eval mode, no gradients, no random parts):

1. the ROI's bounding box, grown by ``margin_mm`` (within the preprocessed crop), is cut from image and mask;
2. optional ``intensity_window``: clip to [low, high] and scale to [0, 1]; float32;
3. with ``input_size`` (z, y, x), image (linear) and mask (linear, giving weights in [0, 1]) are resized to it with
   centre-aligned sampling (output voxel i samples input position (i + 0.5) * n_in / n_out - 0.5);
4. the network gets (1, 1, z, y, x). A vector output (1, C) is the embedding. A feature map (1, C, z', y', x') is
   pooled over the ROI: the mask weights are resized to (z', y', x') the same way; ``mean`` is the weighted mean
   sum(w f) / sum(w), ``max`` the maximum over positions with w >= 0.5 (the position of the largest w when none).

TorchScript needs torch, ONNX needs onnxruntime (both in ``radiomix[deep]``). Models are cached per process by path
and modification time.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from radiomix.errors import InputError
from radiomix.features.base import FeatureValue

FAMILY_NAME = "deep"


def _resize(a: np.ndarray, shape, order: int = 1) -> np.ndarray:
    """Centre-aligned resize of a 3D array to ``shape`` (linear by default, edge values extended)."""
    if tuple(a.shape) == tuple(shape):
        return a.astype(np.float32, copy=False)
    coords = [(np.arange(m) + 0.5) * (n / m) - 0.5 for n, m in zip(a.shape, shape)]
    grid = np.meshgrid(*coords, indexing="ij")
    return ndi.map_coordinates(a.astype(np.float32, copy=False), grid, order=order, mode="nearest")


@lru_cache(maxsize=4)
def _torchscript_runner(path: str, mtime_ns: int):
    try:
        import torch
    except ImportError:
        raise InputError("deep features from TorchScript need PyTorch: pip install radiomix[deep]") from None
    from radiomix.segment.deep import quiet_torchscript

    try:
        with quiet_torchscript():
            net = torch.jit.load(path, map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - torch raises several types for a bad file
        raise InputError(f"{path}: not a TorchScript model: {str(exc).splitlines()[0][:200]}") from None
    net.eval()

    def run(x: np.ndarray, output: str | None) -> np.ndarray:
        with torch.inference_mode():
            out = net(torch.from_numpy(x))
        if isinstance(out, dict):
            if output is None:
                out = next(iter(out.values()))
            elif output in out:
                out = out[output]
            else:
                raise InputError(f"{path}: the network has no output {output!r} (outputs: {list(out)})")
        elif isinstance(out, (tuple, list)):
            k = 0 if output is None else int(output) if str(output).isdigit() else None
            if k is None or k >= len(out):
                raise InputError(f"{path}: output {output!r} is not an index into the {len(out)} outputs")
            out = out[k]
        return out.detach().cpu().numpy()

    return run


@lru_cache(maxsize=4)
def _onnx_runner(path: str, mtime_ns: int):
    try:
        import onnxruntime as ort
    except ImportError:
        raise InputError("deep features from ONNX need onnxruntime: pip install radiomix[deep]") from None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # one thread: bitwise reproducible sums
    try:
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise InputError(f"{path}: cannot load the ONNX model: {str(exc)[:200]}") from None
    inp = sess.get_inputs()[0].name
    names = [o.name for o in sess.get_outputs()]

    def run(x: np.ndarray, output: str | None) -> np.ndarray:
        if output is not None and output not in names:
            raise InputError(f"{path}: the network has no output {output!r} (outputs: {names})")
        return np.asarray(sess.run([output or names[0]], {inp: x})[0])

    return run


def _runner(spec):
    p = Path(spec.model_path)
    if not p.is_file():
        raise InputError(f"{p}: deep-features model file not found (settings deep_features.model_path)")
    key = (str(p.resolve()), p.stat().st_mtime_ns)
    return _onnx_runner(*key) if spec.format == "onnx" else _torchscript_runner(*key)


def deep_embedding(image: np.ndarray, mask: np.ndarray, spacing, spec) -> np.ndarray:
    """The embedding (1D float64 array) of the ROI ``mask`` in ``image`` (both (z, y, x) on a grid of ``spacing``
    mm) under a :class:`radiomix.settings.DeepFeatures` spec."""
    if image.shape != mask.shape:
        raise InputError(f"image {image.shape} and mask {mask.shape} differ in shape")
    idx = np.argwhere(mask)
    if idx.size == 0:
        raise InputError("deep features: the ROI is empty")
    grow = [math.ceil(spec.margin_mm / s - 1e-9) for s in spacing]
    box = tuple(slice(max(int(lo) - g, 0), min(int(hi) + 1 + g, n))
                for lo, hi, g, n in zip(idx.min(0), idx.max(0), grow, image.shape))
    x = np.asarray(image[box], dtype=np.float32)
    w = mask[box].astype(np.float32)
    if spec.intensity_window is not None:
        lo, hi = spec.intensity_window
        if not hi > lo:
            raise InputError(f"deep_features.intensity_window {spec.intensity_window}: low must be below high")
        x = (np.clip(x, lo, hi) - lo) / np.float32(hi - lo)
    if spec.input_size is not None:
        x, w = _resize(x, spec.input_size), np.clip(_resize(w, spec.input_size), 0, 1)
    out = _runner(spec)(np.ascontiguousarray(x[None, None], dtype=np.float32), spec.output)
    if out.ndim == 2 and out.shape[0] == 1:
        return out[0].astype(np.float64)
    if out.ndim != 5 or out.shape[0] != 1:
        raise InputError(f"{spec.model_path}: expected an output of shape (1, C) or (1, C, z, y, x), got {out.shape}")
    fmap = out[0].astype(np.float64)
    wm = np.clip(_resize(w, fmap.shape[1:]), 0, 1).astype(np.float64)
    if spec.pooling == "mean":
        if wm.sum() <= 0:
            wm = np.zeros_like(wm)
            wm[np.unravel_index(np.argmax(_resize(w, fmap.shape[1:])), wm.shape)] = 1.0
        return (fmap * wm).reshape(fmap.shape[0], -1).sum(1) / wm.sum()
    sel = wm >= 0.5
    if not sel.any():
        sel = np.zeros_like(sel)
        sel[np.unravel_index(np.argmax(wm), wm.shape)] = True
    return fmap[:, sel].max(1)


def deep_feature_values(prepared, spec) -> list[FeatureValue]:
    """Deep features of a :class:`radiomix.preprocess.PreparedCase` (its image and intensity mask) as
    FeatureValues ``original / deep / deep_NNNN``."""
    emb = deep_embedding(prepared.image.array, prepared.mask_int.array, prepared.image.spacing, spec)
    return [FeatureValue("original", FAMILY_NAME, f"deep_{i:04d}", "", "", float(v)) for i, v in enumerate(emb)]
