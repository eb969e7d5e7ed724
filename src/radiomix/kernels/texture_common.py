"""Helpers shared by the texture families (IBSI 3.6-3.11): direction sets, the grey-level volume the kernels read,
slice chunking and the IBSI aggregation of directional matrices.

Conventions
-----------
* Arrays are (z, y, x); a 2D texture matrix is built in one axial slice (fixed z).
* ``lv`` ("level volume") is an ``int32`` array cropped to the bounding box of the intensity mask holding the grey
  level 1..Ng inside the intensity mask and 0 everywhere else. Kernels treat 0 as "not in the ROI", so a pair or a run
  never involves a voxel outside the intensity mask. Built by :func:`level_volume`.
* Direction vectors are (dz, dy, dx) with integer components in {-1, 0, 1}. Only one of each pair of opposite
  directions is listed (IBSI: 4 directions in 2D, 13 in 3D); symmetric matrices account for the other.

Aggregation (IBSI 3.1.3) of families with one matrix per direction (GLCM, GLRLM) is done by
:func:`aggregate_directional`, which only needs a function building count matrices for a range of slices (or the whole
volume) and a function evaluating every feature of one count matrix. Families with one matrix per slice or volume
(GLSZM, GLDZM, NGTDM, NGLDM) can reuse :func:`level_volume`, :func:`slice_chunks` and :func:`mean_defined`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

#: The 4 in-plane directions (dz, dy, dx) of 2D texture matrices: 0, 45, 90 and 135 degrees.
DIRECTIONS_2D: np.ndarray = np.array([(0, 0, 1), (0, 1, 1), (0, 1, 0), (0, 1, -1)], dtype=np.int64)

#: The 13 directions (dz, dy, dx) of 3D texture matrices: the 4 in-plane ones and the 9 pointing to the next slice.
DIRECTIONS_3D: np.ndarray = np.array(
    [(0, 0, 1), (0, 1, 1), (0, 1, 0), (0, 1, -1)] + [(1, dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)],
    dtype=np.int64)

DIRECTIONS_2D.setflags(write=False)
DIRECTIONS_3D.setflags(write=False)

#: Aggregation methods of families with one matrix per direction, in IBSI order (see ``settings.AGGREGATIONS``).
DIRECTIONAL_AGGREGATIONS: tuple[str, ...] = (
    "2d_averaged", "2d_slice_merged", "2.5d_direction_merged", "2.5d_merged", "3d_averaged", "3d_merged",
)
#: Aggregation methods of families with a single matrix per slice (2d) or volume (2.5d, 3d).
SINGLE_MATRIX_AGGREGATIONS: tuple[str, ...] = ("2d", "2.5d", "3d")

#: Upper bound on the memory (bytes) of the per-slice count matrices held at one time.
SLICE_CHUNK_BYTES = 64 * 2**20


def level_volume(levels: np.ndarray, mask: np.ndarray, n_levels: int) -> np.ndarray:
    """Grey levels 1..n_levels inside ``mask`` and 0 outside, as ``int32``, cropped to the bounding box of ``mask``.

    Raises ``ValueError`` if a level inside the mask lies outside 1..n_levels (a discretisation bug, not a degenerate
    input). An empty mask gives an array of shape (0, 0, 0).
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return np.zeros((0, 0, 0), dtype=np.int32)
    box = bounding_box(mask)
    m = mask[box]
    lv = np.where(m, levels[box], 0).astype(np.int32)
    if ((lv < 1) & m).any() or lv.max() > n_levels:
        inside = lv[m]
        raise ValueError(f"grey levels inside the mask span {inside.min()}..{inside.max()}, outside 1..{n_levels}")
    return np.ascontiguousarray(lv)


def bounding_box(mask: np.ndarray) -> tuple[slice, ...]:
    """Slices of the bounding box of a non-empty boolean array, from its projections on each axis (``any``), which is
    cheaper than listing the voxels (``np.nonzero``)."""
    box = []
    for ax in range(mask.ndim):
        nz = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != ax)))
        box.append(slice(int(nz[0]), int(nz[-1]) + 1))
    return tuple(box)


def slice_chunks(n_slices: int, bytes_per_slice: int, budget: int = SLICE_CHUNK_BYTES) -> Iterator[tuple[int, int]]:
    """Consecutive (z_start, z_stop) ranges covering 0..n_slices with at most ``budget`` bytes of per-slice data each
    (at least one slice per chunk)."""
    step = max(1, int(budget // max(1, bytes_per_slice)))
    for z0 in range(0, n_slices, step):
        yield z0, min(n_slices, z0 + step)


def mean_defined(rows: Sequence[np.ndarray], n_features: int) -> np.ndarray:
    """Feature-wise mean over matrices, ignoring NaN (features undefined for that matrix, e.g. a correlation in a
    slice with one grey level). A feature undefined everywhere, or no matrices at all, gives NaN. No warnings."""
    if len(rows) == 0:
        return np.full(n_features, np.nan)
    a = np.asarray(rows, dtype=np.float64)
    ok = np.isfinite(a)
    n = ok.sum(axis=0)
    s = np.where(ok, a, 0.0).sum(axis=0)
    out = np.full(n_features, np.nan)
    np.divide(s, n, out=out, where=n > 0)
    return out


def requested(aggregations: Sequence[str], known: Sequence[str] = DIRECTIONAL_AGGREGATIONS) -> list[str]:
    """The requested aggregation names this kind of family computes, in the order requested (others are ignored:
    they belong to families with a different matrix layout)."""
    return [a for a in aggregations if a in known]


def aggregate_directional(
    aggregations: Sequence[str],
    lv: np.ndarray,
    build: Callable[[np.ndarray, np.ndarray, int, int, bool], np.ndarray],
    evaluate: Callable[[np.ndarray], np.ndarray],
    n_features: int,
    matrix_bytes: int,
) -> dict[str, np.ndarray]:
    """IBSI aggregation of direction-wise texture matrices (IBSI 3.1.3); returns aggregation name -> feature vector.

    ``build(lv, directions, z_start, z_stop, per_slice)`` returns count matrices of shape
    ``(z_stop - z_start, n_directions, ...)`` when ``per_slice`` (one matrix per slice and direction, the slice being
    that of the first voxel of a pair or run) else ``(1, n_directions, ...)`` summed over the slices.
    ``evaluate(stack)`` returns the feature vectors (K, n_features) of a stack of K count matrices, a row of NaN for an
    empty matrix (no pair or run): empty matrices are left out of every average (:func:`mean_defined` skips NaN, and
    adds nothing for them, so the averages are those over the non-empty matrices). ``matrix_bytes`` is the size of one
    count matrix.

    * ``2d_averaged`` (BTW3): one matrix per slice and in-plane direction, features averaged over all of them.
    * ``2d_slice_merged`` (SUJT): per slice the direction matrices are summed; features averaged over slices.
    * ``2.5d_direction_merged`` (JJUI): per direction the slice matrices are summed; averaged over directions.
    * ``2.5d_merged`` (ZW7Z): one matrix, the sum over slices and in-plane directions.
    * ``3d_averaged`` (ITBB): one matrix per 3D direction (13) over the volume; features averaged.
    * ``3d_merged`` (IAZD): one matrix, the sum over the 13 directions.

    The 2D and 2.5D methods share one pass over the slices; the 3D methods share one pass over the volume.
    """
    want = requested(aggregations)
    out: dict[str, np.ndarray] = {}

    def avg(mats) -> np.ndarray:
        return mean_defined(evaluate(mats), n_features)

    def one(mat) -> np.ndarray:
        return np.asarray(evaluate(mat[np.newaxis])[0], dtype=np.float64)

    want_2d = [a for a in want if a.startswith(("2d", "2.5d"))]
    if want_2d and lv.size:
        nd = len(DIRECTIONS_2D)
        per_dir_avg: list[np.ndarray] = []
        per_slice_merged: list[np.ndarray] = []
        dir_sum = None
        for z0, z1 in slice_chunks(lv.shape[0], nd * matrix_bytes):
            counts = build(lv, DIRECTIONS_2D, z0, z1, True)
            if "2d_averaged" in want_2d:
                per_dir_avg += list(evaluate(counts.reshape(-1, *counts.shape[2:])))
            if "2d_slice_merged" in want_2d:
                per_slice_merged += list(evaluate(counts.sum(axis=1)))
            s = counts.sum(axis=0)
            dir_sum = s if dir_sum is None else dir_sum + s
        if "2d_averaged" in want_2d:
            out["2d_averaged"] = mean_defined(per_dir_avg, n_features)
        if "2d_slice_merged" in want_2d:
            out["2d_slice_merged"] = mean_defined(per_slice_merged, n_features)
        if "2.5d_direction_merged" in want_2d:
            out["2.5d_direction_merged"] = avg(dir_sum)
        if "2.5d_merged" in want_2d:
            out["2.5d_merged"] = one(dir_sum.sum(axis=0))

    want_3d = [a for a in want if a.startswith("3d")]
    if want_3d and lv.size:
        counts = build(lv, DIRECTIONS_3D, 0, lv.shape[0], False)[0]
        if "3d_averaged" in want_3d:
            out["3d_averaged"] = avg(counts)
        if "3d_merged" in want_3d:
            out["3d_merged"] = one(counts.sum(axis=0))

    for a in want:
        out.setdefault(a, np.full(n_features, np.nan))
    return {a: out[a] for a in want}
