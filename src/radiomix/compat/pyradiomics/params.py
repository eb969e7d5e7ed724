"""PyRadiomics parameter files (YAML or JSON) as a typed, frozen, validated model.

A parameter file has up to four sections: ``setting`` (preprocessing and feature-class options), ``imageType``
(image types to compute, each with optional setting overrides), ``featureClass`` (classes and, optionally, their
features) and ``voxelSetting`` (voxel-based extraction only; accepted and ignored by segment-based extraction, as
PyRadiomics itself does). The keys and types follow PyRadiomics' parameter schema (``paramSchema.yaml``). An unknown
key is a :class:`~radiomix.errors.SettingsError` that names the key and the file.

This module is light (pydantic and PyYAML only): ``radiomix.settings`` imports it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from radiomix.errors import SettingsError

CLASSES = ("firstorder", "shape", "shape2D", "glcm", "glrlm", "glszm", "gldm", "ngtdm")
IMAGE_TYPES = ("Original", "Wavelet", "LoG", "Square", "SquareRoot", "Logarithm", "Exponential", "Gradient",
               "LBP2D", "LBP3D")
INTERPOLATORS = ("sitkNearestNeighbor", "sitkLinear", "sitkBSpline", "sitkGaussian", "sitkLabelGaussian",
                 "sitkHammingWindowedSinc", "sitkCosineWindowedSinc", "sitkWelchWindowedSinc",
                 "sitkLanczosWindowedSinc", "sitkBlackmanWindowedSinc")
WEIGHTING_NORMS = (None, "manhattan", "euclidean", "infinity", "no_weighting")

#: PyRadiomics' defaults for the settings that change values (``None``: off).
DEFAULTS: dict[str, Any] = {
    "minimumROIDimensions": 2, "minimumROISize": None, "geometryTolerance": None, "correctMask": False,
    "additionalInfo": True, "label": 1, "label_channel": 0, "binWidth": 25, "binCount": None, "normalize": False,
    "normalizeScale": 1, "removeOutliers": None, "resampledPixelSpacing": None, "interpolator": "sitkBSpline",
    "padDistance": 5, "distances": [1], "force2D": False, "force2Ddimension": 0, "resegmentRange": None,
    "resegmentMode": "absolute", "resegmentShape": False, "preCrop": False, "sigma": [], "start_level": 0,
    "level": 1, "wavelet": "coif1", "gradientUseSpacing": True, "lbp2DRadius": 1.0, "lbp2DSamples": 8,
    "lbp2DMethod": "uniform", "lbp3DLevels": 2, "lbp3DIcosphereRadius": 1.0, "lbp3DIcosphereSubdivision": 1,
    "voxelArrayShift": 0, "symmetricalGLCM": True, "weightingNorm": None, "gldm_a": 0,
    "enableCExtensions": True,
}


def _num(kind):
    def check(key, v):
        if kind is int:
            if isinstance(v, bool) or not (isinstance(v, int) or (isinstance(v, float) and float(v).is_integer())):
                raise ValueError(f"'{key}' must be an integer, got {v!r}")
            return int(v)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"'{key}' must be a number, got {v!r}")
        return v
    return check


def _bool(key, v):
    if not isinstance(v, bool):
        raise ValueError(f"'{key}' must be true or false, got {v!r}")
    return v


def _range(check, lo=None, hi=None, lo_ex=None):
    def inner(key, v):
        v = check(key, v)
        if (lo is not None and v < lo) or (hi is not None and v > hi) or (lo_ex is not None and v <= lo_ex):
            bounds = f">{lo_ex}" if lo_ex is not None else f"in [{lo}, {hi if hi is not None else 'inf'}]"
            raise ValueError(f"'{key}' must be {bounds}, got {v!r}")
        return v
    return inner


def _seq(item):
    def inner(key, v):
        if not isinstance(v, (list, tuple)):
            raise ValueError(f"'{key}' must be a list, got {v!r}")
        return [item(key, x) for x in v]
    return inner


def _enum(values):
    def inner(key, v):
        if v not in values:
            raise ValueError(f"'{key}' must be one of {list(values)}, got {v!r}")
        return v
    return inner


def _interpolator(key, v):
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    return _enum(INTERPOLATORS)(key, v)


def _wavelet(key, v):
    if not isinstance(v, str):
        raise ValueError(f"'{key}' must be a wavelet name such as 'coif1', got {v!r}")
    return v  # checked against PyWavelets' list when the Wavelet image type runs (keeps this module light)


def _reseg_range(key, v):
    v = _seq(_num(float))(key, v)
    if len(v) not in (1, 2):
        raise ValueError(f"'{key}' must hold 1 (lower bound) or 2 (lower, upper) values, got {v!r}")
    if len(v) == 2 and v[0] > v[1]:
        raise ValueError(f"'{key}' lower bound {v[0]} is above the upper bound {v[1]}")
    return v


def _any(key, v):
    return v


_POS_FLOAT = _range(_num(float), lo_ex=0)
_POS_INT = _range(_num(int), lo_ex=0)
#: setting key -> checker(key, value) -> value; None values always mean "PyRadiomics' default".
SETTING_CHECKS: dict[str, Any] = {
    "minimumROIDimensions": _range(_num(int), 1, 3), "minimumROISize": _POS_INT, "geometryTolerance": _POS_FLOAT,
    "correctMask": _bool, "additionalInfo": _bool, "label": _POS_INT, "label_channel": _range(_num(int), 0),
    "binWidth": _POS_FLOAT, "binCount": _POS_INT, "normalize": _bool, "normalizeScale": _POS_FLOAT,
    "removeOutliers": _POS_FLOAT, "resampledPixelSpacing": _seq(_range(_num(float), 0)),
    "interpolator": _interpolator, "padDistance": _range(_num(int), 0), "distances": _seq(_POS_INT),
    "force2D": _bool, "force2Ddimension": _range(_num(int), 0, 2), "resegmentRange": _reseg_range,
    "resegmentMode": _enum(("absolute", "relative", "sigma")), "resegmentShape": _bool, "preCrop": _bool,
    "sigma": _seq(_POS_FLOAT), "start_level": _range(_num(int), 0), "level": _POS_INT, "wavelet": _wavelet,
    "gradientUseSpacing": _bool, "lbp2DRadius": _POS_FLOAT, "lbp2DSamples": _range(_num(int), 1),
    "lbp2DMethod": _enum(("default", "ror", "uniform", "var")), "lbp3DLevels": _range(_num(int), 1),
    "lbp3DIcosphereRadius": _POS_FLOAT, "lbp3DIcosphereSubdivision": _range(_num(int), 0),
    "voxelArrayShift": _num(int), "symmetricalGLCM": _bool, "weightingNorm": _enum(WEIGHTING_NORMS),
    "gldm_a": _range(_num(int), 0),
    # accepted, no effect on values here
    "enableCExtensions": _bool,
}
VOXEL_CHECKS: dict[str, Any] = {
    "kernelRadius": _POS_INT, "maskedKernel": _bool, "initValue": _any, "voxelBatch": _POS_INT,
}


def _check_settings(section: Any, where: str, checks=SETTING_CHECKS) -> dict[str, Any]:
    if section is None:
        return {}
    if not isinstance(section, Mapping):
        raise ValueError(f"{where} must be a mapping of setting names to values, got {type(section).__name__}")
    out = {}
    for key, value in section.items():
        if key not in checks:
            raise ValueError(f"unknown key '{key}' in {where} (known: {', '.join(sorted(checks))})")
        out[key] = None if value is None else checks[key](key, value)
    return out


class PyRadiomicsParams(BaseModel):
    """A PyRadiomics parameter file: ``setting``, ``imageType``, ``featureClass`` and ``voxelSetting``.

    Field names are snake_case; the PyRadiomics section names (``imageType``, ...) are accepted as aliases.
    ``feature_classes`` maps a class to ``None`` (all its features) or a tuple of feature names; an empty mapping
    (no ``featureClass`` section) enables every class, as in PyRadiomics.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    setting: dict[str, Any] = Field(default_factory=dict)
    image_types: dict[str, dict[str, Any]] = Field(default_factory=lambda: {"Original": {}}, alias="imageType")
    feature_classes: dict[str, tuple[str, ...] | None] = Field(default_factory=dict, alias="featureClass")
    voxel_setting: dict[str, Any] = Field(default_factory=dict, alias="voxelSetting")

    @model_validator(mode="before")
    @classmethod
    def _validate(cls, data):
        if not isinstance(data, Mapping):
            raise ValueError(f"a parameter file must be a mapping, got {type(data).__name__}")
        data = dict(data)
        names = {"setting": "setting", "imageType": "image_types", "image_types": "image_types",
                 "featureClass": "feature_classes", "feature_classes": "feature_classes",
                 "voxelSetting": "voxel_setting", "voxel_setting": "voxel_setting"}
        for key in data:
            if key not in names:
                raise ValueError(f"unknown section '{key}' (known: setting, imageType, featureClass, voxelSetting)")
        out: dict[str, Any] = {}
        for key, value in data.items():
            out[names[key]] = value
        out["setting"] = _check_settings(out.get("setting"), "'setting'")
        if "image_types" in out:
            types = out["image_types"] or {}
            if not isinstance(types, Mapping):
                raise ValueError("'imageType' must map image type names to their settings")
            checked = {}
            for name, extra in types.items():
                if name not in IMAGE_TYPES:
                    raise ValueError(f"unknown image type '{name}' in 'imageType' (known: {', '.join(IMAGE_TYPES)})")
                checked[name] = _check_settings(extra, f"'imageType.{name}'")
            out["image_types"] = checked
        if "feature_classes" in out:
            classes = out["feature_classes"] or {}
            if not isinstance(classes, Mapping):
                raise ValueError("'featureClass' must map feature classes to a list of features (or nothing)")
            checked = {}
            for name, feats in classes.items():
                if name not in CLASSES:
                    raise ValueError(f"unknown feature class '{name}' in 'featureClass' (known: {', '.join(CLASSES)})")
                if feats is not None and not isinstance(feats, (list, tuple)):
                    raise ValueError(f"'featureClass.{name}' must be a list of feature names, got {feats!r}")
                checked[name] = tuple(str(f) for f in feats) if feats else None
            out["feature_classes"] = checked
        out["voxel_setting"] = _check_settings(out.get("voxel_setting"), "'voxelSetting'", VOXEL_CHECKS)
        if "initValue" in out["voxel_setting"] and isinstance(out["voxel_setting"]["initValue"], str):
            try:  # YAML reads "nan" as a string
                out["voxel_setting"]["initValue"] = float(out["voxel_setting"]["initValue"])
            except ValueError:
                raise ValueError(f"'initValue' must be a number, got {out['voxel_setting']['initValue']!r}") from None
        return out

    # --- effective values ----------------------------------------------------------------------------------------
    def get(self, key: str, image_type: str | None = None) -> Any:
        """The effective value of a setting (image-type override, then ``setting``, then PyRadiomics' default)."""
        if image_type is not None and self.image_types.get(image_type, {}).get(key) is not None:
            return self.image_types[image_type][key]
        v = self.setting.get(key)
        return DEFAULTS.get(key) if v is None else v

    def effective_settings(self, image_type: str | None = None) -> dict[str, Any]:
        """Every setting with its effective value (PyRadiomics' defaults filled in), as PyRadiomics keys."""
        out = {k: self.get(k, image_type) for k in DEFAULTS}
        out.update({k: v for k, v in self.setting.items() if v is not None})
        if image_type is not None:
            out.update({k: v for k, v in self.image_types.get(image_type, {}).items() if v is not None})
        return out

    def enabled_classes(self) -> dict[str, tuple[str, ...] | None]:
        """Enabled feature classes (every class when the file names none)."""
        return dict(self.feature_classes) if self.feature_classes else {c: None for c in CLASSES}

    def to_file_dict(self) -> dict:
        """The PyRadiomics parameter-file form (section names as PyRadiomics writes them)."""
        return {"setting": dict(self.setting), "imageType": {k: dict(v) for k, v in self.image_types.items()},
                "featureClass": {k: (list(v) if v else None) for k, v in self.feature_classes.items()},
                "voxelSetting": dict(self.voxel_setting)}

    def __hash__(self) -> int:
        return hash(json.dumps(self.model_dump(mode="json"), sort_keys=True, default=str))


def _format_error(exc: ValidationError, source: str) -> str:
    msgs = []
    for err in exc.errors():
        msg = str(err["msg"])
        msgs.append(msg.removeprefix("Value error, "))
    return f"{source}: invalid PyRadiomics parameters: " + "; ".join(msgs)


def params_from_dict(data: Mapping, source: str = "<parameters>") -> PyRadiomicsParams:
    """Validate a parameter mapping; a problem is a SettingsError naming ``source`` and the key."""
    try:
        return PyRadiomicsParams.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise SettingsError(_format_error(exc, source)) from None


def load_params(path_or_dict) -> PyRadiomicsParams:
    """Read a PyRadiomics parameter file (YAML or JSON) or validate a mapping.

    Raises :class:`~radiomix.errors.SettingsError` for a missing or unreadable file, an unknown section, setting,
    image type or feature class, and a value of the wrong type or out of range; the message names the file and key.
    """
    if isinstance(path_or_dict, PyRadiomicsParams):
        return path_or_dict
    if isinstance(path_or_dict, Mapping):
        return params_from_dict(path_or_dict)
    path = Path(path_or_dict)
    if not path.is_file():
        raise SettingsError(f"{path}: PyRadiomics parameter file not found")
    text = path.read_text()
    import yaml

    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise SettingsError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {exc}") from None
    return params_from_dict(data or {}, str(path))


def default_params() -> PyRadiomicsParams:
    """PyRadiomics' defaults: the original image, every feature class, binWidth 25, no resampling."""
    return PyRadiomicsParams()


def bin_setting(params: PyRadiomicsParams) -> tuple[str, float]:
    """``("fixed_bin_number", binCount)`` or ``("fixed_bin_size", binWidth)`` as PyRadiomics chooses them."""
    count = params.get("binCount")
    if count is not None:
        return "fixed_bin_number", int(count)
    width = params.get("binWidth")
    if not math.isfinite(float(width)):
        raise SettingsError(f"binWidth must be finite, got {width!r}")
    return "fixed_bin_size", float(width)


class PyRadiomicsCompatibilityWarning(UserWarning):
    """Issued once per extraction in PyRadiomics compatibility mode: lists the semantic differences from IBSI that
    were applied faithfully (bin edges at zero, corner-aligned resampling grid, non-excess kurtosis, ...)."""
