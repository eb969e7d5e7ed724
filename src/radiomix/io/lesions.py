"""Several lesions in one mask: connected components and patient-level aggregation policies.

* :func:`split_lesions` splits a mask into its connected components (6-, 18- or 26-connectivity in 3D, 4 or 8 in
  2D, i.e. per slice), largest first.
* :func:`aggregate_lesions` turns per-lesion feature values into one patient-level row under a policy:

  - ``"largest"``: the features of the largest lesion (ties: the first in scan order);
  - ``"volume_weighted_mean"``: sum_i V_i f_i / sum_i V_i over lesions whose value is finite (a feature that is NaN
    for every lesion stays NaN);
  - ``"merged"``: the features of all lesions as one region of interest.

  Each row also gets ``lesion_count`` and ``lesion_volume_total_mm3``.

* :func:`describe_lesions` gives the columns that identify one lesion in a per-lesion table (:data:`LESION_COLUMNS`):
  its rank, voxel count, volume and centroid in patient coordinates (mm). ``radiomix.extract.extract_lesions`` uses
  these to extract one row per lesion, or one aggregated row, under ``Settings.lesions``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

import numpy as np
from scipy import ndimage

from radiomix.errors import EmptyMaskError, InputError
from radiomix.image import Mask

Policy = Literal["largest", "volume_weighted_mean", "merged"]
POLICIES: tuple[str, ...] = ("largest", "volume_weighted_mean", "merged")
_STRUCTURE_RANK = {6: 1, 18: 2, 26: 3}
#: identification columns of lesion rows, in output order (they come before the feature columns)
LESION_COLUMNS: tuple[str, ...] = ("lesion", "lesion_voxels", "lesion_volume_mm3", "lesion_centroid_x_mm",
                                   "lesion_centroid_y_mm", "lesion_centroid_z_mm", "lesion_count",
                                   "lesion_volume_total_mm3")
#: the lesion columns that hold counts (integers); the others are float64
INTEGER_LESION_COLUMNS: tuple[str, ...] = ("lesion", "lesion_voxels", "lesion_count")


def label_lesions(mask: Mask, connectivity: int = 26) -> tuple[np.ndarray, int]:
    """Connected-component labels (0 background, 1..n) and n."""
    if connectivity in _STRUCTURE_RANK:
        structure = ndimage.generate_binary_structure(3, _STRUCTURE_RANK[connectivity])
    elif connectivity in (4, 8):  # in-plane only: components never join across slices
        structure = np.zeros((3, 3, 3), dtype=bool)
        structure[1] = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    else:
        raise InputError(f"connectivity must be 6, 18 or 26 (3D) or 4 or 8 (per slice), got {connectivity}")
    labels, n = ndimage.label(mask.array, structure=structure)
    return labels, int(n)


def lesion_labels(mask: Mask, connectivity: int = 26, min_voxels: int = 1) -> tuple[np.ndarray, list[int]]:
    """Component labels of ``mask`` and the labels kept (at least ``min_voxels`` voxels), largest first; ties keep
    scan order. One label array, no mask per lesion: callers make each lesion's mask when they need it."""
    labels, n = label_lesions(mask, connectivity)
    if n == 0:
        raise EmptyMaskError(f"{mask.source}: the mask is empty: no lesion")
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    order = np.argsort(-sizes, kind="stable")  # stable: ties keep scan order
    kept = [int(i) + 1 for i in order if sizes[i] >= min_voxels]
    if not kept:
        raise EmptyMaskError(f"{mask.source}: no lesion has at least {min_voxels} voxels "
                             f"(largest: {int(sizes.max())})")
    return labels, kept


def split_lesions(mask: Mask, connectivity: int = 26, min_voxels: int = 1) -> list[Mask]:
    """The connected components of ``mask`` as separate masks on the same grid, largest first.

    Components with fewer than ``min_voxels`` voxels are dropped. ``Mask.label`` holds the rank (1 = largest).
    Each lesion is a full-size mask: for many lesions on a large grid use :func:`lesion_labels`.
    """
    labels, kept = lesion_labels(mask, connectivity, min_voxels)
    return [Mask(labels == lab, mask.geometry, f"{mask.source}#lesion{rank}", label=rank)
            for rank, lab in enumerate(kept, start=1)]


def aggregate_values(values: list[Mapping[str, float]], volumes: list[float],
                     policy: Policy) -> dict[str, float]:
    """Combine per-lesion feature rows under ``largest`` or ``volume_weighted_mean`` (``merged`` needs the mask:
    use :func:`aggregate_lesions`)."""
    if len(values) != len(volumes) or not values:
        raise InputError(f"need one volume per lesion row and at least one lesion (got {len(values)} rows, "
                         f"{len(volumes)} volumes)")
    vol = np.asarray(volumes, dtype=float)
    if policy == "largest":
        return dict(values[int(np.argmax(vol))])
    if policy != "volume_weighted_mean":
        raise InputError(f"unknown aggregation policy '{policy}'; choose one of {', '.join(POLICIES)}")
    keys = list(values[0])
    for row in values[1:]:
        if list(row) != keys:
            raise InputError("lesion feature rows do not share the same features")
    out = {}
    for k in keys:
        f = np.asarray([float(r[k]) for r in values])
        ok = np.isfinite(f)
        out[k] = float(np.sum(vol[ok] * f[ok]) / np.sum(vol[ok])) if ok.any() else float("nan")
    return out


def aggregate_lesions(mask: Mask, compute: Callable[[Mask], Mapping[str, float]], policy: Policy, *,
                      connectivity: int = 26, min_voxels: int = 1) -> dict[str, float]:
    """One patient-level row: ``compute`` (a Mask -> feature row function, e.g. a wrapped ``extract``) applied
    under ``policy`` to the lesions of ``mask``."""
    if policy not in POLICIES:
        raise InputError(f"unknown aggregation policy '{policy}'; choose one of {', '.join(POLICIES)}")
    lesions = split_lesions(mask, connectivity, min_voxels)
    volumes = [m.n_voxels * mask.geometry.voxel_volume for m in lesions]
    if policy == "merged":
        merged = Mask(np.logical_or.reduce([m.array for m in lesions]), mask.geometry, mask.source)
        row = dict(compute(merged))
    elif policy == "largest":
        row = dict(compute(lesions[0]))
    else:
        row = aggregate_values([compute(m) for m in lesions], volumes, policy)
    row["lesion_count"] = float(len(lesions))
    row["lesion_volume_total_mm3"] = float(sum(volumes))
    return row


def describe_lesions(labels: np.ndarray, kept: list[int], geometry) -> list[dict[str, float | int]]:
    """The identification columns of each kept lesion, in the order of ``kept``: ``lesion`` (rank, 1 = largest),
    ``lesion_voxels``, ``lesion_volume_mm3`` and the centroid of its voxel centres in patient coordinates (mm)."""
    sizes = np.bincount(labels.ravel(), minlength=max(kept) + 1)
    centres = ndimage.center_of_mass(labels > 0, labels, kept)
    out = []
    for rank, (lab, c) in enumerate(zip(kept, centres), start=1):
        x, y, z = geometry.index_to_physical(np.asarray(c, dtype=float))
        out.append({"lesion": rank, "lesion_voxels": int(sizes[lab]),
                    "lesion_volume_mm3": float(sizes[lab] * geometry.voxel_volume),
                    "lesion_centroid_x_mm": float(x), "lesion_centroid_y_mm": float(y),
                    "lesion_centroid_z_mm": float(z)})
    return out
