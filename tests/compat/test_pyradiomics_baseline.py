"""PyRadiomics baselines through the whole compatibility pipeline: column settings -> load_params -> Settings ->
radiomix.extract.extract -> to_pyradiomics_names, one test per case x column x feature (relative error <= 1e-6,
absolute 1e-9 near zero), plus the diagnostics rows that describe preprocessing (interpolated grid, ROI box, voxel
count, intensities) so a failure says whether preprocessing or the feature is wrong.

Columns of the lung cases are skipped: their images are held out of the reference data.
"""

from __future__ import annotations

import ast
import warnings

import numpy as np
import pandas as pd
import pytest

from radiomix.reference import reference_dir
from tests.conftest import require_reference

CLASSES = ("firstorder", "shape", "shape2D", "glcm", "glrlm", "glszm", "gldm", "ngtdm")
HELD_OUT = ("lung1", "lung2")
#: slice of the 3D label that is the (unshipped) 2D label of the shape2D columns (reference README)
SLICE_2D = {"brain1": 16, "brain2": 8, "breast1": 9}
#: the reference README measured this drift of PyRadiomics itself against its own plain brain1 shape column (written
#: by PyRadiomics 2.0.1b1 on a two-part ROI); current PyRadiomics reproduces every other value to 1e-12.
MESH_DRIFT = {("shape", "brain1", f"original_shape_{f}")
              for f in ("MeshVolume", "SurfaceArea", "Sphericity", "SurfaceVolumeRatio")}
RTOL, ATOL = 1e-6, 1e-9


def _tables() -> dict[str, pd.DataFrame]:
    ref = reference_dir()
    if ref is None:
        return {}
    base = ref / "pyradiomics" / "data" / "baseline"
    return {c: pd.read_csv(base / f"baseline_{c}.csv", index_col=0) for c in CLASSES
            if (base / f"baseline_{c}.csv").exists()}


TABLES = _tables()


def _case(cls: str, col: str) -> str:
    return TABLES[cls].loc["diagnostics_Configuration_TestCase", col].removesuffix("_2D")


def _params():
    feats, cols, held = [], [], []
    for cls, df in TABLES.items():
        for col in df.columns:
            if _case(cls, col) in HELD_OUT:
                held.append(pytest.param(cls, col, id=f"{cls}-{col}"))
                continue
            cols.append(pytest.param(cls, col, id=f"{cls}-{col}"))
            for row in df.index:
                if row.startswith("diagnostics_"):
                    continue
                marks = ()
                if (cls, col, row) in MESH_DRIFT:
                    marks = pytest.mark.xfail(strict=False, reason="PyRadiomics 2.0.1b1 mesh drift on brain1 "
                                              "(~1e-3, see reference README); current PyRadiomics differs too")
                feats.append(pytest.param(cls, col, row, id=f"{cls}-{col}-{row}", marks=marks))
    if not TABLES:  # no reference data: one test that skips (fails under CI) with the reason
        feats = [pytest.param(None, None, None, id="no-reference")]
        cols = [pytest.param(None, None, id="no-reference")]
    return feats, cols, held


FEATURE_PARAMS, COLUMN_PARAMS, HELD_PARAMS = _params()
_CACHE: dict = {}


def _inputs(ref, cls: str, col: str):
    import SimpleITK as sitk

    from radiomix.image import Mask
    from radiomix.io import read_image, read_mask
    from radiomix.io.itk import geometry_from_sitk

    case = _case(cls, col)
    d = ref / "pyradiomics" / "data"
    image = read_image(d / f"{case}_image.nrrd")
    if cls == "shape2D":
        lab = sitk.ReadImage(str(d / f"{case}_label.nrrd"), sitk.sitkUInt32)
        k = SLICE_2D[case]
        lab = lab[:, :, k:k + 1]
        mask = Mask.from_labels(sitk.GetArrayFromImage(lab), geometry_from_sitk(lab), 1, f"{case}_label_2D")
    else:
        mask = read_mask(d / f"{case}_label.nrrd", label=1)
    return image, mask


def _run(cls: str, col: str):
    if (cls, col) not in _CACHE:
        from radiomix.compat.pyradiomics import settings_from_params, to_pyradiomics_names
        from radiomix.extract import extract

        ref = require_reference()
        df = TABLES[cls]
        setting = ast.literal_eval(df.loc["diagnostics_Configuration_Settings", col])
        image_types = ast.literal_eval(df.loc["diagnostics_Configuration_EnabledImageTypes", col])
        settings = settings_from_params({"setting": setting, "imageType": image_types, "featureClass": {cls: None}})
        image, mask = _inputs(ref, cls, col)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fs = extract(image, mask, settings)
        _CACHE[(cls, col)] = (to_pyradiomics_names(fs), fs.provenance["pyradiomics_diagnostics"])
    return _CACHE[(cls, col)]


@pytest.mark.parametrize("cls, col, feature", FEATURE_PARAMS)
def test_feature_matches_baseline(cls, col, feature):
    if cls is None:
        require_reference()
    values, _ = _run(cls, col)
    expected = float(TABLES[cls].loc[feature, col])
    assert feature in values, f"{cls}/{col}: no value for {feature} (have {sorted(values)[:5]}...)"
    got = values[feature]
    assert np.isfinite(got), f"{cls}/{col}/{feature}: got {got}, baseline {expected}"
    err = abs(got - expected)
    assert err <= ATOL or err <= RTOL * abs(expected), \
        f"{cls}/{col}/{feature}: got {got!r}, baseline {expected!r}, relative error {err / max(abs(expected), 1e-300):.3g}"


def _parse(text):
    v = ast.literal_eval(text) if isinstance(text, str) else text
    return np.atleast_1d(np.asarray(v, dtype=float))


@pytest.mark.parametrize("cls, col", COLUMN_PARAMS)
def test_preprocessing_diagnostics_match(cls, col):
    """Interpolated grid, ROI box, voxel count and intensities of every baseline column that lists them."""
    if cls is None:
        require_reference()
    _, diag = _run(cls, col)
    df = TABLES[cls]
    checked = 0
    for stage in ("Image-original", "Mask-original", "Image-interpolated", "Mask-interpolated"):
        for key in ("Size", "Spacing", "BoundingBox", "VoxelNum", "VolumeNum", "Mean", "Minimum", "Maximum",
                    "CenterOfMassIndex", "CenterOfMass"):
            row = f"diagnostics_{stage}_{key}"
            if row not in df.index or pd.isna(df.loc[row, col]):
                continue
            assert stage in diag and key in diag[stage], f"{cls}/{col}: diagnostics lack {stage}_{key}"
            got, want = np.atleast_1d(np.asarray(diag[stage][key], float)), _parse(df.loc[row, col])
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=f"{cls}/{col}: {row}")
            checked += 1
    assert checked > 0, f"{cls}/{col}: no diagnostics row compared"


@pytest.mark.parametrize("cls, col", HELD_PARAMS)
def test_held_out_columns(cls, col):
    pytest.skip(f"{cls}/{col}: the {_case(cls, col)} image is held out of the reference data (only its label is "
                "stored), so this baseline column cannot be recomputed")


def test_every_local_column_is_covered():
    """Every column whose case image is present is parametrised (brain1, brain2, breast1 with all variants)."""
    ref = require_reference()
    present = {p.name.removesuffix("_image.nrrd") for p in (ref / "pyradiomics" / "data").glob("*_image.nrrd")}
    covered = {(p.values[0], p.values[1]) for p in COLUMN_PARAMS}
    for cls, df in TABLES.items():
        for col in df.columns:
            if _case(cls, col) in present:
                assert (cls, col) in covered
    assert {"brain1", "brain2", "breast1"} <= present
    assert len(covered) >= 100
