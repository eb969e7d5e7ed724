"""Segmentation agreement metrics in physical units (mm, mm^3) on anisotropic grids.

Definitions (R: reference mask, T: test mask, |.|: voxel count, V: volume in mm^3):

* Dice ``2|R & T| / (|R| + |T|)``; Jaccard ``|R & T| / |R | T|``.
* Surfaces: the voxels of a mask with at least one 6-neighbour outside it (voxels on the image border included).
  ``d(x, S)`` is the Euclidean distance in mm between voxel centres (``distance_transform_edt`` with the spacing).
* ``hausdorff_mm``: the largest of all surface distances both ways; ``hd95_mm``: the larger of the two directed 95th
  percentiles (R's surface to T's and T's to R's), as MONAI's ``compute_hausdorff_distance(percentile=95)`` defines
  it; ``assd_mm``: the mean of all surface distances both ways pooled (average symmetric surface distance).
* ``volume_difference_mm3`` = V(T) - V(R); ``relative_volume_difference`` = (V(T) - V(R)) / V(R).

Degenerate inputs (documented NaN): Dice and Jaccard are NaN when both masks are empty; surface distances are NaN
when either mask is empty; the relative volume difference is NaN when the reference is empty.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from radiomix.errors import GeometryError
from radiomix.image import Mask

_CROSS = ndi.generate_binary_structure(3, 1)


def _check(reference: Mask, test: Mask) -> None:
    diffs = reference.geometry.differences(test.geometry)
    if diffs:
        raise GeometryError(f"test mask {test.source} does not lie on the grid of reference mask {reference.source}: "
                            + "; ".join(diffs))


def dice(reference: Mask, test: Mask) -> float:
    """Dice similarity coefficient (NaN when both masks are empty)."""
    _check(reference, test)
    r, t = reference.array, test.array
    n = int(r.sum()) + int(t.sum())
    return float("nan") if n == 0 else 2.0 * int(np.count_nonzero(r & t)) / n


def jaccard(reference: Mask, test: Mask) -> float:
    """Jaccard index (intersection over union; NaN when both masks are empty)."""
    _check(reference, test)
    union = int(np.count_nonzero(reference.array | test.array))
    return float("nan") if union == 0 else int(np.count_nonzero(reference.array & test.array)) / union


def surface(array: np.ndarray) -> np.ndarray:
    """Surface voxels: mask voxels with a 6-neighbour outside the mask (the image border is outside)."""
    return array & ~ndi.binary_erosion(array, structure=_CROSS, border_value=0)


def surface_distances(reference: Mask, test: Mask) -> tuple[np.ndarray, np.ndarray]:
    """Directed surface distances in mm: (reference surface -> test surface, test surface -> reference surface).
    Computed on the union's bounding box, so memory follows the masks, not the image."""
    _check(reference, test)
    both = reference.array | test.array
    if not reference.array.any() or not test.array.any():
        return np.array([]), np.array([])
    box = Mask(both, reference.geometry).bounding_box()
    sr, st = surface(reference.array)[box], surface(test.array)[box]
    sp = reference.spacing
    d_to_t = ndi.distance_transform_edt(~st, sampling=sp)
    d_to_r = ndi.distance_transform_edt(~sr, sampling=sp)
    return d_to_t[sr], d_to_r[st]


def segmentation_metrics(reference: Mask, test: Mask) -> dict[str, float]:
    """Every metric of this module in one dict (keys: dice, jaccard, hausdorff_mm, hd95_mm, assd_mm,
    volume_reference_mm3, volume_test_mm3, volume_difference_mm3, relative_volume_difference)."""
    _check(reference, test)
    a, b = surface_distances(reference, test)
    nan = float("nan")
    vv = reference.geometry.voxel_volume
    vr, vt = reference.n_voxels * vv, test.n_voxels * vv
    return {
        "dice": dice(reference, test),
        "jaccard": jaccard(reference, test),
        "hausdorff_mm": float(max(a.max(), b.max())) if a.size and b.size else nan,
        "hd95_mm": float(max(np.percentile(a, 95), np.percentile(b, 95))) if a.size and b.size else nan,
        "assd_mm": float((a.sum() + b.sum()) / (a.size + b.size)) if a.size and b.size else nan,
        "volume_reference_mm3": float(vr),
        "volume_test_mm3": float(vt),
        "volume_difference_mm3": float(vt - vr),
        "relative_volume_difference": float((vt - vr) / vr) if vr > 0 else nan,
    }
