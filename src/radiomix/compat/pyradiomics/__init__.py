"""PyRadiomics compatibility mode: read PyRadiomics parameter files, reproduce PyRadiomics' preprocessing, image
types and feature classes, and name the results either way.

Public API::

    load_params(path_or_dict) -> PyRadiomicsParams
    settings_from_params(path_or_params) -> radiomix.settings.Settings   (for extract() and batch)
    extract_pyradiomics(image, mask, settings) -> FeatureSet
    to_pyradiomics_names(feature_set_or_dict) -> {"original_glcm_Contrast": ..., ...}
    PyRadiomicsCompatibilityWarning

Importing this package is light (pydantic, PyYAML); SimpleITK, PyWavelets and the feature classes load on first use.
"""

from __future__ import annotations

from radiomix.compat.pyradiomics.names import to_pyradiomics_names
from radiomix.compat.pyradiomics.params import (
    PyRadiomicsCompatibilityWarning,
    PyRadiomicsParams,
    default_params,
    load_params,
)


def settings_from_params(path_or_params, name: str | None = None):
    """radiomix Settings that run PyRadiomics mode with these parameters (discretisation filled from binWidth or
    binCount, so the Settings are complete)."""
    from radiomix.settings import Settings

    params = load_params(path_or_params)
    return Settings.model_validate({"name": name or "pyradiomics", "pyradiomics": params})


def __getattr__(name):
    if name in ("extract_pyradiomics", "differences"):
        from radiomix.compat.pyradiomics import extract

        return getattr(extract, name)
    if name == "prepare":
        from radiomix.compat.pyradiomics.preprocess import prepare

        return prepare
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["PyRadiomicsCompatibilityWarning", "PyRadiomicsParams", "default_params", "differences",
           "extract_pyradiomics", "load_params", "prepare", "settings_from_params", "to_pyradiomics_names"]
