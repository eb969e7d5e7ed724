r"""Local intensity features (IBSI 3.2, family 9ST6).

The local mean around a voxel is the mean of *all* image voxels (inside or outside the ROI) whose centres lie within a
sphere of radius ``settings.local_intensity.radius_mm`` (6.2035 mm: a 1 cm^3 sphere) of that voxel's centre. Voxels
outside the image array are left out of the mean, so ``roi.image`` must carry a margin of at least
``ceil(radius_mm / spacing)`` voxels around the ROI for the values to equal those on the full image.

Peaks are searched over the voxels of the intensity mask. Always computed in 3D (also for slice-wise settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from radiomix.features.base import Family, Feature, RoiData
from radiomix.kernels.sphere_kernels import sphere_geometry, sphere_means_at, sphere_means_in_mask


@dataclass(frozen=True, eq=False)
class LocalMeans:
    """Local (spherical) means at the ROI voxels, and which ROI voxels hold the maximum intensity."""

    image: np.ndarray
    mask: np.ndarray
    spacing: tuple[float, float, float]
    radius_mm: float
    #: intensities at the mask voxels in ``np.argwhere`` order (``image[mask]``); derived from the image when None
    mask_values: np.ndarray | None = None

    @classmethod
    def from_roi(cls, roi: RoiData) -> LocalMeans:
        # roi.values is image[mask_int] as float64, cached on the ROI and shared with the statistics family
        return cls(np.asarray(roi.image, dtype=np.float64), np.asarray(roi.mask_int, dtype=bool),
                   tuple(float(s) for s in roi.spacing), float(roi.settings.local_intensity.radius_mm), roi.values)

    @cached_property
    def values(self) -> np.ndarray:
        """Intensities at the mask voxels, in the order of ``roi_points`` and ``means_all``."""
        return self.image[self.mask] if self.mask_values is None else self.mask_values

    @cached_property
    def offsets(self) -> np.ndarray:
        return sphere_geometry(self.spacing, self.radius_mm)[0]

    @cached_property
    def roi_points(self) -> np.ndarray:
        return np.argwhere(self.mask)

    @cached_property
    def means_all(self) -> np.ndarray:
        """Local mean at every ROI voxel (order of ``roi_points``), computed row by row over the mask."""
        return sphere_means_in_mask(self.image, self.mask, self.offsets, sphere_geometry(self.spacing, self.radius_mm)[1])

    def means_at_maximum(self) -> np.ndarray:
        """Local means at the mask voxels holding the maximum intensity: taken from ``means_all`` (needed for the
        global peak anyway) instead of a second search of the box."""
        v = self.values
        return self.means_all[v == v.max()]

    def means_at_maximum_direct(self) -> np.ndarray:
        """:meth:`means_at_maximum` computed from scratch at the maximum voxels only (voxel-by-voxel sums; equal to
        it up to the summation order, exactly for integer intensities)."""
        top = np.argwhere(self.mask & (self.image == self.image[self.mask].max()))
        return sphere_means_at(self.image, top, self.offsets)


def local_intensity_peak(m: LocalMeans) -> float:
    r"""Local intensity peak (IBSI VJGA): the mean intensity in the 1 cm^3 sphere centred on the ROI voxel with the
    maximum intensity; with several maxima, the largest of their means."""
    if not m.mask.any():
        return float("nan")
    return float(m.means_at_maximum().max())


def global_intensity_peak(m: LocalMeans) -> float:
    r"""Global intensity peak (IBSI 0F91): the largest 1 cm^3 spherical mean centred on any ROI voxel."""
    if not m.mask.any():
        return float("nan")
    return float(m.means_all.max())


FEATURES: tuple[Feature, ...] = (
    Feature("local_intensity_peak", local_intensity_peak, ibsi="VJGA", unit="intensity"),
    Feature("global_intensity_peak", global_intensity_peak, ibsi="0F91", unit="intensity"),
)


def compute(roi: RoiData) -> list[tuple[str, str, float]]:
    """Both intensity peaks of one ROI (3D, no aggregation)."""
    m = LocalMeans.from_roi(roi)
    return [(f.name, "", float(f.func(m))) for f in FEATURES]


FAMILY = Family("local_intensity", "9ST6", FEATURES, compute)
