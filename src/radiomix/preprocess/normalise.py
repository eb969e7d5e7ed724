"""Intensity normalisation (z-score), for images in arbitrary units such as MRI.

``zscore(x) = scale * (x - mu) / sigma``, where ``mu`` and ``sigma`` (population SD) are taken over the voxels of a
reference region: the ROI (``mask``) or the whole image (``mask=None``). ``clip_sd`` optionally limits the result to
``[-clip_sd * scale, clip_sd * scale]`` (outlier removal after normalisation, as PyRadiomics' ``removeOutliers``).
This is PyRadiomics' ``normalize``/``normalizeScale`` option; it is not part of the IBSI chapter 2 pipeline.
"""

from __future__ import annotations

import numpy as np

from radiomix.errors import InputError
from radiomix.image import Image, Mask, check_same_grid


def zscore(array: np.ndarray, mask: np.ndarray | None = None, *, scale: float = 1.0,
           clip_sd: float | None = None, source: str = "<array>") -> np.ndarray:
    """Z-score normalised copy of ``array`` (float64), statistics over ``mask`` (or every voxel)."""
    a = np.asarray(array, dtype=np.float64)
    if not scale > 0:
        raise InputError(f"normalisation scale must be positive, got {scale}")
    if clip_sd is not None and not clip_sd > 0:
        raise InputError(f"normalisation clip_sd must be positive, got {clip_sd}")
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != a.shape:
            raise InputError(f"{source}: normalisation mask shape {m.shape} differs from image shape {a.shape}")
        ref = a[m]
        if ref.size == 0:
            raise InputError(f"{source}: the normalisation mask is empty")
    else:
        ref = a.ravel()
    mu, sd = float(ref.mean()), float(ref.std())
    if not np.isfinite(sd) or sd == 0.0:
        where = "ROI" if mask is not None else "image"
        raise InputError(f"{source}: cannot z-score normalise: the {where} intensities are constant ({mu:g})")
    out = (a - mu) / sd * scale
    if clip_sd is not None:
        np.clip(out, -clip_sd * scale, clip_sd * scale, out=out)
    return out


def normalise_image(image: Image, mask: Mask | None = None, *, scale: float = 1.0,
                    clip_sd: float | None = None) -> Image:
    """:func:`zscore` of an :class:`Image`, over the ROI ``mask`` (on the same grid) or the whole image."""
    if mask is not None:
        check_same_grid(image, mask)
    out = zscore(image.array, None if mask is None else mask.array, scale=scale, clip_sd=clip_sd,
                 source=image.source)
    return image.with_array(out)


# --- Nyul-Udupa histogram standardisation ------------------------------------------------------------------------------
#: default landmarks: percentiles of the foreground (Nyul, Udupa & Zhang 2000: pc1, pc2 = 1, 99 and the deciles)
NYUL_PERCENTILES = (1.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 99.0)


def _foreground(a: np.ndarray, mask: np.ndarray | None, source: str) -> np.ndarray:
    """Voxels the histogram statistics use: the mask, else the voxels above the image mean (Nyul & Udupa's
    foreground threshold)."""
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != a.shape:
            raise InputError(f"{source}: normalisation mask shape {m.shape} differs from image shape {a.shape}")
    else:
        m = a > a.mean()
    vals = a[m]
    if vals.size < 10:
        raise InputError(f"{source}: only {vals.size} foreground voxels to learn intensity landmarks from")
    return vals


class NyulStandardiser:
    """Nyul-Udupa piecewise-linear histogram standardisation (Nyul & Udupa 1999; Nyul, Udupa & Zhang 2000).

    ``fit(images, masks=None)`` learns the standard landmarks: each image's foreground percentiles
    (:data:`NYUL_PERCENTILES`) are mapped linearly so that the first and last land on ``standard_range``, and the
    mapped landmarks are averaged over the images. ``transform(image, mask=None)`` maps an image's own landmarks onto
    the standard ones, piecewise linearly, extending the first and last segments beyond them. ``save``/``load``
    write and read the landmarks as JSON (the ``landmarks_file`` of the ``nyul`` normalisation setting).
    """

    def __init__(self, percentiles=NYUL_PERCENTILES, standard_range=(0.0, 100.0)):
        p = tuple(float(v) for v in percentiles)
        if len(p) < 2 or bool(np.any(np.diff(p) <= 0)) or p[0] < 0 or p[-1] > 100:
            raise InputError(f"Nyul percentiles must be increasing within [0, 100], got {p}")
        lo, hi = (float(v) for v in standard_range)
        if not hi > lo:
            raise InputError(f"Nyul standard_range must be increasing, got {standard_range}")
        self.percentiles = p
        self.standard_range = (lo, hi)
        self.landmarks_: np.ndarray | None = None

    def image_landmarks(self, image, mask=None) -> np.ndarray:
        """The foreground percentiles of one image (an Image or an array)."""
        a = np.asarray(getattr(image, "array", image), dtype=np.float64)
        m = getattr(mask, "array", mask)
        return np.percentile(_foreground(a, m, getattr(image, "source", "<array>")), self.percentiles)

    def fit(self, images, masks=None) -> NyulStandardiser:
        """Learn the standard landmarks from a cohort (a sequence of Images or arrays, optional masks)."""
        images = list(images)
        if not images:
            raise InputError("NyulStandardiser.fit needs at least one image")
        masks = [None] * len(images) if masks is None else list(masks)
        if len(masks) != len(images):
            raise InputError(f"{len(images)} images but {len(masks)} masks")
        lo, hi = self.standard_range
        mapped = []
        for img, m in zip(images, masks):
            lm = self.image_landmarks(img, m)
            if not lm[-1] > lm[0]:
                raise InputError(f"{getattr(img, 'source', '<array>')}: its foreground intensities are constant")
            mapped.append(lo + (lm - lm[0]) / (lm[-1] - lm[0]) * (hi - lo))
        self.landmarks_ = np.mean(mapped, axis=0)
        return self

    def _check(self):
        if self.landmarks_ is None:
            raise InputError("NyulStandardiser is not fitted: call fit(images) or load(path) first")

    def transform_array(self, array, mask=None, source: str = "<array>") -> np.ndarray:
        """Map ``array`` onto the standard scale (float64)."""
        self._check()
        a = np.asarray(array, dtype=np.float64)
        lm = np.percentile(_foreground(a, mask, source), self.percentiles)
        if np.any(np.diff(lm) <= 0):
            # ties (e.g. many equal voxels): keep the mapping monotone by nudging equal landmarks apart
            lm = lm + np.arange(lm.size) * 1e-9 * max(1.0, float(np.abs(lm).max()))
        std = self.landmarks_
        out = np.interp(a, lm, std)
        below, above = a < lm[0], a > lm[-1]
        out[below] = std[0] + (a[below] - lm[0]) * (std[1] - std[0]) / (lm[1] - lm[0])
        out[above] = std[-1] + (a[above] - lm[-1]) * (std[-1] - std[-2]) / (lm[-1] - lm[-2])
        return out

    def transform(self, image: Image, mask: Mask | None = None) -> Image:
        """The standardised image (same grid)."""
        if mask is not None:
            check_same_grid(image, mask)
        return image.with_array(self.transform_array(image.array, None if mask is None else mask.array,
                                                     image.source))

    def save(self, path) -> None:
        """Write the landmarks (and percentiles) as JSON."""
        import json
        from pathlib import Path

        self._check()
        Path(path).write_text(json.dumps({"method": "nyul", "percentiles": list(self.percentiles),
                                          "standard_range": list(self.standard_range),
                                          "landmarks": [float(v) for v in self.landmarks_]}, indent=1))

    @classmethod
    def load(cls, path) -> NyulStandardiser:
        """Read a landmarks file written by :meth:`save`."""
        import json
        from pathlib import Path

        p = Path(path)
        if not p.exists():
            raise InputError(f"{p}: Nyul landmarks file not found")
        try:
            d = json.loads(p.read_text())
            obj = cls(d["percentiles"], d["standard_range"])
            lm = np.asarray(d["landmarks"], dtype=float)
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{p}: not a Nyul landmarks file ({type(exc).__name__}: {exc})") from None
        if lm.shape != (len(obj.percentiles),) or np.any(np.diff(lm) <= 0):
            raise InputError(f"{p}: landmarks must be {len(obj.percentiles)} increasing numbers")
        obj.landmarks_ = lm
        return obj


# --- WhiteStripe -------------------------------------------------------------------------------------------------------
def white_matter_mode(values: np.ndarray, contrast: str = "t1") -> float:
    """The normal-appearing white-matter intensity mode (Shinohara et al. 2014): the peaks of a smoothed histogram of
    ``values`` (above the 1st and below the 99th percentile); on T1 the highest-intensity clear peak, on T2 the
    largest peak."""
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks

    v = np.asarray(values, dtype=float)
    lo, hi = np.percentile(v, [1.0, 99.0])
    v = v[(v >= lo) & (v <= hi)]
    if v.size < 10 or hi <= lo:
        raise InputError("WhiteStripe: too few distinct foreground intensities to find the white-matter mode")
    hist, edges = np.histogram(v, bins=256, range=(lo, hi))
    smooth = gaussian_filter1d(hist.astype(float), 3.0)
    peaks, _ = find_peaks(smooth, prominence=0.05 * smooth.max())
    if peaks.size == 0:
        peaks = np.array([int(np.argmax(smooth))])
    centres = 0.5 * (edges[:-1] + edges[1:])
    if contrast == "t1":
        return float(centres[peaks[-1]])
    if contrast == "t2":
        return float(centres[peaks[np.argmax(smooth[peaks])]])
    raise InputError(f"WhiteStripe contrast must be 't1' or 't2', got {contrast!r}")


def whitestripe(array: np.ndarray, mask: np.ndarray | None = None, *, contrast: str = "t1", width: float = 0.05,
                source: str = "<array>") -> tuple[np.ndarray, dict]:
    """WhiteStripe normalisation (Shinohara et al. 2014) -> (normalised float64 array, stripe parameters).

    The white stripe is the set of foreground voxels (``mask``, else the voxels above the image mean) whose
    intensity quantile lies within ``width`` of the quantile of the white-matter mode; the image is z-scored with the
    stripe's mean and SD: ``(x - mu_ws) / sd_ws``."""
    if not 0 < width < 0.5:
        raise InputError(f"WhiteStripe width must be in (0, 0.5), got {width}")
    a = np.asarray(array, dtype=np.float64)
    fg = _foreground(a, mask, source)
    mode = white_matter_mode(fg, contrast)
    u = float(np.mean(fg <= mode))
    lo, hi = np.quantile(fg, [max(u - width, 0.0), min(u + width, 1.0)])
    stripe = fg[(fg >= lo) & (fg <= hi)]
    mu, sd = float(stripe.mean()), float(stripe.std())
    if not sd > 0:
        raise InputError(f"{source}: WhiteStripe: the white stripe has constant intensity ({mu:g})")
    return (a - mu) / sd, {"mode": mode, "stripe_low": float(lo), "stripe_high": float(hi), "mean": mu, "sd": sd}


def apply_normalisation(image: Image, mask: Mask | None, norm) -> Image:
    """Apply a :class:`radiomix.settings.Normalisation` to the whole image: N4 bias-field correction first (if set),
    then the intensity normalisation. ``region: roi`` uses ``mask`` for the statistics."""
    if norm is None:
        return image
    if mask is not None:
        check_same_grid(image, mask)
    m = mask.array if (mask is not None and norm.region == "roi") else None
    if norm.bias_field == "n4":
        from radiomix.preprocess.bias_field import n4_correct

        image = n4_correct(image, mask if norm.n4_mask == "roi" else None, shrink_factor=norm.n4_shrink_factor,
                           iterations=norm.n4_iterations, otsu=norm.n4_mask == "otsu")
    if norm.method == "zscore":
        return image.with_array(zscore(image.array, m, scale=norm.scale, clip_sd=norm.clip_sd, source=image.source))
    if norm.method == "nyul":
        return NyulStandardiser.load(norm.landmarks_file).transform(image, None if m is None else mask)
    if norm.method == "whitestripe":
        out, _ = whitestripe(image.array, m, contrast=norm.whitestripe_contrast, width=norm.whitestripe_width,
                             source=image.source)
        return image.with_array(out)
    return image.with_array(np.asarray(image.array, dtype=np.float64))
