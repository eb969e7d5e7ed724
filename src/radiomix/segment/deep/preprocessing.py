"""The preprocessing a segmentation model expects, stored beside it as ``preprocessing.json`` (no torch needed).

Fields: ``spacing_mm`` (x, y, z) mm the model works at, or null to use each image's own grid; ``normalisation``
``"zscore"`` (per image: (I - mean) / SD) or ``"window"`` (clip to ``window`` [low, high], scale to [0, 1]);
``patch`` (z, y, x) voxels of the training patches (the default sliding-window size); ``threshold`` on the
foreground probability; ``channels``/``strides``/``num_res_units`` describe the network for the record.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from radiomix.errors import InputError
from radiomix.image import Geometry, Image
from radiomix.io.itk import geometry_to_sitk

PREPROCESSING_FILE = "preprocessing.json"


@dataclass(frozen=True)
class Preprocessing:
    """What a model expects of its input; see the module docstring for the fields."""

    spacing_mm: tuple[float, float, float] | None = None
    normalisation: str = "zscore"
    window: tuple[float, float] | None = None
    patch: tuple[int, int, int] = (32, 64, 64)
    threshold: float = 0.5
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.normalisation not in ("zscore", "window", "none"):
            raise InputError(f"normalisation must be zscore, window or none, got {self.normalisation!r}")
        if self.normalisation == "window" and (self.window is None or self.window[0] >= self.window[1]):
            raise InputError(f"normalisation 'window' needs window [low, high] with low < high, got {self.window}")
        if len(self.patch) != 3 or any(int(p) < 1 for p in self.patch):
            raise InputError(f"patch must be three positive voxel counts (z, y, x), got {self.patch}")

    def to_json(self, path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(asdict(self), indent=2))
        return path

    @classmethod
    def from_json(cls, path) -> Preprocessing:
        path = Path(path)
        try:
            d = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: cannot read the preprocessing JSON: {exc}") from None
        known = {"spacing_mm", "normalisation", "window", "patch", "threshold", "extra"}
        unknown = set(d) - known
        if unknown:
            raise InputError(f"{path}: unknown preprocessing key(s) {sorted(unknown)}")
        for k in ("spacing_mm", "window", "patch"):
            if d.get(k) is not None:
                d[k] = tuple(d[k])
        if "patch" in d:
            d["patch"] = tuple(int(p) for p in d["patch"])
        return cls(**d)

    def normalise(self, array: np.ndarray) -> np.ndarray:
        """Intensity normalisation as float32."""
        a = np.asarray(array, dtype=np.float32)
        if self.normalisation == "zscore":
            sd = float(a.std())
            return (a - float(a.mean())) / (sd if sd > 0 else 1.0)
        if self.normalisation == "window":
            lo, hi = self.window  # type: ignore[misc]
            return (np.clip(a, lo, hi) - lo) / float(hi - lo)
        return a


def model_geometry(geometry: Geometry, spacing_mm_xyz) -> Geometry:
    """The grid at ``spacing_mm_xyz`` covering the same physical extent (same origin corner alignment: the first
    voxel centre stays; the number of voxels keeps the extent)."""
    if spacing_mm_xyz is None:
        return geometry
    new_zyx = tuple(float(s) for s in spacing_mm_xyz)[::-1]
    shape = tuple(max(1, round(n * s / t)) for n, s, t in zip(geometry.shape, geometry.spacing, new_zyx))
    return Geometry(shape, new_zyx, geometry.origin, geometry.direction)


def resample_array(array: np.ndarray, source: Geometry, target: Geometry, *, linear: bool = True,
                   default: float = 0.0) -> np.ndarray:
    """Resample ``array`` from grid ``source`` onto grid ``target`` (SimpleITK, linear or nearest)."""
    if not source.differences(target):
        return array
    src = geometry_to_sitk(np.ascontiguousarray(array, dtype=np.float32), source)
    ref = geometry_to_sitk(np.zeros(target.shape, np.uint8), target)
    out = sitk.Resample(src, ref, sitk.Transform(), sitk.sitkLinear if linear else sitk.sitkNearestNeighbor,
                        float(default), sitk.sitkFloat32)
    return sitk.GetArrayFromImage(out)


def prepare_input(image: Image, prep: Preprocessing) -> tuple[np.ndarray, Geometry]:
    """The normalised float32 array on the model's grid, and that grid."""
    geom = model_geometry(image.geometry, prep.spacing_mm)
    arr = resample_array(image.array, image.geometry, geom, linear=True, default=float(np.min(image.array)))
    return prep.normalise(arr), geom
