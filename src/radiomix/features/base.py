"""The contract between preprocessing, feature families and extraction.

* Preprocessing produces one :class:`RoiData` per image type: arrays cropped to the ROI's bounding box (plus a margin),
  the morphological and intensity masks, the discretised grey levels and the voxel spacing.
* A family module exposes ``FAMILY = Family(name, ibsi, features, compute)``. ``compute(roi)`` returns
  :class:`FeatureValue`-ready tuples ``(feature_name, aggregation_name_or_"", value)``; the family decides how its matrices
  are built and aggregated, feature functions only ever see one matrix (or one array of intensities).
* Each feature is a :class:`Feature` entry in the family's explicit ``FEATURES`` tuple, with IBSI id, unit and the
  formula in the docstring of its function.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from radiomix.settings import AGGREGATIONS, Settings


@dataclass(frozen=True)
class Feature:
    """One feature: snake_case name, the function computing it, IBSI identifier and unit."""

    name: str
    func: Callable
    ibsi: str = ""
    unit: str = ""

    @property
    def formula(self) -> str:
        doc = (self.func.__doc__ or "").strip()
        return " ".join(doc.split())


@dataclass(frozen=True)
class FeatureValue:
    image_type: str
    family: str
    feature: str
    ibsi_feature: str
    aggregation: str
    value: float

    @property
    def ibsi_aggregation(self) -> str:
        return AGGREGATIONS.get(self.aggregation, "")

    @property
    def column(self) -> str:
        """Wide-table column name ``{image_type}_{family}_{feature}[_{aggregation}]``."""
        base = f"{self.image_type}_{self.family}_{self.feature}"
        return f"{base}_{self.aggregation.replace('.', '_')}" if self.aggregation else base


@dataclass(frozen=True)
class FamilyPart:
    """A separable piece of a family: ``compute(roi)`` gives the rows of ``features`` (the same rows the family's own
    compute gives them). On large ROIs it runs as a task of its own beside the rest of the family (load balance)."""

    features: tuple[str, ...]
    compute: Callable[[RoiData], Iterable[tuple[str, str, float]]]


@dataclass(frozen=True)
class Family:
    """A feature family: its name (as used in settings and columns), IBSI id, feature registry and compute().

    ``compute(roi)`` gives every row; a family with ``parts`` also accepts ``compute(roi, exclude=names)``, the rows
    of every feature but ``names`` (those of its parts)."""

    name: str
    ibsi: str
    features: tuple[Feature, ...]
    compute: Callable[..., Iterable[tuple[str, str, float]]]
    parts: tuple[FamilyPart, ...] = ()

    def feature(self, name: str) -> Feature:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(f"family {self.name} has no feature {name!r}")


@dataclass(frozen=True, eq=False)
class RoiData:
    """Preprocessed data of one ROI on one image type, cropped to the ROI's bounding box plus ``margin`` voxels.

    Arrays are (z, y, x). ``image`` holds the processed intensities of every voxel in the crop (inside and outside the
    ROI; local intensity peaks use voxels outside the ROI). ``mask_morph`` is the morphological mask (after
    interpolation, before re-segmentation); ``mask_int`` the intensity mask (after re-segmentation). ``levels`` are the
    discretised grey levels 1..n_levels, valid where ``mask_int`` is true (0 elsewhere). Families read their
    options from ``settings`` (the IVH family discretises for itself from ``values`` and ``settings.ivh``).
    """

    image: np.ndarray
    mask_morph: np.ndarray
    mask_int: np.ndarray
    spacing: tuple[float, float, float]
    levels: np.ndarray
    n_levels: int
    settings: Settings
    image_type: str = "original"
    meta: dict = field(default_factory=dict)

    @cached_property
    def values(self) -> np.ndarray:
        """Intensities inside the intensity mask (1D, float64)."""
        return self.image[self.mask_int].astype(np.float64)

    @cached_property
    def level_values(self) -> np.ndarray:
        """Discretised grey levels inside the intensity mask (1D)."""
        return self.levels[self.mask_int]

    @property
    def is_2d(self) -> bool:
        return self.settings.dimensions == "2d"


def run_features(features: Iterable[Feature], arg, aggregation: str = "") -> list[tuple[str, str, float]]:
    """Evaluate every feature on ``arg`` (a matrix object or an array); helper for family ``compute`` functions."""
    return [(f.name, aggregation, float(f.func(arg))) for f in features]


#: per-ROI results shared between families and threads (weakly keyed: an entry lives as long as its RoiData)
_MEMO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MEMO_LOCK = threading.Lock()


def roi_memo(roi: RoiData, key, build: Callable[[], object]):
    """``build()`` once per ``roi`` and ``key``, shared by every family and thread that asks (thread-safe: a second
    caller waits for the first one's result instead of building it again; the RoiData itself is never modified). A
    ``build`` that raises stores nothing, so the next caller tries again and sees the error itself."""
    with _MEMO_LOCK:
        entry = _MEMO.setdefault(roi, {})
        lock = entry.setdefault(("lock", key), threading.Lock())
    with lock:
        if key not in entry:
            entry[key] = build()
        return entry[key]
