"""PyRadiomics compatibility mode for one case: parameters -> PyRadiomics preprocessing -> image types -> PyRadiomics
feature classes -> a radiomix FeatureSet with radiomix-style names (``original_glcm_contrast``).

``radiomix.extract.extract`` calls :func:`extract_pyradiomics` when ``settings.pyradiomics`` is set, so batch runs
work unchanged.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from radiomix.compat.pyradiomics.image_types import derived_images
from radiomix.compat.pyradiomics.names import feature_to_radiomix, image_type_to_radiomix
from radiomix.compat.pyradiomics.params import PyRadiomicsCompatibilityWarning, PyRadiomicsParams, load_params
from radiomix.compat.pyradiomics.preprocess import prepare
from radiomix.errors import SettingsError
from radiomix.image import Image, Mask

#: PyRadiomics features that it keeps only as deprecated aliases; requested by name, they are skipped with a warning.
DEPRECATED = {
    "shape": {"Compactness1", "Compactness2", "SphericalDisproportion"},
    "firstorder": {"StandardDeviation"},
    "glcm": {"SumAverage", "SumVariance", "Homogeneity1", "Homogeneity2", "Dissimilarity"},
    "gldm": {"GrayLevelNonUniformityNormalized", "DependenceNonUniformityNormalized"},
}


def differences(params: PyRadiomicsParams) -> list[str]:
    """The semantic differences from IBSI that this parameter set applies (listed in the compatibility warning)."""
    classes = params.enabled_classes()
    texture = any(c not in ("shape", "shape2D") for c in classes)
    out = []
    if params.get("binCount") is None and texture:
        out.append("fixed-bin-width edges start at a multiple of binWidth (anchored at 0), not at the ROI minimum")
    if params.get("resampledPixelSpacing") is not None:
        out.append("the resampling grid is corner-aligned and cropped to the ROI box + padDistance (IBSI: "
                   "centre-aligned), the mask is resampled by nearest neighbour (IBSI: linear + 0.5 threshold) and "
                   "an integer image stays integer after interpolation")
    if "firstorder" in classes:
        out.append("firstorder Kurtosis is not excess kurtosis (IBSI subtracts 3); Energy, TotalEnergy and "
                   "RootMeanSquared add voxelArrayShift")
    if any(c in classes for c in ("glcm", "glrlm", "glszm", "gldm", "ngtdm")):
        out.append("texture matrices keep only the grey levels present in the ROI (Ng counts those), and features "
                   "use the grey levels' values")
    if params.get("normalize"):
        out.append("normalize is a z-score over the whole image before resampling")
    if params.get("resegmentRange") is not None and not params.get("resegmentShape"):
        out.append("re-segmentation does not apply to shape features")
    return out


def _warn_once(params: PyRadiomicsParams) -> None:
    diffs = differences(params)
    if diffs:
        warnings.warn("PyRadiomics compatibility mode: results follow PyRadiomics, not IBSI: " + "; ".join(diffs),
                      PyRadiomicsCompatibilityWarning, stacklevel=4)


def _features_module():
    try:
        from radiomix.compat.pyradiomics import features
    except ImportError as exc:  # pragma: no cover - the feature classes ship with the package
        raise SettingsError(f"PyRadiomics feature classes are not available: {exc}") from None
    return features


def _requested(features_mod, cls: str, wanted) -> list[str] | None:
    if wanted is None:
        return None
    known = set(features_mod.feature_names(cls))
    out = []
    for name in wanted:
        if name in known:
            out.append(name)
        elif name in DEPRECATED.get(cls, ()):
            warnings.warn(f"PyRadiomics feature {cls}/{name} is deprecated in PyRadiomics and not computed",
                          UserWarning, stacklevel=4)
        else:
            raise SettingsError(f"unknown PyRadiomics feature '{name}' in featureClass.{cls} "
                                f"(known: {', '.join(sorted(known))})")
    return out


def _flat_diagnostics(diag: dict) -> dict[str, float]:
    out: dict[str, float] = {}
    for stage, values in diag.items():
        for key, v in values.items():
            if isinstance(v, tuple):
                for i, x in enumerate(v):
                    out[f"{stage}_{key}_{i}"] = float(x)
            else:
                out[f"{stage}_{key}"] = float(v)
    return out


def extract_pyradiomics(image: Image, mask: Mask, settings, *, on_family_error: str = "raise"):
    """Extract features of one ROI as PyRadiomics would with ``settings.pyradiomics`` (or a PyRadiomicsParams, a
    parameter file path or mapping). Returns a :class:`radiomix.extract.FeatureSet` with radiomix-style names;
    PyRadiomics' diagnostics are in ``provenance["pyradiomics_diagnostics"]``. Issues one
    :class:`PyRadiomicsCompatibilityWarning`."""
    from radiomix import __version__
    from radiomix.extract import FeatureSet
    from radiomix.features.base import FeatureValue

    params = settings.pyradiomics if hasattr(settings, "pyradiomics") else load_params(settings)
    if params is None:
        raise SettingsError("these settings have no PyRadiomics parameters (settings.pyradiomics is None)")
    if on_family_error not in ("raise", "record"):
        raise ValueError("on_family_error must be 'raise' or 'record'")
    _warn_once(params)
    fmod = _features_module()
    t0 = time.perf_counter()
    try:
        prep = prepare(image, mask, params)
    except Exception as exc:
        exc.stage = "preprocess"
        raise
    t1 = time.perf_counter()
    bbox = prep.bbox
    spacing_zyx = tuple(float(s) for s in prep.image.GetSpacing()[::-1])
    m_tex = prep.mask_reseg[bbox]
    m_shape = (prep.mask_reseg if params.get("resegmentShape") else prep.mask)[bbox]
    classes = params.enabled_classes()
    explicit = bool(params.feature_classes)
    values: list = []
    errors: dict[str, str] = {}
    names: dict[str, str] = {}
    for image_type in params.image_types:
        s = params.effective_settings(image_type)
        try:
            images = (list(derived_images(prep.image, image_type, s, mask=prep.mask))
                      if image_type != "Original" else None)
        except Exception as exc:
            if on_family_error == "raise":
                exc.stage = "filter"
                raise
            errors[f"{image_type}/filter"] = f"{type(exc).__name__}: {exc}"
            continue
        if images is None:
            images = list(derived_images(prep.image, image_type, s))
        for py_name, arr in images:
            rx_name = image_type_to_radiomix(py_name)
            names[rx_name] = py_name
            crop = np.ascontiguousarray(arr[bbox], dtype=np.float64)
            for cls, wanted in classes.items():
                if cls in ("shape", "shape2D") and image_type != "Original":
                    continue
                if cls == "shape2D":
                    dim = int(s["force2Ddimension"])
                    if not s["force2D"] or m_shape.shape[dim] > 1:
                        if explicit:
                            warnings.warn("shape2D needs force2D and a ROI one voxel thick along force2Ddimension; "
                                          "not computed", UserWarning, stacklevel=2)
                        continue
                try:
                    feats = _requested(fmod, cls, wanted)
                    if feats is not None and not feats:
                        continue
                    res = fmod.compute_class(cls, crop, m_shape if cls.startswith("shape") else m_tex, spacing_zyx,
                                             s, features=feats)
                except Exception as exc:
                    if on_family_error == "raise" or isinstance(exc, SettingsError):
                        raise
                    errors[f"{rx_name}/{cls}"] = f"{type(exc).__name__}: {exc}"
                    continue
                for feat, value in res.items():
                    fam, rfeat = feature_to_radiomix(cls, feat)
                    values.append(FeatureValue(rx_name, fam, rfeat, "", "", float(value)))
            del crop
    t2 = time.perf_counter()
    diag = {k: {kk: (list(vv) if isinstance(vv, tuple) else vv) for kk, vv in v.items()}
            for k, v in prep.diagnostics.items()}
    provenance = {
        "radiomix_version": __version__,
        "mode": "pyradiomics",
        "settings_name": getattr(settings, "name", "pyradiomics"),
        "settings_digest": settings.digest() if hasattr(settings, "digest") else "",
        "pyradiomics_params": params.to_file_dict(),
        "pyradiomics_preprocessing": prep.applied,
        "pyradiomics_diagnostics": diag,
        "pyradiomics_image_types": names,
        "image": image.source,
        "mask": mask.source,
        "label": mask.label,
        "timings_s": {"preprocess": round(t1 - t0, 6), "features": round(t2 - t1, 6)},
        "roi_voxels": int(np.count_nonzero(prep.mask_reseg)),
    }
    return FeatureSet(values, _flat_diagnostics(prep.diagnostics), provenance, errors)
