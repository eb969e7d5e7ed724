"""PyRadiomics-compatible feature classes: the public interface of the compatibility mode's feature half.

``compute_class(cls, image, mask, spacing_zyx, setting)`` computes the features of one PyRadiomics feature class
(``firstorder``, ``shape``, ``shape2D``, ``glcm``, ``glrlm``, ``glszm``, ``gldm``, ``ngtdm``) with PyRadiomics'
names and PyRadiomics' definitions, where they differ from IBSI (see ``mapping.csv``). ``image`` is the preprocessed
float64 (z, y, x) array and ``mask`` the boolean mask of that class (the pipeline does resampling, normalisation,
re-segmentation and cropping). ``setting`` holds PyRadiomics setting keys; absent keys take PyRadiomics' defaults
(:data:`DEFAULTS`).

The grey-level discretisation follows PyRadiomics: with a fixed bin width :math:`W` the bin edges are
:math:`\\lfloor \\min/W \\rfloor W + kW`, so a voxel gets level :math:`\\lfloor x/W \\rfloor - \\lfloor \\min/W \\rfloor + 1`
(edges anchored at zero, not at the minimum as in IBSI); with a fixed bin count the edges are those of
``numpy.histogram(values, binCount)`` with the last edge raised by one. Texture matrices keep only the grey levels that
occur in the ROI and features use the levels' own values :math:`i` (not their rank).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from radiomix.errors import EmptyMaskError, InputError, SettingsError

CLASSES: tuple[str, ...] = ("firstorder", "shape", "shape2D", "glcm", "glrlm", "glszm", "gldm", "ngtdm")

#: PyRadiomics' defaults for the settings the feature classes read.
DEFAULTS: dict[str, Any] = {
    "binWidth": 25,
    "binCount": None,
    "force2D": False,
    "force2Ddimension": 0,
    "distances": [1],
    "symmetricalGLCM": True,
    "weightingNorm": None,
    "gldm_a": 0,
    "voxelArrayShift": 0,
}

WEIGHTING_NORMS = (None, "manhattan", "euclidean", "infinity", "no_weighting")


def with_defaults(setting: Mapping[str, Any] | None) -> dict[str, Any]:
    """``setting`` with PyRadiomics' defaults filled in for the keys the feature classes read; checks their values."""
    s = dict(DEFAULTS)
    s.update({k: v for k, v in (setting or {}).items()})
    for k, default in DEFAULTS.items():  # an explicit None means "default" for keys whose default is not None
        if s[k] is None and default is not None:
            s[k] = default
    if s["binCount"] is not None and (int(s["binCount"]) != s["binCount"] or s["binCount"] < 1):
        raise SettingsError(f"setting binCount: must be a positive integer, got {s['binCount']!r}")
    if s["binCount"] is None and not float(s["binWidth"]) > 0:
        raise SettingsError(f"setting binWidth: must be positive, got {s['binWidth']!r}")
    if s["force2Ddimension"] not in (0, 1, 2):
        raise SettingsError(f"setting force2Ddimension: must be 0, 1 or 2, got {s['force2Ddimension']!r}")
    d = s["distances"]
    if isinstance(d, int | np.integer):
        d = [d]
    if not d or any(int(x) != x or x < 1 for x in d):
        raise SettingsError(f"setting distances: must be a list of positive integers, got {s['distances']!r}")
    s["distances"] = [int(x) for x in d]
    if s["weightingNorm"] not in WEIGHTING_NORMS:
        raise SettingsError(f"setting weightingNorm: must be one of {WEIGHTING_NORMS}, got {s['weightingNorm']!r}")
    if s["gldm_a"] < 0:
        raise SettingsError(f"setting gldm_a: must be >= 0, got {s['gldm_a']!r}")
    return s


def bin_edges(values: np.ndarray, setting: Mapping[str, Any]) -> np.ndarray:
    """PyRadiomics' bin edges for the ROI intensities ``values`` (fixed bin width anchored at zero, or fixed count)."""
    values = np.asarray(values, dtype=np.float64)
    if setting.get("binCount") is not None:
        edges = np.histogram(values, int(setting["binCount"]))[1]
        edges[-1] += 1
        return edges
    w = float(setting["binWidth"])
    lo = values.min()
    low = lo - (lo % w)
    high = values.max() + 2 * w
    edges = np.arange(low, high, w)
    if len(edges) == 1:  # a flat ROI whose value sits on an edge: one bin around it
        edges = np.array([edges[0] - 0.5 * w, edges[0] + 0.5 * w])
    return edges


def discretise(image: np.ndarray, mask: np.ndarray, setting: Mapping[str, Any]) -> np.ndarray:
    """Grey levels (int32, 1-based) inside ``mask`` and 0 outside, PyRadiomics' binning (``numpy.digitize``)."""
    values = image[mask]
    out = np.zeros(image.shape, dtype=np.int32)
    out[mask] = np.digitize(values, bin_edges(values, setting)).astype(np.int32)
    return out


def angles(setting: Mapping[str, Any], size_zyx: Sequence[int] | None = None) -> np.ndarray:
    """PyRadiomics' direction offsets (dz, dy, dx): one of each opposite pair, infinity norm in ``distances``.

    Ordered as PyRadiomics orders them (for distance 1: (1,1,1), (1,1,0), ..., (0,1,-1), (0,0,1)). With ``force2D`` the
    offsets along ``force2Ddimension`` are zero; offsets at least as long as the ROI's bounding box (``size_zyx``) in
    some dimension are dropped.
    """
    ds = setting["distances"]
    m = max(ds)
    r = range(m, -m - 1, -1)
    out = []
    for dz in r:
        for dy in r:
            for dx in r:
                a = (dz, dy, dx)
                nz = [c for c in a if c != 0]
                if not nz or nz[0] < 0 or max(abs(c) for c in a) not in ds:
                    continue
                if setting["force2D"] and a[setting["force2Ddimension"]] != 0:
                    continue
                if size_zyx is not None and any(abs(c) >= n for c, n in zip(a, size_zyx)):
                    continue
                out.append(a)
    return np.array(out, dtype=np.int64).reshape(-1, 3)


def check_inputs(cls: str, image: np.ndarray, mask: np.ndarray, spacing_zyx) -> tuple[np.ndarray, np.ndarray]:
    """Validated float64 image and bool mask (same 3D shape, non-empty mask, finite values inside it)."""
    if cls not in CLASSES:
        raise SettingsError(f"unknown PyRadiomics feature class {cls!r}; known: {', '.join(CLASSES)}")
    image = np.asarray(image, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    if image.ndim != 3 or mask.shape != image.shape:
        raise InputError(f"{cls}: image {image.shape} and mask {mask.shape} must be 3D (z, y, x) arrays of one shape")
    if len(tuple(spacing_zyx)) != 3 or not all(float(s) > 0 for s in spacing_zyx):
        raise InputError(f"{cls}: spacing_zyx must be three positive numbers, got {spacing_zyx!r}")
    if not mask.any():
        raise EmptyMaskError(f"{cls}: the mask has no voxels")
    if not np.isfinite(image[mask]).all():
        raise InputError(f"{cls}: the image has NaN or infinite values inside the mask")
    return image, mask


def _module(cls: str):
    from radiomix.compat.pyradiomics import firstorder, shape, texture

    return {"firstorder": firstorder, "shape": shape, "shape2D": shape}.get(cls, texture)


def feature_names(cls: str) -> tuple[str, ...]:
    """PyRadiomics' (non-deprecated) feature names of class ``cls``, e.g. ``"Contrast"``, ``"Maximum3DDiameter"``."""
    if cls not in CLASSES:
        raise SettingsError(f"unknown PyRadiomics feature class {cls!r}; known: {', '.join(CLASSES)}")
    return _module(cls).feature_names(cls)


def compute_class(cls: str, image: np.ndarray, mask: np.ndarray, spacing_zyx: tuple[float, float, float],
                  setting: Mapping[str, Any], features: Sequence[str] | None = None) -> dict[str, float]:
    """Features of PyRadiomics class ``cls`` on ``image`` inside ``mask``: ``{PyRadiomics name: value}``.

    ``features`` selects some features (all when None); an unknown name raises :class:`SettingsError`.
    """
    image, mask = check_inputs(cls, image, mask, spacing_zyx)
    names = feature_names(cls)
    if features is None:
        wanted = names
    else:
        unknown = [f for f in features if f not in names]
        if unknown:
            raise SettingsError(f"{cls}: unknown feature(s) {unknown}; known: {', '.join(names)}")
        wanted = tuple(features)
    s = with_defaults(setting)
    spacing = tuple(float(x) for x in spacing_zyx)
    values = _module(cls).compute(cls, image, mask, spacing, s)
    return {k: float(values[k]) for k in wanted}


def texture_matrix(cls: str, image: np.ndarray, mask: np.ndarray, spacing_zyx: tuple[float, float, float],
                   setting: Mapping[str, Any]) -> np.ndarray:
    """PyRadiomics' texture matrix of ``cls`` (glcm, glrlm, glszm, gldm, ngtdm) in PyRadiomics' layout.

    GLCM ``(Ng, Ng, n_angles)`` normalised per angle; GLRLM ``(Ng, Nr, n_angles)``, GLSZM ``(Ng, Ns)``, GLDM
    ``(Ng, Nd)`` raw counts; NGTDM ``(Ng, 3)`` with columns ``[n_i, s_i, i]``. Only grey levels present in the ROI
    are kept, and only the run lengths, zone sizes and dependence sizes that occur. With a ``weightingNorm`` the angle axis has length 1.
    """
    from radiomix.compat.pyradiomics import texture

    if cls not in texture.TEXTURE_CLASSES:
        raise SettingsError(f"texture_matrix: {cls!r} has no texture matrix; one of {texture.TEXTURE_CLASSES}")
    image, mask = check_inputs(cls, image, mask, spacing_zyx)
    return texture.matrix(cls, image, mask, tuple(float(x) for x in spacing_zyx), with_defaults(setting))
