"""Sliding-window prediction (MONAI ``sliding_window_inference``) of a segmentation model onto the input grid.

The image is normalised and, when the model has a working spacing, resampled to it; patches of ``patch`` voxels
(z, y, x) run through the network in batches of ``batch_size`` on ``device`` (cpu or cuda) with ``overlap``, blended
with Gaussian weights; the stitched output stays on the CPU. One output channel is a foreground logit
(probability = sigmoid, kept where >= threshold); several channels are class scores (foreground: argmax is not 0, or
equals ``label``). Where the model grid differs from the image's, the output is resampled back linearly before the
threshold, so the mask always has the input image's geometry.
"""

from __future__ import annotations

import math

import numpy as np

from radiomix.errors import InputError
from radiomix.image import Image, Mask
from radiomix.segment.deep import require_monai, require_torch
from radiomix.segment.deep.models import SegmentationModel, load_segmentation_model
from radiomix.segment.deep.preprocessing import prepare_input, resample_array


def predict_mask(model: SegmentationModel | str, image: Image, *, patch=None, overlap: float = 0.25,
                 batch_size: int = 4, device: str | None = None, threshold: float | None = None,
                 label: int | None = None) -> Mask:
    """Segment ``image`` with ``model`` (a loaded model or a path :func:`load_segmentation_model` accepts) and return
    the mask on the image's grid. ``patch`` defaults to the model's training patch (z, y, x); ``threshold`` to the
    model's (0.5)."""
    torch = require_torch()
    require_monai()
    from monai.inferers import sliding_window_inference

    if not isinstance(model, SegmentationModel):
        model = load_segmentation_model(model, device or "cpu")
    dev = device or model.device
    if dev != model.device:
        model.network.to(dev)  # type: ignore[attr-defined]
        model.device = dev
    if not 0 <= overlap < 1:
        raise InputError(f"overlap must be in [0, 1), got {overlap}")
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    prep = model.preprocessing
    roi = tuple(int(p) for p in (patch or prep.patch))
    if len(roi) != 3 or min(roi) < 1:
        raise InputError(f"patch must be three positive voxel counts (z, y, x), got {patch}")
    thr = prep.threshold if threshold is None else float(threshold)
    image.check_finite()
    x, geom = prepare_input(image, prep)
    inputs = torch.from_numpy(np.ascontiguousarray(x))[None, None]
    del x
    with torch.inference_mode():
        out = sliding_window_inference(inputs, roi_size=roi, sw_batch_size=batch_size, predictor=model.network,
                                       overlap=overlap, mode="gaussian", sw_device=dev, device="cpu")
        if isinstance(out, (tuple, list)):
            out = out[0]
        if isinstance(out, dict):
            out = next(iter(out.values()))
        del inputs
        n_ch = int(out.shape[1])
        if n_ch == 1:
            score = out[0, 0].numpy()
            cut = math.log(thr / (1 - thr)) if 0 < thr < 1 else (-math.inf if thr <= 0 else math.inf)
        else:
            cls = out[0].argmax(0).numpy()
            score = (cls != 0) if label is None else (cls == int(label))
            score = score.astype(np.float32)
            cut = 0.5
        del out
    if geom.differences(image.geometry):
        score = resample_array(score, geom, image.geometry, linear=True, default=-1e9 if n_ch == 1 else 0.0)
    return Mask(score >= cut, image.geometry, f"predict({model.source}, {image.source})")
