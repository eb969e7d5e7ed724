"""Deterministic synthetic phantoms for demos, tests and benchmarks (no patient data)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from radiomix.image import Geometry, Image, Mask


def lesion_phantom(shape=(64, 128, 128), spacing=(2.0, 1.0, 1.0), radius_mm=15.0, seed=0,
                   heterogeneity=1.0, noise_hu=20.0, irregularity=0.3) -> tuple[Image, Mask]:
    """A CT-like volume (HU) with one textured, irregular lesion in soft tissue. Same seed, same phantom.

    ``shape`` and ``spacing`` are (z, y, x); ``heterogeneity`` scales the lesion's internal texture, ``irregularity``
    the bumpiness of its surface.
    """
    rng = np.random.default_rng(seed)
    sp = np.asarray(spacing, float)
    zz, yy, xx = np.meshgrid(*[(np.arange(n) - (n - 1) / 2) * s for n, s in zip(shape, sp)], indexing="ij")
    body = (yy / (0.45 * shape[1] * sp[1])) ** 2 + (xx / (0.45 * shape[2] * sp[2])) ** 2 <= 1.0
    img = np.where(body, 40.0, -1000.0)
    # irregular lesion: a sphere whose radius is modulated by smooth noise on the direction
    r = np.sqrt(zz**2 + yy**2 + xx**2) + 1e-9
    bumps = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=6 / sp.mean() * 2)
    bumps = bumps / (np.abs(bumps).max() + 1e-12)
    lesion = r <= radius_mm * (1 + irregularity * bumps)
    texture = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=1.5) * 60 * heterogeneity
    img = np.where(lesion, 60.0 + texture, img)
    img = img + rng.normal(0, noise_hu, shape)
    geom = Geometry(shape, spacing)
    return (Image(np.round(img).astype(np.float32), geom, f"lesion-phantom(seed={seed})"),
            Mask(lesion, geom, f"lesion-phantom-mask(seed={seed})", 1))
