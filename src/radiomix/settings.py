"""Typed, frozen, validated extraction settings, one model per concern, with YAML load/dump and named presets.

Every model forbids unknown keys, so a typo in a settings file is an error that names the key. A settings object is
hashable; ``Settings.digest()`` is the stable hash that goes into the provenance of every result.

Orders and units: spacings are given in (x, y, z) order in mm, as users and the IBSI manual write them; ``None`` in a
spacing keeps the original spacing of that axis (IBSI configuration B resamples in-plane only).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from radiomix.compat.pyradiomics.params import PyRadiomicsParams, bin_setting, default_params
from radiomix.digest import file_digest
from radiomix.errors import SettingsError
from radiomix.filters.spec import FilterSpec

SETTINGS_VERSION = 1

#: IBSI texture aggregation methods: our name -> IBSI code.
AGGREGATIONS: dict[str, str] = {
    "2d_averaged": "BTW3",
    "2d_slice_merged": "SUJT",
    "2.5d_direction_merged": "JJUI",
    "2.5d_merged": "ZW7Z",
    "3d_averaged": "ITBB",
    "3d_merged": "IAZD",
    # single-matrix families (GLSZM, GLDZM, NGTDM, NGLDM)
    "2d": "8QNN",
    "2.5d": "62GR",
    "3d": "KOBO",
}
AggregationName = Literal[
    "2d_averaged", "2d_slice_merged", "2.5d_direction_merged", "2.5d_merged", "3d_averaged", "3d_merged",
    "2d", "2.5d", "3d",
]

ALL_FAMILIES = (
    "morphology", "local_intensity", "statistics", "intensity_histogram", "ivh",
    "glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm",
)
FamilyName = Literal[
    "morphology", "local_intensity", "statistics", "intensity_histogram", "ivh",
    "glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Resampling(_Frozen):
    """Resampling to a new voxel grid (IBSI 2.4). The grid is centre-aligned as IBSI defines it unless
    ``grid_alignment='corner'`` (PyRadiomics' behaviour)."""

    spacing_mm: tuple[float | None, float | None, float | None] = Field(
        description="new spacing (x, y, z) in mm; None keeps that axis")
    interpolator: Literal["nearest", "linear", "cubic"] = Field(description="image interpolation")
    mask_interpolator: Literal["nearest", "linear"] = "linear"
    mask_threshold: float = Field(0.5, gt=0.0, le=1.0, description="partial-volume threshold for the mask")
    round_intensities: bool = Field(False, description="round interpolated intensities to the nearest integer")
    grid_alignment: Literal["centre", "corner"] = "centre"

    @field_validator("spacing_mm")
    @classmethod
    def _positive(cls, v):
        if any(s is not None and not s > 0 for s in v):
            raise ValueError(f"every spacing must be positive, got {v}")
        return v


class Resegmentation(_Frozen):
    """Re-segmentation of the intensity mask (IBSI 2.5): by range, by outliers (mean +/- n SD), or both."""

    range: tuple[float | None, float | None] | None = Field(None, description="[low, high] intensity range kept")
    outlier_sd: float | None = Field(None, gt=0, description="keep mean +/- outlier_sd * SD (IBSI: 3)")

    @field_validator("range")
    @classmethod
    def _ordered(cls, v):
        if v is not None and v[0] is not None and v[1] is not None and v[0] > v[1]:
            raise ValueError(f"range low {v[0]} is above high {v[1]}")
        return v


class Discretisation(_Frozen):
    """Intensity discretisation (IBSI 2.7). Fixed bin number (FBN) or fixed bin size (FBS); ``none`` uses the
    intensities as they are (they must be integers)."""

    method: Literal["fixed_bin_number", "fixed_bin_size", "none"]
    bin_number: int | None = Field(None, ge=1)
    bin_width: float | None = Field(None, gt=0)
    min_value: float | None = Field(
        None, description="FBS lower edge; default: the lower re-segmentation bound, else the ROI minimum")

    @model_validator(mode="after")
    def _complete(self):
        if self.method == "fixed_bin_number" and self.bin_number is None:
            raise ValueError("fixed_bin_number needs bin_number")
        if self.method == "fixed_bin_size" and self.bin_width is None:
            raise ValueError("fixed_bin_size needs bin_width")
        return self


class Texture(_Frozen):
    """Options of the texture families (IBSI 3.6-3.11)."""

    aggregations: tuple[AggregationName, ...] = Field(
        ("3d_averaged", "3d"), description="IBSI aggregation methods to compute")
    glcm_distance: int = Field(1, ge=1, description="Chebyshev distance for the GLCM")
    glcm_symmetric: bool = True
    glrlm_directions: Literal["all"] = "all"
    ngtdm_distance: int = Field(1, ge=1)
    ngldm_distance: int = Field(1, ge=1)
    ngldm_alpha: int = Field(0, ge=0, description="NGLDM coarseness parameter alpha")
    zone_connectivity: Literal["full"] = "full"

    @field_validator("aggregations")
    @classmethod
    def _nonempty(cls, v):
        if not v:
            raise ValueError("give at least one aggregation method")
        return tuple(dict.fromkeys(v))


class IVH(_Frozen):
    """Intensity-volume histogram options (IBSI 3.5). ``discretisation=None`` uses the (integer) intensities."""

    discretisation: Discretisation | None = None
    use_resegmentation_range: bool = Field(
        True, description="IBSI: the range of the IVH comes from re-segmentation (config E sets False)")


class LocalIntensity(_Frozen):
    radius_mm: float = Field(6.2035, gt=0, description="sphere radius for the 1 cm^3 peak (IBSI 3.2)")


class Lesions(_Frozen):
    """Several lesions in one mask: its connected components (:mod:`radiomix.io.lesions`). ``mode``: ``per_lesion``
    (one row per lesion, largest first), or one patient row: ``largest``, ``volume_weighted_mean`` (alias
    ``volume_weighted``) or ``merged`` (all kept lesions as one ROI). Components under ``min_voxels`` are dropped.
    Applied by ``radiomix.extract.extract_lesions``, ``radiomix batch`` and ``radiomix extract``; ``extract()`` itself
    takes the mask as given."""

    mode: Literal["per_lesion", "largest", "volume_weighted_mean", "merged"]
    connectivity: Literal[4, 6, 8, 18, 26] = Field(26, description="6/18/26 in 3D; 4/8: per slice")
    min_voxels: int = Field(1, ge=1, description="drop components with fewer voxels")

    @field_validator("mode", mode="before")
    @classmethod
    def _alias(cls, v):
        v = str(v).replace("-", "_") if isinstance(v, str) else v
        return "volume_weighted_mean" if v == "volume_weighted" else v


class Normalisation(_Frozen):
    """Image-level intensity harmonisation, applied to the whole image before resampling (recorded in provenance
    through the settings digest). ``method``: ``zscore`` (over ``region``), ``nyul`` (Nyul-Udupa piecewise-linear
    histogram standardisation with landmarks learned from a cohort by ``NyulStandardiser`` and saved to
    ``landmarks_file``), ``whitestripe`` (Shinohara et al. 2014, MR: normal-appearing white matter peak of a T1 or T2
    image; ``region: roi`` restricts the search to the mask); ``None`` for bias-field correction only.
    ``bias_field: n4`` runs N4 (SimpleITK) first."""

    method: Literal["zscore", "nyul", "whitestripe"] | None = None
    region: Literal["image", "roi"] = Field("image", description="voxels the statistics come from")
    scale: float = Field(1.0, gt=0, description="zscore: multiply the z-scores by this")
    clip_sd: float | None = Field(None, gt=0, description="zscore: clip to +- clip_sd * scale")
    landmarks_file: str | None = Field(None, description="nyul: JSON landmarks file written by NyulStandardiser.save")
    whitestripe_contrast: Literal["t1", "t2"] = "t1"
    whitestripe_width: float = Field(0.05, gt=0, lt=0.5, description="whitestripe: quantile half-width of the stripe")
    bias_field: Literal["n4"] | None = Field(None, description="n4: N4 bias-field correction before normalising")
    n4_shrink_factor: int = Field(4, ge=1)
    n4_iterations: tuple[int, ...] = Field((50, 50, 50, 50), description="N4 iterations per fitting level")
    n4_mask: Literal["otsu", "roi", "none"] = Field("otsu", description="voxels N4 fits the bias field on")

    @model_validator(mode="after")
    def _complete(self):
        if self.method == "nyul" and not self.landmarks_file:
            raise ValueError("method nyul needs landmarks_file (write one with NyulStandardiser.save)")
        if self.method is None and self.bias_field is None:
            raise ValueError("give a method, a bias_field, or both (or leave normalisation out)")
        if not self.n4_iterations or any(i < 1 for i in self.n4_iterations):
            raise ValueError(f"n4_iterations must be positive integers, got {self.n4_iterations}")
        return self


class DeepFeatures(_Frozen):
    """Deep features (``radiomix.features.deep``, needs ``radiomix[deep]``): embeddings of a user-provided TorchScript
    or ONNX network, family ``deep``, columns ``original_deep_deep_0000``... The ROI box (plus ``margin_mm``) of the
    preprocessed image goes in, resized to ``input_size`` (z, y, x) voxels when given; a feature-map output
    (1, C, z, y, x) is pooled over the ROI (``mean``: mask-weighted mean, ``max``), a vector output (1, C) is used
    as it is."""

    model_path: str = Field(description="TorchScript (.pt/.ts) or ONNX (.onnx) file; never downloaded")
    format: Literal["torchscript", "onnx"]
    input_size: tuple[int, int, int] | None = Field(None, description="network input (z, y, x) voxels; None: the crop")
    margin_mm: float = Field(0.0, ge=0, description="context around the ROI box, within the preprocessed crop")
    pooling: Literal["mean", "max"] = "mean"
    output: str | None = Field(None, description="ONNX output name, or TorchScript output index/key; default first")
    intensity_window: tuple[float, float] | None = Field(
        None, description="clip to [low, high] and scale to [0, 1] before the network; None: raw intensities")

    @field_validator("input_size")
    @classmethod
    def _positive_size(cls, v):
        if v is not None and any(n < 1 for n in v):
            raise ValueError(f"input_size must be positive voxel counts, got {v}")
        return v


class Settings(_Frozen):
    """Everything ``extract`` needs for one case."""

    version: int = SETTINGS_VERSION
    name: str = "custom"
    dimensions: Literal["2d", "3d"] = Field(
        "3d", description="2d: slice-wise processing (in-plane resampling, 2D texture); 3d: volume")
    resampling: Resampling | None = None
    resegmentation: Resegmentation | None = None
    discretisation: Discretisation = Field(description="texture and intensity-histogram discretisation")
    ivh: IVH = IVH()
    texture: Texture = Texture()
    local_intensity: LocalIntensity = LocalIntensity()
    families: tuple[FamilyName, ...] = ALL_FAMILIES
    round_input_intensities: bool = Field(
        False, description="round the image to integers before processing (IBSI CT phantom from NIfTI)")
    filters: tuple[FilterSpec, ...] = Field((), description="convolutional filters; each adds response-map image types")
    filter_families: tuple[FamilyName, ...] = Field(
        ("statistics",), description="families computed on response maps (IBSI 2: intensity-based families)")
    normalisation: Normalisation | None = Field(
        None, description="image-level harmonisation before resampling (z-score, Nyul, WhiteStripe, N4)")
    lesions: Lesions | None = Field(None, description="split the mask into lesions: one row per lesion or a policy")
    deep_features: DeepFeatures | None = Field(None, description="embeddings of a TorchScript/ONNX network (family deep)")
    pyradiomics: PyRadiomicsParams | None = Field(
        None, description="PyRadiomics compatibility mode: extract() follows these PyRadiomics parameters instead")

    @model_validator(mode="before")
    @classmethod
    def _pyradiomics_discretisation(cls, data):
        """In PyRadiomics mode the discretisation comes from binWidth / binCount when not given."""
        if isinstance(data, dict) and data.get("pyradiomics") is not None and data.get("discretisation") is None:
            p = data["pyradiomics"]
            p = p if isinstance(p, PyRadiomicsParams) else PyRadiomicsParams.model_validate(p)
            method, value = bin_setting(p)
            key = "bin_number" if method == "fixed_bin_number" else "bin_width"
            data = {**data, "discretisation": {"method": method, key: value}}
        return data

    @field_validator("filter_families")
    @classmethod
    def _no_morphology_on_filters(cls, v):
        if "morphology" in v:
            raise ValueError("morphology does not depend on intensities; it is computed on the original image only")
        return v

    @field_validator("version")
    @classmethod
    def _version(cls, v):
        if v != SETTINGS_VERSION:
            raise ValueError(f"settings version {v} is not supported (this radiomix reads version {SETTINGS_VERSION})")
        return v

    # --- serialisation ---------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return self.model_dump(mode="json")

    def to_yaml(self, path=None) -> str:
        import yaml

        text = yaml.safe_dump(self.to_dict(), sort_keys=False)
        if path is not None:
            Path(path).write_text(text)
        return text

    def digest(self) -> str:
        """Stable sha256 (first 16 hex digits) of the canonical JSON form; goes into provenance. Files the settings
        point to (Nyul landmarks, a deep-feature model) count by their content, not only their path: new landmarks
        under the same name give a new digest, so ``batch --resume`` recomputes instead of mixing old and new."""
        form = self.to_dict()
        files = {}
        if self.normalisation is not None and self.normalisation.landmarks_file:
            files["normalisation.landmarks_file"] = _file_sha256(self.normalisation.landmarks_file)
        if self.deep_features is not None:
            files["deep_features.model_path"] = _file_sha256(self.deep_features.model_path)
        if any(files.values()):
            form["_file_contents"] = files
        blob = json.dumps(form, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def __hash__(self) -> int:
        return hash(self.digest())

    def replace(self, **changes) -> Settings:
        """A copy with some top-level fields changed, validated again."""
        return Settings.model_validate({**self.to_dict(), **{k: _plain(v) for k, v in changes.items()}})


def _file_sha256(path: str) -> str:
    """sha256 of a file's content ("" when it cannot be read: using the settings then fails with a clear error)."""
    p = Path(path).expanduser()
    try:
        st = p.stat()
    except OSError:
        return ""
    return _file_sha256_cached(str(p.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _file_sha256_cached(path: str, size: int, mtime_ns: int) -> str:  # size/mtime: a changed file is hashed again
    try:
        return file_digest(path)
    except OSError:
        return ""


def _plain(v):
    return v.model_dump(mode="json") if isinstance(v, BaseModel) else v


def _format_validation_error(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "<root>"
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown key '{loc}'")
        elif err["type"] == "missing":
            lines.append(f"missing required key '{loc}'")
        else:
            lines.append(f"'{loc}': {err['msg']} (got {err.get('input')!r})")
    return f"{source}: invalid settings: " + "; ".join(lines)


def settings_from_dict(data: dict, source: str = "<settings>") -> Settings:
    if not isinstance(data, dict):
        raise SettingsError(f"{source}: settings must be a mapping of keys to values, got {type(data).__name__}")
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(_format_validation_error(exc, source)) from None


def load_settings(path) -> Settings:
    """Read settings from a YAML (or JSON) file; errors name the file and the key."""
    path = Path(path)
    if not path.exists():
        raise SettingsError(f"{path}: settings file not found")
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: not valid YAML: {exc}") from None
    return settings_from_dict(data, str(path))


# --- presets -----------------------------------------------------------------------------------------------------------
_CT_TEXTURE_2D = Texture(aggregations=("2d_averaged", "2d_slice_merged", "2.5d_direction_merged", "2.5d_merged",
                                       "2d", "2.5d"))
_CT_TEXTURE_3D = Texture(aggregations=("3d_averaged", "3d_merged", "3d"))
_IBSI_RESAMPLE = {"mask_interpolator": "linear", "mask_threshold": 0.5, "round_intensities": True}


def _presets() -> dict[str, Settings]:
    return {
        # IBSI digital phantom: no interpolation, no re-segmentation, intensities are already grey levels 1..6.
        "ibsi_dig": Settings(
            name="ibsi_dig",
            discretisation=Discretisation(method="none"),
            texture=Texture(aggregations=tuple(AGGREGATIONS)),
        ),
        "ibsi_config_a": Settings(
            name="ibsi_config_a", dimensions="2d", round_input_intensities=True,
            resegmentation=Resegmentation(range=(-500, 400)),
            discretisation=Discretisation(method="fixed_bin_size", bin_width=25),
            texture=_CT_TEXTURE_2D,
        ),
        "ibsi_config_b": Settings(
            name="ibsi_config_b", dimensions="2d", round_input_intensities=True,
            resampling=Resampling(spacing_mm=(2.0, 2.0, None), interpolator="linear", **_IBSI_RESAMPLE),
            resegmentation=Resegmentation(range=(-500, 400)),
            discretisation=Discretisation(method="fixed_bin_number", bin_number=32),
            texture=_CT_TEXTURE_2D,
        ),
        "ibsi_config_c": Settings(
            name="ibsi_config_c", round_input_intensities=True,
            resampling=Resampling(spacing_mm=(2.0, 2.0, 2.0), interpolator="linear", **_IBSI_RESAMPLE),
            resegmentation=Resegmentation(range=(-1000, 400)),
            discretisation=Discretisation(method="fixed_bin_size", bin_width=25),
            ivh=IVH(discretisation=Discretisation(method="fixed_bin_size", bin_width=2.5)),
            texture=_CT_TEXTURE_3D,
        ),
        "ibsi_config_d": Settings(
            name="ibsi_config_d", round_input_intensities=True,
            resampling=Resampling(spacing_mm=(2.0, 2.0, 2.0), interpolator="linear", **_IBSI_RESAMPLE),
            resegmentation=Resegmentation(outlier_sd=3.0),
            discretisation=Discretisation(method="fixed_bin_number", bin_number=32),
            texture=_CT_TEXTURE_3D,
        ),
        "ibsi_config_e": Settings(
            name="ibsi_config_e", round_input_intensities=True,
            resampling=Resampling(spacing_mm=(2.0, 2.0, 2.0), interpolator="cubic", **_IBSI_RESAMPLE),
            resegmentation=Resegmentation(range=(-1000, 400), outlier_sd=3.0),
            discretisation=Discretisation(method="fixed_bin_number", bin_number=32),
            ivh=IVH(discretisation=Discretisation(method="fixed_bin_number", bin_number=1000),
                    use_resegmentation_range=False),
            texture=_CT_TEXTURE_3D,
        ),
    }


_PI = 3.141592653589793
#: IBSI 2 phase 2 filters by number: (configuration A 2D spec, configuration B 3D spec); all mirror boundaries
_IBSI2_FILTERS = {
    1: (None, None),
    2: ({"kind": "mean", "support": 5}, {"kind": "mean", "support": 5}),
    3: ({"kind": "log", "sigma_mm": 1.5, "truncate": 4.0}, {"kind": "log", "sigma_mm": 1.5, "truncate": 4.0}),
    4: ({"kind": "laws", "kernel": "L5E5", "rotation_invariant": True, "pooling": "max", "energy_delta": 7},
        {"kind": "laws", "kernel": "L5E5E5", "rotation_invariant": True, "pooling": "max", "energy_delta": 7}),
    5: ({"kind": "gabor", "sigma_mm": 5.0, "lambda_mm": 2.0, "gamma": 1.5, "theta_step": _PI / 8, "pooling": "mean"},
        {"kind": "gabor", "sigma_mm": 5.0, "lambda_mm": 2.0, "gamma": 1.5, "theta_step": _PI / 8, "pooling": "mean"}),
    6: ({"kind": "wavelet", "wavelet": "db3", "subband": "LH", "level": 1, "rotation_invariant": True},
        {"kind": "wavelet", "wavelet": "db3", "subband": "LLH", "level": 1, "rotation_invariant": True}),
    7: ({"kind": "wavelet", "wavelet": "db3", "subband": "HH", "level": 2, "rotation_invariant": True},
        {"kind": "wavelet", "wavelet": "db3", "subband": "HHH", "level": 2, "rotation_invariant": True}),
    8: ({"kind": "simoncelli", "level": 1}, {"kind": "simoncelli", "level": 1}),
    9: ({"kind": "simoncelli", "level": 2}, {"kind": "simoncelli", "level": 2}),
}


def _ibsi2_presets() -> dict[str, Settings]:
    """``ibsi2_<filter number>_<a|b>``: IBSI 2 phase 2 on the CT phantom (A: 2D, no interpolation; B: 3D, 1 mm
    tricubic); re-segmentation [-1000, 400] HU on the unfiltered image; statistics of the response map."""
    out = {}
    for n, (spec_a, spec_b) in _IBSI2_FILTERS.items():
        for cfg, spec in (("a", spec_a), ("b", spec_b)):
            out[f"ibsi2_{n}_{cfg}"] = Settings(
                name=f"ibsi2_{n}_{cfg}", dimensions="2d" if cfg == "a" else "3d", round_input_intensities=True,
                resampling=None if cfg == "a" else Resampling(spacing_mm=(1.0, 1.0, 1.0), interpolator="cubic",
                                                              **_IBSI_RESAMPLE),
                resegmentation=Resegmentation(range=(-1000, 400)),
                discretisation=Discretisation(method="fixed_bin_number", bin_number=32),
                families=("statistics",),
                filters=() if spec is None else (FilterSpec(boundary="mirror", **spec),),
                filter_families=("statistics",),
            )
    return out


def _ibsi2_phase1_presets() -> dict[str, Settings]:
    """``ibsi2_phase1_<test id>``: the filter of one IBSI 2 phase 1 test (response maps on the phantom's own grid,
    ``radiomix filter``); built from :data:`radiomix.filters.response.IBSI2_PHASE1`, the table the tests use."""
    from radiomix.filters.response import IBSI2_PHASE1

    return {f"ibsi2_phase1_{tid}": Settings(
        name=f"ibsi2_phase1_{tid}", discretisation=Discretisation(method="fixed_bin_number", bin_number=32),
        families=("statistics",), filters=(spec,), filter_families=("statistics",))
        for tid, (_, spec) in IBSI2_PHASE1.items()}


@functools.cache
def _preset_table() -> dict[str, Settings]:
    """Every named preset, built on first use (building them validates filter specs, which loads filter modules)."""
    table = {**_presets(), **_ibsi2_presets(), **_ibsi2_phase1_presets()}
    # PyRadiomics' defaults: original image, every feature class, binWidth 25, no resampling (compatibility mode)
    table["pyradiomics_default"] = Settings(name="pyradiomics_default", pyradiomics=default_params())
    return table


def __getattr__(name: str):
    if name == "PRESETS":  # ``from radiomix.settings import PRESETS`` still works; built on first access
        return _preset_table()
    raise AttributeError(f"module 'radiomix.settings' has no attribute {name!r}")


def preset(name: str) -> Settings:
    """A named preset (``ibsi_dig``, ``ibsi_config_a`` ... ``ibsi_config_e``, ``ibsi2_<1..9>_<a|b>``,
    ``ibsi2_phase1_<test id>``)."""
    try:
        return _preset_table()[name]
    except KeyError:
        raise SettingsError(f"unknown preset '{name}'; known presets: {', '.join(sorted(_preset_table()))}") from None
