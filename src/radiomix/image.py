"""Image and Mask: a voxel array with its physical geometry. No I/O here.

Conventions (one place, used everywhere):

* ``array`` is indexed ``[z, y, x]`` (slice, row, column), as SimpleITK's ``GetArrayFromImage`` returns it.
* ``spacing`` is in mm and in the **same (z, y, x) order as the array axes**.
* ``origin`` is the physical position (x, y, z) in mm, patient LPS as in DICOM/ITK, of the centre of voxel [0, 0, 0].
* ``direction`` is a 3x3 matrix whose *columns* are the physical unit vectors of the x, y and z index axes (ITK order),
  i.e. ``physical = origin + direction @ (index_xyz * spacing_xyz)``.

A 2D image is stored as a volume with one slice (shape ``(1, ny, nx)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from radiomix.errors import EmptyMaskError, GeometryError, InputError


def _as_tuple3(values, name: str) -> tuple[float, float, float]:
    out = tuple(float(v) for v in values)
    if len(out) != 3:
        raise InputError(f"{name} must have 3 values, got {len(out)}")
    return out  # type: ignore[return-value]


@dataclass(frozen=True, eq=False)
class Geometry:
    """The voxel grid of an image: shape (z, y, x), spacing (z, y, x) mm, origin (x, y, z) mm, direction (3x3)."""

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: np.ndarray = field(default_factory=lambda: np.eye(3))

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        object.__setattr__(self, "spacing", _as_tuple3(self.spacing, "spacing"))
        object.__setattr__(self, "origin", _as_tuple3(self.origin, "origin"))
        d = np.asarray(self.direction, dtype=float).reshape(3, 3)
        d.setflags(write=False)
        object.__setattr__(self, "direction", d)
        if len(self.shape) != 3:
            raise InputError(f"a voxel grid has 3 axes (z, y, x); images must be 2D or 3D, got shape {self.shape}")
        if any(s <= 0 or not np.isfinite(s) for s in self.spacing):
            raise InputError(f"spacing must be positive and finite, got {self.spacing} mm")

    @property
    def spacing_xyz(self) -> tuple[float, float, float]:
        return self.spacing[::-1]

    @property
    def voxel_volume(self) -> float:
        return float(np.prod(self.spacing))

    def index_to_physical(self, index_zyx) -> np.ndarray:
        """Physical (x, y, z) mm of voxel centres; ``index_zyx`` has shape (..., 3) in (z, y, x) order."""
        idx = np.asarray(index_zyx, dtype=float)[..., ::-1]
        return np.asarray(self.origin) + (idx * np.asarray(self.spacing_xyz)) @ self.direction.T

    def physical_to_index(self, point_xyz) -> np.ndarray:
        """Continuous (z, y, x) index of physical points (x, y, z) mm."""
        p = np.asarray(point_xyz, dtype=float) - np.asarray(self.origin)
        idx_xyz = (p @ np.linalg.inv(self.direction).T) / np.asarray(self.spacing_xyz)
        return idx_xyz[..., ::-1]

    def differences(self, other: Geometry, *, atol: float = 1e-4) -> list[str]:
        """Human-readable list of every way the two grids differ (empty when they are the same grid).

        ``atol`` only absorbs float32 round-off of header values (1e-4 mm); it is not a user knob.
        """
        out = []
        if self.shape != other.shape:
            out.append(f"size differs: {self.shape} vs {other.shape} voxels (z, y, x)")
        ds = np.abs(np.subtract(self.spacing, other.spacing))
        if np.any(ds > atol):
            out.append(
                f"spacing differs: {self.spacing} vs {other.spacing} mm (z, y, x), by up to {ds.max():.6g} mm"
            )
        do = np.abs(np.subtract(self.origin, other.origin))
        if np.any(do > atol):
            out.append(f"origin differs: {self.origin} vs {other.origin} mm (x, y, z), by up to {do.max():.6g} mm")
        dd = np.abs(self.direction - other.direction)
        if np.any(dd > atol):
            out.append(
                "direction differs: "
                f"{np.round(self.direction, 6).tolist()} vs {np.round(other.direction, 6).tolist()}, "
                f"by up to {dd.max():.6g}"
            )
        return out

    def with_shape_spacing_origin(self, shape, spacing, origin) -> Geometry:
        return Geometry(tuple(shape), tuple(spacing), tuple(origin), self.direction)


@dataclass(frozen=True, eq=False)
class Image:
    """Voxel intensities (z, y, x) with their geometry. ``source`` names where it came from, for error messages."""

    array: np.ndarray
    geometry: Geometry
    source: str = "<array>"
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        a = np.asarray(self.array)
        if a.ndim == 2:
            a = a[np.newaxis]
        if a.ndim != 3:
            raise InputError(f"{self.source}: an image must be 2D or 3D, got {a.ndim} dimensions {a.shape}")
        if tuple(a.shape) != tuple(self.geometry.shape):
            raise InputError(f"{self.source}: array shape {a.shape} does not match geometry shape {self.geometry.shape}")
        object.__setattr__(self, "array", a)

    @classmethod
    def from_array(cls, array, spacing=(1.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0), direction=None, source="<array>"):
        """An image from a numpy array in (z, y, x) order with spacing (z, y, x) mm. A 2D array becomes one slice."""
        a = np.asarray(array)
        if a.ndim == 2:
            a = a[np.newaxis]
            if len(spacing) == 2:
                spacing = (1.0, *spacing)
        geom = Geometry(a.shape, spacing, origin, np.eye(3) if direction is None else direction)
        return cls(a, geom, source)

    @property
    def spacing(self) -> tuple[float, float, float]:
        return self.geometry.spacing

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.geometry.shape

    @property
    def is_2d(self) -> bool:
        return self.shape[0] == 1

    def with_array(self, array: np.ndarray, geometry: Geometry | None = None) -> Image:
        return Image(array, geometry or self.geometry, self.source, self.meta)

    def check_finite(self) -> None:
        a = self.array
        if np.issubdtype(a.dtype, np.floating):
            bad = ~np.isfinite(a)
            if bad.any():
                first = tuple(int(i) for i in np.argwhere(bad)[0])
                raise InputError(
                    f"{self.source}: {int(bad.sum())} voxel(s) are NaN or infinite (first at index (z, y, x) {first})"
                )


@dataclass(frozen=True, eq=False)
class Mask:
    """A boolean region of interest (z, y, x) with its geometry."""

    array: np.ndarray
    geometry: Geometry
    source: str = "<array>"
    label: int | None = None

    def __post_init__(self):
        a = np.asarray(self.array)
        if a.ndim == 2:
            a = a[np.newaxis]
        if a.ndim != 3:
            raise InputError(f"{self.source}: a mask must be 2D or 3D, got {a.ndim} dimensions")
        if tuple(a.shape) != tuple(self.geometry.shape):
            raise InputError(f"{self.source}: array shape {a.shape} does not match geometry shape {self.geometry.shape}")
        object.__setattr__(self, "array", a.astype(bool, copy=False))

    @classmethod
    def from_labels(cls, labels: np.ndarray, geometry: Geometry, label: int | None = None, source="<array>") -> Mask:
        """Select one label from a label map. ``label=None`` takes every non-zero voxel."""
        lab = np.asarray(labels)
        if lab.ndim == 2:
            lab = lab[np.newaxis]
        if np.issubdtype(lab.dtype, np.floating) and not np.all(np.isfinite(lab)):
            raise InputError(f"{source}: the mask holds NaN or infinite values")
        sel = lab != 0 if label is None else lab == label
        if not sel.any():
            present = np.unique(lab)
            present = present[present != 0][:20]
            what = "non-zero voxels" if label is None else f"voxels with label {label}"
            raise EmptyMaskError(f"{source}: the mask has no {what} (labels present: {present.tolist() or 'none'})")
        return cls(sel, geometry, source, label)

    @classmethod
    def from_array(cls, array, spacing=(1.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0), direction=None, label=None,
                   source="<array>") -> Mask:
        a = np.asarray(array)
        if a.ndim == 2:
            a = a[np.newaxis]
        geom = Geometry(a.shape, spacing, origin, np.eye(3) if direction is None else direction)
        return cls.from_labels(a, geom, label, source)

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.geometry.shape

    @property
    def spacing(self) -> tuple[float, float, float]:
        return self.geometry.spacing

    @property
    def n_voxels(self) -> int:
        return int(np.count_nonzero(self.array))

    def bounding_box(self) -> tuple[slice, slice, slice]:
        """Smallest (z, y, x) box holding every mask voxel."""
        idx = np.argwhere(self.array)
        if idx.size == 0:
            raise EmptyMaskError(f"{self.source}: the mask is empty")
        lo, hi = idx.min(0), idx.max(0) + 1
        return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))  # type: ignore[return-value]


def check_same_grid(image: Image, mask: Mask) -> None:
    """Raise a GeometryError that lists every difference between the image and mask grids."""
    diffs = image.geometry.differences(mask.geometry)
    if diffs:
        raise GeometryError(
            f"mask {mask.source} does not lie on the grid of image {image.source}: " + "; ".join(diffs)
        )
