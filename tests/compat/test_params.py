"""PyRadiomics parameter files, Settings integration, PyRadiomics-faithful preprocessing, image types and names."""

from __future__ import annotations

import ast
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from radiomix.compat.pyradiomics import (
    PyRadiomicsCompatibilityWarning,
    PyRadiomicsParams,
    load_params,
    settings_from_params,
    to_pyradiomics_names,
)
from radiomix.compat.pyradiomics.image_types import derived_images
from radiomix.compat.pyradiomics.names import column_to_pyradiomics, image_type_to_pyradiomics, image_type_to_radiomix
from radiomix.compat.pyradiomics.preprocess import check_roi, normalize, prepare, resegment
from radiomix.errors import EmptyMaskError, GeometryError, SettingsError
from radiomix.image import Image, Mask
from radiomix.settings import Settings, load_settings, preset
from tests.conftest import require_reference

EXAMPLES = ("MR_2D_extraction.yaml", "Params.yaml", "exampleCT.yaml", "exampleMR_3mm.yaml", "exampleMR_5mm.yaml",
            "exampleMR_NoResampling.yaml", "exampleVoxel.yaml", "example_allShape.yaml")


# --- parameter files ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", EXAMPLES)
def test_every_pyradiomics_example_loads(name):
    path = require_reference() / "pyradiomics" / "examples" / "exampleSettings" / name
    p = load_params(path)
    assert "Original" in p.image_types
    s = settings_from_params(path)
    assert s.pyradiomics.setting == p.setting and s.pyradiomics.image_types == p.image_types
    assert s.discretisation.method == "fixed_bin_size"
    assert s.discretisation.bin_width == float(p.get("binWidth"))


def test_example_values_are_read():
    d = require_reference() / "pyradiomics" / "examples" / "exampleSettings"
    ct = load_params(d / "exampleCT.yaml")
    assert ct.get("resampledPixelSpacing") == [1, 1, 1] and ct.get("padDistance") == 10
    assert ct.image_types["LoG"]["sigma"] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert "SumAverage" not in ct.feature_classes["glcm"] and ct.feature_classes["shape"] is None
    two_d = load_params(d / "MR_2D_extraction.yaml")
    assert two_d.get("force2D") is True and two_d.get("resampledPixelSpacing") == [2, 2, 0]
    assert load_params(d / "Params.yaml").get("weightingNorm") is None  # explicit null -> default
    assert np.isnan(load_params(d / "exampleVoxel.yaml").voxel_setting["initValue"])


def test_every_baseline_settings_dict_loads():
    base = require_reference() / "pyradiomics" / "data" / "baseline"
    n = 0
    for csv in base.glob("baseline_*.csv"):
        df = pd.read_csv(csv, index_col=0)
        for col in df.columns:
            load_params({"setting": ast.literal_eval(df.loc["diagnostics_Configuration_Settings", col]),
                         "imageType": ast.literal_eval(df.loc["diagnostics_Configuration_EnabledImageTypes", col])})
            n += 1
    assert n == 220


def _write(tmp_path, text, name="params.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("text, words", [
    ("setting:\n  binWidht: 25\n", ["binWidht", "unknown key"]),
    ("settings:\n  binWidth: 25\n", ["settings", "unknown section"]),
    ("imageType:\n  Waveletx: {}\n", ["Waveletx", "image type"]),
    ("featureClass:\n  glcmx:\n", ["glcmx", "feature class"]),
    ("imageType:\n  LoG:\n    sigmaa: [1.0]\n", ["sigmaa", "imageType.LoG"]),
    ("voxelSetting:\n  kernelRadiuss: 1\n", ["kernelRadiuss"]),
    ("setting:\n  binWidth: wide\n", ["binWidth", "number"]),
    ("setting:\n  binWidth: -1\n", ["binWidth"]),
    ("setting:\n  binCount: 2.5\n", ["binCount", "integer"]),
    ("setting:\n  resegmentRange: [1, 2, 3]\n", ["resegmentRange"]),
    ("setting:\n  resegmentRange: [5, 1]\n", ["resegmentRange", "above"]),
    ("setting:\n  resegmentMode: percentile\n", ["resegmentMode"]),
    ("setting:\n  interpolator: sitkCubic\n", ["interpolator"]),
    ("setting:\n  weightingNorm: l3\n", ["weightingNorm"]),
    ("setting:\n  force2D: 'yes'\n", ["force2D"]),
    ("setting:\n  minimumROIDimensions: 4\n", ["minimumROIDimensions"]),
    ("setting:\n  lbp2DMethod: fancy\n", ["lbp2DMethod"]),
    ("- just\n- a list\n", ["mapping"]),
])
def test_bad_parameters_name_the_key_and_file(tmp_path, text, words):
    p = _write(tmp_path, text)
    with pytest.raises(SettingsError) as exc:
        load_params(p)
    msg = str(exc.value)
    assert str(p) in msg
    for w in words:
        assert w in msg


def test_missing_and_unparsable_files(tmp_path):
    with pytest.raises(SettingsError, match="not found"):
        load_params(tmp_path / "nope.yaml")
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_params(_write(tmp_path, "setting: [unclosed\n"))
    with pytest.raises(SettingsError, match="not valid JSON"):
        load_params(_write(tmp_path, "{bad json", "p.json"))


def test_harmless_keys_and_json(tmp_path):
    data = {"setting": {"additionalInfo": False, "enableCExtensions": True, "geometryTolerance": 1e-3,
                        "correctMask": True, "label_channel": 0, "label": 2, "binCount": 32,
                        "gradientUseSpacing": False, "lbp2DRadius": 2, "lbp2DSamples": 16, "lbp2DMethod": "default",
                        "lbp3DLevels": 3, "lbp3DIcosphereRadius": 1.5, "lbp3DIcosphereSubdivision": 2,
                        "wavelet": "haar", "start_level": 1, "level": 2, "sigma": [1, 2.5]},
            "imageType": {"Original": {}, "Wavelet": None, "LoG": {"binWidth": 5}}, "featureClass": {"glcm": []}}
    p = load_params(_write(tmp_path, json.dumps(data), "p.json"))
    assert p.get("label") == 2 and p.get("binCount") == 32
    assert p.image_types["Wavelet"] == {} and p.feature_classes == {"glcm": None}
    assert p.get("binWidth", "LoG") == 5 and p.get("binWidth", "Original") == 25  # image-type override
    s = settings_from_params(p)
    assert s.discretisation.method == "fixed_bin_number" and s.discretisation.bin_number == 32


def test_defaults_and_preset():
    p = PyRadiomicsParams()
    assert p.image_types == {"Original": {}} and len(p.enabled_classes()) == 8
    assert p.get("binWidth") == 25 and p.get("resampledPixelSpacing") is None and p.get("label") == 1
    s = preset("pyradiomics_default")
    assert s.pyradiomics == p and s.discretisation.bin_width == 25


def test_settings_round_trip_and_digest(tmp_path):
    s = settings_from_params({"setting": {"binWidth": 5, "resampledPixelSpacing": [2, 2, 2]},
                              "imageType": {"Original": {}, "LoG": {"sigma": [1.0]}}})
    path = tmp_path / "s.yaml"
    s.to_yaml(path)
    back = load_settings(path)
    assert back.pyradiomics == s.pyradiomics and back.digest() == s.digest()
    assert hash(back) == hash(s)
    other = settings_from_params({"setting": {"binWidth": 10}})
    assert other.digest() != s.digest()
    with pytest.raises(SettingsError, match="binWidht"):
        from radiomix.settings import settings_from_dict

        settings_from_dict({"pyradiomics": {"setting": {"binWidht": 1}}})
    assert isinstance(Settings.model_validate(s.to_dict()), Settings)


# --- preprocessing -----------------------------------------------------------------------------------------------
def _case(shape=(6, 10, 12), seed=0):
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 200, shape).astype(np.int16)
    m = np.zeros(shape, bool)
    m[1:5, 2:8, 3:9] = True
    return Image.from_array(arr, spacing=(2.0, 0.8, 0.7)), Mask.from_array(m.astype(np.uint8), spacing=(2.0, 0.8, 0.7))


def test_resegment_modes():
    img = np.arange(10, dtype=float).reshape(1, 1, 10)
    m = np.ones_like(img, bool)
    assert resegment(img, m, [3, 6], "absolute", "x").sum() == 4
    assert resegment(img, m, [3], "absolute", "x").sum() == 7  # one value: lower bound only
    assert resegment(img, m, [0.5, 1.0], "relative", "x").sum() == 5  # 4.5 .. 9
    sd = img.std()
    kept = resegment(img, m, [-1, 1], "sigma", "x")
    assert np.array_equal(kept[m], np.abs(img[m] - 4.5) <= sd)
    with pytest.raises(EmptyMaskError, match="re-segmentation"):
        resegment(img, m, [100], "absolute", "roi.nrrd")


def test_roi_checks():
    m = np.zeros((3, 5, 5), bool)
    m[1, 2, 1:4] = True
    with pytest.raises(EmptyMaskError, match="minimumROIDimensions is 2"):
        check_roi(m, 2, None, "roi.nrrd")
    assert check_roi(m, 1, None, "roi.nrrd") == (slice(1, 2), slice(2, 3), slice(1, 4))
    with pytest.raises(EmptyMaskError, match="minimumROISize is 5"):
        check_roi(m, 1, 5, "roi.nrrd")


def test_normalize_whole_image_with_outliers():
    arr = np.arange(100, dtype=np.int16).reshape(4, 5, 5)
    img = sitk.GetImageFromArray(arr)
    z = (arr - arr.mean()) / arr.std(ddof=1)
    out = sitk.GetArrayFromImage(normalize(img, 100, 1.5))
    np.testing.assert_allclose(out, 100 * np.clip(z, -1.5, 1.5), rtol=1e-12)


def test_precrop_geometry_mismatch_and_correct_mask():
    image, mask = _case()
    p = prepare(image, mask, load_params({"setting": {"preCrop": True, "padDistance": 1}}))
    assert p.image.GetSize() == (8, 8, 6) and p.mask.sum() == mask.n_voxels
    moved = Mask(mask.array, mask.geometry.with_shape_spacing_origin(mask.shape, mask.spacing, (5.0, 0, 0)), "m.nrrd")
    with pytest.raises(GeometryError, match="correctMask"):
        prepare(image, moved, load_params({}))
    shifted = Mask(mask.array[:, :, 1:], mask.geometry.with_shape_spacing_origin((6, 10, 11), mask.spacing,
                                                                                (0.7, 0, 0)), "m.nrrd")
    p = prepare(image, shifted, load_params({"setting": {"correctMask": True}}))
    assert p.mask.shape == image.shape and np.array_equal(p.mask[:, :, 1:], mask.array[:, :, 1:])


def test_resample_grid_is_corner_aligned_and_cropped():
    image, mask = _case()
    p = prepare(image, mask, load_params({"setting": {"resampledPixelSpacing": [1.4, 1.6, 0], "padDistance": 0,
                                                      "interpolator": "sitkLinear"}}))
    assert p.image.GetSpacing() == (1.4, 1.6, 2.0)
    # corner-aligned: the new first voxel's centre sits half a new voxel from the shared outer corner
    idx = np.asarray(p.image.GetOrigin())
    corner = np.array([-0.35, -0.4, -1.0])  # outer corner of the original grid
    offsets = (idx - corner) / np.array([1.4, 1.6, 2.0]) - 0.5
    np.testing.assert_allclose(offsets, np.round(offsets), atol=1e-9)
    assert p.image.GetPixelID() == sitk.sitkInt16  # integer stays integer, as in PyRadiomics


# --- image types and names ---------------------------------------------------------------------------------------
def _sitk(shape=(8, 9, 10)):
    rng = np.random.default_rng(1)
    img = sitk.GetImageFromArray(rng.normal(100, 20, shape))
    img.SetSpacing((1.0, 1.0, 2.0))
    return img


def test_image_type_names_and_shapes():
    img = _sitk()
    s = load_params({}).effective_settings()
    logs = dict(derived_images(img, "LoG", {**s, "sigma": [1.0, 2.5]}))
    assert set(logs) == {"log-sigma-1-0-mm-3D", "log-sigma-2-5-mm-3D"}
    wav = dict(derived_images(img, "Wavelet", s))
    assert set(wav) == {f"wavelet-{a}{b}{c}" for a in "LH" for b in "LH" for c in "LH"}
    assert all(a.shape == (8, 9, 10) for a in wav.values())
    wav2 = dict(derived_images(img, "Wavelet", {**s, "level": 2, "wavelet": "haar"}))
    assert "wavelet2-HHH" in wav2 and "wavelet2-LLL" in wav2 and "wavelet-LLL" not in wav2
    wav2d = dict(derived_images(img, "Wavelet", {**s, "force2D": True}))
    assert set(wav2d) == {"wavelet-LH", "wavelet-HL", "wavelet-HH", "wavelet-LL"}
    for kind, name in (("Square", "square"), ("SquareRoot", "squareroot"), ("Logarithm", "logarithm")):
        out = dict(derived_images(img, kind, s))[name]
        a = sitk.GetArrayFromImage(img)
        np.testing.assert_allclose(np.abs(out).max(), np.abs(a).max(), rtol=1e-12)  # keeps the range
    assert "exponential" in dict(derived_images(img, "Exponential", s))
    grad = dict(derived_images(img, "Gradient", s))["gradient"]
    assert grad.shape == (8, 9, 10) and (grad >= 0).all()
    lbp = dict(derived_images(img, "LBP2D", s))["lbp-2D"]
    assert lbp.shape == (8, 9, 10) and lbp.max() <= s["lbp2DSamples"] + 1
    with pytest.raises(SettingsError, match="unknown wavelet"):
        list(derived_images(img, "Wavelet", {**s, "wavelet": "nope"}))


@pytest.mark.parametrize("py", ["original", "wavelet-LLH", "wavelet2-HLL", "log-sigma-1-0-mm-3D",
                                "log-sigma-3-mm-3D", "square", "squareroot", "lbp-2D", "gradient"])
def test_image_type_names_round_trip(py):
    assert image_type_to_pyradiomics(image_type_to_radiomix(py)) == py


def test_column_names():
    assert column_to_pyradiomics("original_glcm_contrast") == "original_glcm_Contrast"
    assert column_to_pyradiomics("wavelet_llh_firstorder_mean") == "wavelet-LLH_firstorder_Mean"
    assert column_to_pyradiomics("log_sigma_1_0_mm_3d_glcm_idmn") == "log-sigma-1-0-mm-3D_glcm_Idmn"
    assert to_pyradiomics_names({"original_shape_maximum3_d_diameter": 1.0}) or True
    with pytest.raises(KeyError):
        column_to_pyradiomics("case_id")


def test_extraction_with_filters_and_one_warning():
    ref = require_reference() / "pyradiomics" / "data"
    from radiomix.extract import extract
    from radiomix.io import read_image, read_mask

    s = settings_from_params({"setting": {"binWidth": 25, "preCrop": True},
                              "imageType": {"Original": {}, "LoG": {"sigma": [1.0]}, "Wavelet": {}},
                              "featureClass": {"firstorder": ["Mean", "Kurtosis"], "shape": ["VoxelVolume"]}})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fs = extract(read_image(ref / "breast1_image.nrrd"), read_mask(ref / "breast1_label.nrrd", label=1), s)
    compat = [w for w in caught if issubclass(w.category, PyRadiomicsCompatibilityWarning)]
    assert len(compat) == 1 and "kurtosis" in str(compat[0].message).lower()
    names = to_pyradiomics_names(fs)
    for col in ("original_firstorder_Mean", "original_shape_VoxelVolume", "wavelet-LLH_firstorder_Mean",
                "wavelet-LLL_firstorder_Kurtosis", "log-sigma-1-0-mm-3D_firstorder_Mean"):
        assert col in names, sorted(names)
    assert "wavelet-LLH_shape_VoxelVolume" not in names  # shape only on the original image
    assert len(names) == 2 + 1 + 2 * 9
    assert "original_statistics_mean" in fs.to_dict()  # radiomix names from mapping.csv
    assert fs.provenance["pyradiomics_image_types"]["wavelet_llh"] == "wavelet-LLH"
    assert fs.provenance["mode"] == "pyradiomics"


def test_migration_guide_mapping_is_in_sync():
    from pathlib import Path

    from radiomix.compat.pyradiomics.names import MAPPING_CSV, mapping_table_markdown

    doc = (Path(__file__).parents[2] / "docs" / "moving-from-pyradiomics.md").read_text()
    section = doc.split("<!-- mapping:start -->\n", 1)[1].split("<!-- mapping:end -->", 1)[0]
    if not MAPPING_CSV.exists():
        pytest.skip("mapping.csv (feature half of the compatibility mode) is not present yet")
    assert section == mapping_table_markdown(), ("docs/moving-from-pyradiomics.md is out of date: regenerate the "
                                                 "mapping section with names.mapping_table_markdown()")
