"""``FilterSpec``: one filter with its parameters (typed, frozen, hashable), ``apply_filters`` and ``filter_margin``.

One model for every family: ``kind`` names the family and only that family's parameters may be given (the others must
be left out), so a typo or a parameter of the wrong family is an error that names it. Units are in the names
(``sigma_mm``); angles are in radians.

Example (YAML)::

    filters:
      - {kind: log, sigma_mm: 1.5}
      - {kind: laws, kernel: L5E5E5, rotation_invariant: true, pooling: max, energy_delta: 7}
      - {kind: wavelet, wavelet: db3, subband: LLH, level: 1, rotation_invariant: true}
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FilterKind = Literal[
    "mean", "log", "laws", "gabor", "wavelet", "simoncelli", "riesz_log", "riesz_simoncelli",
    "square", "square_root", "logarithm", "exponential", "gradient", "lbp",
]

#: parameters each kind accepts (besides kind, dimensions, boundary) and the ones it requires
_ALLOWED: dict[str, tuple[set[str], set[str]]] = {
    "mean": ({"support"}, {"support"}),
    "log": ({"sigma_mm", "truncate"}, {"sigma_mm"}),
    "laws": ({"kernel", "rotation_invariant", "pooling", "energy_delta"}, {"kernel"}),
    "gabor": ({"sigma_mm", "lambda_mm", "gamma", "theta", "theta_step", "pooling", "truncate"},
              {"sigma_mm", "lambda_mm", "gamma"}),
    "wavelet": ({"wavelet", "subband", "level", "rotation_invariant", "pooling"}, {"wavelet", "subband"}),
    "simoncelli": ({"level"}, set()),
    "riesz_log": ({"sigma_mm", "truncate", "riesz_order"}, {"sigma_mm", "riesz_order"}),
    "riesz_simoncelli": ({"level", "riesz_order"}, {"riesz_order"}),
    "square": (set(), set()),
    "square_root": (set(), set()),
    "logarithm": (set(), set()),
    "exponential": (set(), set()),
    "gradient": (set(), set()),
    "lbp": (set(), set()),
}
_PARAMS = ("support", "sigma_mm", "truncate", "kernel", "rotation_invariant", "pooling", "energy_delta", "lambda_mm",
           "gamma", "theta", "theta_step", "wavelet", "subband", "level", "riesz_order")


class FilterSpec(BaseModel):
    """One filter. ``dimensions=None`` follows the case's setting (``Settings.dimensions``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: FilterKind
    dimensions: Literal["2d", "3d"] | None = Field(
        None, description="2d: slice-wise in the (y, x) plane; 3d: volume; None: as the extraction settings")
    boundary: Literal["zero", "nearest", "periodic", "mirror"] = Field(
        "mirror", description="IBSI boundary condition (mirror repeats the edge voxel)")
    support: int | None = Field(None, ge=1, description="mean: support in voxels per side (odd)")
    sigma_mm: float | None = Field(None, gt=0, description="log/gabor/riesz_log: Gaussian sigma in mm")
    truncate: float | None = Field(None, gt=0, description="log/gabor: kernel radius in sigmas (default 4)")
    kernel: str | None = Field(None, description="laws: 1D kernels in x, y(, z) order, e.g. L5E5E5")
    rotation_invariant: bool | None = Field(None, description="laws/wavelet: pool over kernel orientations")
    pooling: Literal["max", "min", "mean"] | None = Field(
        None, description="pooling over orientations (laws default max, gabor/wavelet default mean)")
    energy_delta: int | None = Field(None, ge=0, description="laws: energy map over (2 delta + 1)^d voxels")
    lambda_mm: float | None = Field(None, gt=0, description="gabor: wavelength in mm")
    gamma: float | None = Field(None, gt=0, description="gabor: spatial aspect ratio")
    theta: float | None = Field(None, description="gabor: orientation in radians (default 0)")
    theta_step: float | None = Field(None, gt=0, description="gabor: pool over theta, theta + step, ... below pi")
    wavelet: str | None = Field(None, description="wavelet: PyWavelets name (haar, db3, coif1, sym4, ...)")
    subband: str | None = Field(None, description="wavelet: letters L/H in x, y(, z) order, e.g. LLH")
    level: int | None = Field(None, ge=1, description="wavelet/simoncelli: decomposition level (default 1)")
    riesz_order: tuple[int, ...] | None = Field(None, description="riesz: order (x, y, z), e.g. (1, 0, 0)")

    @field_validator("support")
    @classmethod
    def _odd(cls, v):
        if v is not None and v % 2 == 0:
            raise ValueError(f"the mean filter support must be odd, got {v}")
        return v

    @field_validator("kernel", "subband")
    @classmethod
    def _upper(cls, v):
        return None if v is None else v.upper()

    @model_validator(mode="after")
    def _fields_of_kind(self):
        allowed, required = _ALLOWED[self.kind]
        given = {p for p in _PARAMS if getattr(self, p) is not None}
        extra = sorted(given - allowed)
        if extra:
            raise ValueError(f"filter kind {self.kind!r} does not take {', '.join(extra)} "
                             f"(it takes: {', '.join(sorted(allowed)) or 'no parameters'})")
        missing = sorted(required - given)
        if missing:
            raise ValueError(f"filter kind {self.kind!r} needs {', '.join(missing)}")
        if self.kind == "laws":
            from radiomix.filters.laws import parse_kernel
            parse_kernel(self.kernel)
        if self.kind == "wavelet":
            from radiomix.filters.wavelet import filter_bank
            filter_bank(self.wavelet)
            if set(self.subband) - {"L", "H"} or len(self.subband) not in (2, 3):
                raise ValueError(f"wavelet sub-band must be 2 or 3 letters L/H, got {self.subband!r}")
        if self.kind.startswith("riesz") and (any(o < 0 for o in self.riesz_order) or sum(self.riesz_order) == 0):
            raise ValueError(f"riesz_order must be non-negative with a positive sum, got {self.riesz_order}")
        return self

    def resolved_dimensions(self, default: str = "3d") -> str:
        return self.dimensions or default

    def name(self, dimensions: str = "3d") -> str:
        """Stable, readable image-type name, e.g. ``log_sigma_1.5mm``, ``wavelet_db3_level1_llh_mean``."""
        from radiomix.filters._core import fmt

        d = self.resolved_dimensions(dimensions)
        suffix = "_2d" if d == "2d" else ""
        k = self.kind
        if k == "mean":
            base = f"mean_{self.support}"
        elif k == "log":
            base = f"log_sigma_{fmt(self.sigma_mm)}mm"
        elif k == "laws":
            base = f"laws_{self.kernel.lower()}"
            if self.energy_delta is not None:
                base += f"_energy_delta{self.energy_delta}"
            if self.rotation_invariant:
                base += f"_{self.pooling or 'max'}"
        elif k == "gabor":
            base = f"gabor_sigma_{fmt(self.sigma_mm)}mm_lambda_{fmt(self.lambda_mm)}mm_gamma_{fmt(self.gamma)}"
            base += f"_theta_{fmt(round(np.degrees(self.theta or 0.0), 6))}deg"
            if self.theta_step is not None:
                base += f"_step_{fmt(round(np.degrees(self.theta_step), 6))}deg_{self.pooling or 'mean'}"
        elif k == "wavelet":
            base = f"wavelet_{self.wavelet}_level{self.level or 1}_{self.subband.lower()}"
            if self.rotation_invariant:
                base += f"_{self.pooling or 'mean'}"
        elif k == "simoncelli":
            base = f"simoncelli_level{self.level or 1}"
        elif k == "riesz_log":
            base = f"riesz_{''.join(map(str, self.riesz_order))}_log_sigma_{fmt(self.sigma_mm)}mm"
        elif k == "riesz_simoncelli":
            base = f"riesz_{''.join(map(str, self.riesz_order))}_simoncelli_level{self.level or 1}"
        elif k == "lbp":
            return f"lbp_{d}"
        elif k == "gradient":
            base = "gradient"
        else:
            base = k
        return base + suffix


def filter_margin(spec: FilterSpec, spacing, dimensions: str = "3d") -> tuple[int, int, int]:
    """Voxels (z, y, x) a filter needs around the ROI so that the response inside the ROI is the same as on the whole
    image (exact for kernels of finite support with any boundary other than periodic; for the frequency-domain
    filters Simoncelli and Riesz it covers their effective support). 2D filters need no margin along z."""
    from radiomix.filters import gabor, laws, log, mean, simoncelli, wavelet

    d = spec.resolved_dimensions(dimensions)
    k = spec.kind
    if k == "mean":
        m = (mean.mean_margin(spec.support),) * 3
    elif k in ("log", "riesz_log"):
        m = log.log_margin(spacing, spec.sigma_mm, spec.truncate or 4.0)
        if k == "riesz_log":
            m = tuple(2 * v for v in m)
    elif k == "laws":
        m = (laws.laws_margin(spec.kernel, spec.energy_delta),) * 3
    elif k == "gabor":
        m = gabor.gabor_margin(spacing, spec.sigma_mm, spec.gamma, "3d", spec.truncate or 4.0)
    elif k == "wavelet":
        m = (wavelet.wavelet_margin(spec.wavelet, spec.level or 1),) * 3
    elif k in ("simoncelli", "riesz_simoncelli"):
        m = (simoncelli.simoncelli_margin(spec.level or 1),) * 3
    elif k in ("gradient", "lbp"):
        m = (1, 1, 1)
    else:  # voxel-wise operations; square, square root, logarithm and exponential use the crop's maximum
        m = (0, 0, 0)
    m = tuple(int(v) for v in m)
    return (0, m[1], m[2]) if d == "2d" else m  # type: ignore[return-value]


#: kinds whose response at a voxel depends only on the input within :func:`filter_margin` voxels (spatial kernels of
#: finite support, applied by direct convolution)
LOCAL_SUPPORT_KINDS = frozenset({"mean", "log", "laws", "wavelet"})


def local_support(spec: FilterSpec) -> bool:
    """True when any crop with :func:`filter_margin` voxels around the ROI gives the same response inside the ROI,
    to the last bit, as the whole image: a spatial kernel of finite support, applied directly (not by FFT), with a
    boundary other than periodic (which wraps around the crop)."""
    return spec.kind in LOCAL_SUPPORT_KINDS and spec.boundary != "periodic"


def apply_filter(array: np.ndarray, spacing, spec: FilterSpec, dimensions: str = "3d") -> dict[str, np.ndarray]:
    """One filter -> {image_type_name: response}."""
    from radiomix.filters import FILTERS

    return FILTERS[spec.kind](np.asarray(array, dtype=np.float64), tuple(float(s) for s in spacing), spec, dimensions)


def apply_filters(array: np.ndarray, spacing, specs, dimensions: str = "3d") -> dict[str, np.ndarray]:
    """Apply every spec to ``array`` (z, y, x) with ``spacing`` (z, y, x) mm -> {image_type_name: response}.
    Two specs that give the same image-type name are an error."""
    out: dict[str, np.ndarray] = {}
    for spec in specs:
        if not isinstance(spec, FilterSpec):
            spec = FilterSpec.model_validate(spec)
        for name, resp in apply_filter(array, spacing, spec, dimensions).items():
            if name in out:
                raise ValueError(f"two filters give the image type {name!r}; remove the duplicate")
            out[name] = resp
    return out
