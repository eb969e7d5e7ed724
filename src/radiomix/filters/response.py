"""Response maps as images: :func:`response_maps` runs the filters of a settings object on an image (optionally only on
the ROI's bounding box plus each filter's kernel margin) and returns one :class:`Image` per image type, on the input's
grid, float32. ``radiomix filter`` writes them as NIfTI so users can look at them.

Also the parameter table of the IBSI 2 phase 1 tests (:data:`IBSI2_PHASE1`): test id -> (phantom, FilterSpec). The
phase 1 reference tests and the ``ibsi2_phase1_<test id>`` presets are both built from it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from radiomix.errors import InputError
from radiomix.filters.spec import FilterSpec, apply_filter, filter_margin
from radiomix.image import Image, Mask, check_same_grid

if TYPE_CHECKING:  # pragma: no cover
    from radiomix.settings import Settings

_PI = math.pi

#: IBSI 2 phase 1 tests with a published reference response map: test id -> (phantom, FilterSpec). Parameters as
#: listed in ``ibsi/ibsi2/phase1/tests.csv``; axis-dependent names are in IBSI x, y, z order. Tests 9.a, 9.b.1 and
#: 10.b.1 (Riesz) use parameters inferred from participant file names, not from the IBSI 2 manual (unverified).
#: 9.b.2 and 10.b.2 (Riesz aligned by the structure tensor) have neither published parameters nor reference maps.
IBSI2_PHASE1: dict[str, tuple[str, FilterSpec]] = {
    "1.a.1": ("checkerboard", FilterSpec(kind="mean", support=15, boundary="zero", dimensions="3d")),
    "1.a.2": ("checkerboard", FilterSpec(kind="mean", support=15, boundary="nearest", dimensions="3d")),
    "1.a.3": ("checkerboard", FilterSpec(kind="mean", support=15, boundary="periodic", dimensions="3d")),
    "1.a.4": ("checkerboard", FilterSpec(kind="mean", support=15, boundary="mirror", dimensions="3d")),
    "1.b.1": ("impulse", FilterSpec(kind="mean", support=15, boundary="zero", dimensions="2d")),
    "2.a": ("impulse", FilterSpec(kind="log", sigma_mm=3.0, truncate=4.0, boundary="zero", dimensions="3d")),
    "2.b": ("checkerboard", FilterSpec(kind="log", sigma_mm=5.0, truncate=4.0, boundary="mirror", dimensions="3d")),
    "2.c": ("checkerboard", FilterSpec(kind="log", sigma_mm=5.0, truncate=4.0, boundary="mirror", dimensions="2d")),
    "3.a.1": ("impulse", FilterSpec(kind="laws", kernel="E5L5S5", boundary="zero", dimensions="3d")),
    "3.a.2": ("impulse", FilterSpec(kind="laws", kernel="E5L5S5", rotation_invariant=True, pooling="max",
                                    boundary="zero", dimensions="3d")),
    "3.a.3": ("impulse", FilterSpec(kind="laws", kernel="E5L5S5", rotation_invariant=True, pooling="max",
                                    energy_delta=7, boundary="zero", dimensions="3d")),
    "3.b.1": ("checkerboard", FilterSpec(kind="laws", kernel="E3W5R5", boundary="mirror", dimensions="3d")),
    "3.b.2": ("checkerboard", FilterSpec(kind="laws", kernel="E3W5R5", rotation_invariant=True, pooling="max",
                                         boundary="mirror", dimensions="3d")),
    "3.b.3": ("checkerboard", FilterSpec(kind="laws", kernel="E3W5R5", rotation_invariant=True, pooling="max",
                                         energy_delta=7, boundary="mirror", dimensions="3d")),
    "3.c.1": ("checkerboard", FilterSpec(kind="laws", kernel="L5S5", boundary="mirror", dimensions="2d")),
    "3.c.2": ("checkerboard", FilterSpec(kind="laws", kernel="L5S5", rotation_invariant=True, pooling="max",
                                         boundary="mirror", dimensions="2d")),
    "3.c.3": ("checkerboard", FilterSpec(kind="laws", kernel="L5S5", rotation_invariant=True, pooling="max",
                                         energy_delta=7, boundary="mirror", dimensions="2d")),
    "4.a.1": ("impulse", FilterSpec(kind="gabor", sigma_mm=10.0, lambda_mm=4.0, gamma=0.5, theta=_PI / 3,
                                    boundary="zero", dimensions="2d")),
    "4.a.2": ("impulse", FilterSpec(kind="gabor", sigma_mm=10.0, lambda_mm=4.0, gamma=0.5, theta=0.0,
                                    theta_step=_PI / 4, pooling="mean", boundary="zero", dimensions="3d")),
    "4.b.1": ("sphere", FilterSpec(kind="gabor", sigma_mm=20.0, lambda_mm=8.0, gamma=2.5, theta=5 * _PI / 4,
                                   boundary="mirror", dimensions="2d")),
    "4.b.2": ("sphere", FilterSpec(kind="gabor", sigma_mm=20.0, lambda_mm=8.0, gamma=2.5, theta=0.0,
                                   theta_step=_PI / 8, pooling="mean", boundary="mirror", dimensions="3d")),
    "5.a.1": ("impulse", FilterSpec(kind="wavelet", wavelet="db2", subband="LHL", level=1, boundary="zero",
                                    dimensions="3d")),
    "5.a.2": ("impulse", FilterSpec(kind="wavelet", wavelet="db2", subband="LHL", level=1, rotation_invariant=True,
                                    pooling="mean", boundary="zero", dimensions="3d")),
    "6.a.1": ("sphere", FilterSpec(kind="wavelet", wavelet="coif1", subband="HHL", level=1, boundary="periodic",
                                   dimensions="3d")),
    "6.a.2": ("sphere", FilterSpec(kind="wavelet", wavelet="coif1", subband="HHL", level=1, rotation_invariant=True,
                                   pooling="mean", boundary="periodic", dimensions="3d")),
    "7.a.1": ("checkerboard", FilterSpec(kind="wavelet", wavelet="haar", subband="LLL", level=2,
                                         rotation_invariant=True, pooling="mean", boundary="mirror", dimensions="3d")),
    "7.a.2": ("checkerboard", FilterSpec(kind="wavelet", wavelet="haar", subband="HHH", level=2,
                                         rotation_invariant=True, pooling="mean", boundary="mirror", dimensions="3d")),
    "8.a.1": ("checkerboard", FilterSpec(kind="simoncelli", level=1, boundary="periodic", dimensions="3d")),
    "8.a.2": ("checkerboard", FilterSpec(kind="simoncelli", level=2, boundary="periodic", dimensions="3d")),
    "8.a.3": ("checkerboard", FilterSpec(kind="simoncelli", level=3, boundary="periodic", dimensions="3d")),
    # unverified parameters (inferred from participant file names): sigma 3 mm, orders (x, y, z)
    "9.a": ("impulse", FilterSpec(kind="riesz_log", sigma_mm=3.0, riesz_order=(1, 0, 0), boundary="zero",
                                  dimensions="3d")),
    "9.b.1": ("sphere", FilterSpec(kind="riesz_log", sigma_mm=3.0, riesz_order=(0, 2, 0), boundary="zero",
                                   dimensions="3d")),
    # unverified; submissions differ between nearest and zero padding: nearest reproduces the map, zero does not
    "10.b.1": ("pattern_1", FilterSpec(kind="riesz_simoncelli", level=1, riesz_order=(0, 2, 0), boundary="nearest",
                                       dimensions="3d")),
}


@dataclass
class ResponseMaps:
    """Response maps by image type, and where they were computed (``box``: (z, y, x) slices of the input grid; the
    whole image when no mask was given). Voxels outside ``box`` are NaN (not computed)."""

    maps: dict[str, Image]
    box: tuple[slice, slice, slice] | None = None
    margin_vox: tuple[int, int, int] = (0, 0, 0)
    notes: list[str] = field(default_factory=list)


def _mask_box(mask: np.ndarray) -> tuple[slice, slice, slice]:
    out = []
    for k in range(3):
        idx = np.flatnonzero(np.any(mask, axis=tuple(a for a in range(3) if a != k)))
        out.append(slice(int(idx[0]), int(idx[-1]) + 1))
    return tuple(out)  # type: ignore[return-value]


def response_margin(image: Image, settings: Settings) -> tuple[int, int, int]:
    """Voxels (z, y, x) around the ROI that the filters of ``settings`` need on ``image``'s grid: the largest
    :func:`~radiomix.filters.spec.filter_margin` of any filter (the same margin ``extract`` crops with)."""
    m = [0, 0, 0]
    for spec in settings.filters:
        fm = filter_margin(spec, image.spacing, settings.dimensions)
        m = [max(a, b) for a, b in zip(m, fm)]
    return tuple(m)  # type: ignore[return-value]


def response_maps(image: Image, settings: Settings, mask: Mask | None = None, *,
                  sink: Callable[[str, Image], None] | None = None) -> ResponseMaps:
    """Filter ``image`` with every filter of ``settings`` -> :class:`ResponseMaps` (``.maps``: image type ->
    float32 :class:`Image` on ``image``'s grid).

    The image is filtered on its own grid: resampling and re-segmentation of ``settings`` are not applied (a note
    says so when resampling is set); ``round_input_intensities`` and ``normalisation`` are. With a ``mask`` only the
    ROI's bounding box plus the kernel margin (:func:`response_margin`) is filtered, as ``extract`` does; inside the
    box the response equals the whole-image response (exact for kernels of finite support with non-periodic
    boundaries; near-exact for the frequency-domain filters), and voxels outside it are NaN.

    ``sink(name, image)``, if given, receives each map as soon as it is computed and the map is not kept (one map in
    memory at a time, e.g. to write it); ``.maps`` then stays empty.
    """
    if not settings.filters:
        raise InputError(f"settings '{settings.name}': no filters are configured (settings.filters is empty)")
    notes: list[str] = []
    if settings.resampling is not None:
        notes.append("resampling in the settings is not applied: response maps are on the input grid")
    image.check_finite()
    box = None
    margin = response_margin(image, settings)
    if mask is not None:
        check_same_grid(image, mask)
        if mask.n_voxels == 0:
            from radiomix.errors import EmptyMaskError
            raise EmptyMaskError(f"{mask.source}: the mask is empty")
        roi = _mask_box(mask.array)
        box = tuple(slice(max(r.start - m, 0), min(r.stop + m, n)) for r, m, n in zip(roi, margin, image.shape))
        notes.append("filtered the ROI bounding box plus a kernel margin of (z, y, x) "
                     f"{margin} voxels: {tuple((s.start, s.stop) for s in box)}; voxels outside it are NaN")
    source = image
    norm = getattr(settings, "normalisation", None)
    if norm is not None:  # harmonisation statistics come from the whole image (and ROI), not from the crop
        from radiomix.preprocess.normalise import apply_normalisation

        source = apply_normalisation(image, mask, norm)
    work = np.asarray(source.array[box] if box is not None else source.array, dtype=np.float64)
    del source
    if settings.round_input_intensities:
        work = np.round(work)
    maps: dict[str, Image] = {}
    seen: set[str] = set()
    for spec in settings.filters:
        for name, resp in apply_filter(work, image.spacing, spec, settings.dimensions).items():
            if name in maps or name in seen:
                raise InputError(f"settings '{settings.name}': two filters give the image type {name!r}")
            seen.add(name)
            if box is None:
                out = resp.astype(np.float32)
            else:
                out = np.full(image.shape, np.nan, dtype=np.float32)
                out[box] = resp
            del resp
            if sink is None:
                maps[name] = image.with_array(out)
            else:
                sink(name, image.with_array(out))
                del out
    return ResponseMaps(maps, box, margin if box is not None else (0, 0, 0), notes)


def write_response_maps(image: Image, settings: Settings, out_dir, mask: Mask | None = None
                        ) -> tuple[ResponseMaps, list]:
    """Compute and write every map as ``out_dir/<image_type>.nii.gz`` (float32), one map in memory at a time;
    returns the :class:`ResponseMaps` record (without maps) and the written paths."""
    from pathlib import Path

    from radiomix.io import write_image

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list = []
    res = response_maps(image, settings, mask, sink=lambda name, img: paths.append(
        write_image(img, out_dir / f"{name}.nii.gz")))
    return res, paths
