"""Generated test data for segmentation tests: textured blobs in noise, spheres on anisotropic grids."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from radiomix.image import Image, Mask


def lesion_case(seed: int, shape=(32, 64, 64), spacing=(2.0, 1.0, 1.0), origin=(-30.0, 12.5, 100.0)):
    """One image/mask pair: a lumpy textured blob (mean ~100) in smooth background structure (SD 10) plus noise (SD 20)."""
    rng = np.random.default_rng(seed)
    z, y, x = np.meshgrid(*(np.arange(n) * s for n, s in zip(shape, spacing)), indexing="ij")
    ext = np.asarray(shape) * np.asarray(spacing)
    c = rng.uniform(0.3, 0.7, 3) * ext
    radii = rng.uniform(7.0, 14.0, 3)
    r = np.sqrt(((z - c[0]) / radii[0]) ** 2 + ((y - c[1]) / radii[1]) ** 2 + ((x - c[2]) / radii[2]) ** 2)
    lumps = ndi.gaussian_filter(rng.normal(size=shape), sigma=(1.5, 3, 3))
    lumps /= np.abs(lumps).max()
    mask = r < 1.0 + 0.3 * lumps
    texture = ndi.gaussian_filter(rng.normal(size=shape), sigma=1.0)
    texture /= texture.std()
    background = ndi.gaussian_filter(rng.normal(size=shape), sigma=(2, 5, 5))
    background = 10 * background / background.std()
    img = background + np.where(mask, 100 + 15 * texture, 0.0) + rng.normal(0, 20, size=shape)
    return (Image.from_array(img.astype(np.float32), spacing=spacing, origin=origin, source=f"lesion{seed}"),
            Mask(mask, Image.from_array(img, spacing=spacing, origin=origin).geometry, f"lesion{seed}_mask"))


def sphere(shape, spacing, centre_mm, radius_mm, origin=(0.0, 0.0, 0.0)):
    """Mask of voxel centres within ``radius_mm`` of ``centre_mm`` (z, y, x in mm from voxel [0,0,0])."""
    grids = np.meshgrid(*(np.arange(n) * s for n, s in zip(shape, spacing)), indexing="ij")
    d = np.sqrt(sum((g - c) ** 2 for g, c in zip(grids, centre_mm)))
    img = Image.from_array(np.zeros(shape, np.float32), spacing=spacing, origin=origin)
    return Mask(d <= radius_mm, img.geometry, "sphere"), d
