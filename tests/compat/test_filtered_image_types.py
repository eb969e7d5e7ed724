"""Filtered image types of radiomix's PyRadiomics mode against PyRadiomics 3.1.4 itself (regression data).

``tests/compat/data/pyradiomics_3.1.4_brain1_filtered.csv`` holds the feature values PyRadiomics 3.1.4 computed on
brain1 with every image type enabled (written by ``benchmarks/crosscheck_pyradiomics.py --freeze``, which runs
PyRadiomics in its own virtualenv; the parameters below are the ones it used). One test per image type x feature:
radiomix must reproduce each value to a relative error of 1e-6 (absolute 1e-9 near zero).

LBP3D order statistics are the one documented exception (docs/moving-from-pyradiomics.md, "Filtered images:
cross-check against PyRadiomics 3.1.4"): rotated copies of one neighbour pattern give mathematically equal LBP3D
values that differ in the last bits, so which voxels fall inside a percentile band depends on rounding.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import require_reference

DATA = Path(__file__).parent / "data" / "pyradiomics_3.1.4_brain1_filtered.csv"
RTOL, ATOL = 1e-6, 1e-9
#: the parameters the regression data was computed with (benchmarks/crosscheck_pyradiomics.py, config "plain")
PARAMS = {
    "setting": {"binWidth": 25, "label": 1},
    "imageType": {"Original": {}, "LoG": {"sigma": [1.0, 3.0]}, "Wavelet": {}, "Square": {}, "SquareRoot": {},
                  "Logarithm": {}, "Exponential": {}, "Gradient": {}, "LBP2D": {"binWidth": 1.0},
                  "LBP3D": {"binWidth": 1.0}},
    "featureClass": {c: None for c in ("firstorder", "shape", "glcm", "glrlm", "glszm", "gldm", "ngtdm")},
}
#: (image type, feature) -> relative tolerance, for values PyRadiomics itself gets from floating-point rounding
ROUNDING_SENSITIVE = {
    ("lbp-3D-m2", "firstorder_RobustMeanAbsoluteDeviation"): 1e-2,
}


def _rows():
    if not DATA.exists():
        return [pytest.param(None, None, None, id="no-data")]
    df = pd.read_csv(DATA)
    return [pytest.param(r.image_type, r.feature, float(r.value), id=f"{r.image_type}-{r.feature}")
            for r in df.itertuples()]


_CACHE: dict = {}


def _radiomix_values() -> dict[str, float]:
    if "values" not in _CACHE:
        from radiomix.compat.pyradiomics import settings_from_params, to_pyradiomics_names
        from radiomix.extract import extract
        from radiomix.io import read_image, read_mask

        ref = require_reference()
        d = ref / "pyradiomics" / "data"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fs = extract(read_image(d / "brain1_image.nrrd"), read_mask(d / "brain1_label.nrrd", label=1),
                         settings_from_params(PARAMS))
        _CACHE["values"] = to_pyradiomics_names(fs)
    return _CACHE["values"]


@pytest.mark.parametrize("image_type, feature, expected", _rows())
def test_matches_pyradiomics(image_type, feature, expected):
    assert image_type is not None, f"{DATA} is missing: run benchmarks/crosscheck_pyradiomics.py --freeze"
    values = _radiomix_values()
    name = f"{image_type}_{feature}"
    assert name in values, f"radiomix computed no {name}"
    got = values[name]
    if math.isnan(expected):
        assert math.isnan(got), f"{name}: PyRadiomics gives NaN, radiomix {got!r}"
        return
    rtol = ROUNDING_SENSITIVE.get((image_type, feature), RTOL)
    err = abs(got - expected)
    assert err <= ATOL or err <= rtol * abs(expected), \
        f"{name}: radiomix {got!r}, PyRadiomics 3.1.4 {expected!r}, relative error {err / abs(expected):.3g}"


def test_every_image_type_is_covered():
    """The regression data has every image type PyRadiomics offers, LBP3D included, and radiomix computes no
    feature that PyRadiomics does not."""
    df = pd.read_csv(DATA)
    types = set(df.image_type)
    assert {"original", "log-sigma-1-0-mm-3D", "log-sigma-3-0-mm-3D", "wavelet-LLH", "wavelet-LLL", "square",
            "squareroot", "logarithm", "exponential", "gradient", "lbp-2D", "lbp-3D-m1", "lbp-3D-m2",
            "lbp-3D-k"} <= types
    expected = {f"{r.image_type}_{r.feature}" for r in df.itertuples()}
    assert set(_radiomix_values()) == expected


def test_icosphere_vertices():
    """12, 42, 162 vertices on the sphere of the requested radius; the 12 icosahedron vertices are kept."""
    import numpy as np

    from radiomix.compat.pyradiomics.image_types import icosphere

    for sub, n in ((0, 12), (1, 42), (2, 162)):
        v = icosphere(sub, 1.5)
        assert v.shape == (n, 3)
        np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.5, rtol=1e-12)
        assert len(np.unique(np.round(v, 9), axis=0)) == n
    np.testing.assert_allclose(icosphere(2, 1.0)[:12], icosphere(0, 1.0))


def test_lbp3d_on_a_flat_image_and_outside_the_roi():
    """On a constant image every neighbour ties with the centre (all ones): m1 is the norm of the degree-0 part,
    N * Y00^2 * sqrt(N) = N^1.5 / (4 pi); outside the ROI the LBP3D images are 0; a missing mask is an error."""
    import numpy as np
    import SimpleITK as sitk

    from radiomix.compat.pyradiomics.image_types import derived_images
    from radiomix.errors import SettingsError

    img = sitk.GetImageFromArray(np.full((7, 7, 7), 5.0))
    mask = np.zeros((7, 7, 7), bool)
    mask[3, 3, 3] = True
    out = dict(derived_images(img, "LBP3D", {"lbp3DLevels": 2}, mask=mask))
    assert set(out) == {"lbp-3D-m1", "lbp-3D-m2", "lbp-3D-k"}
    np.testing.assert_allclose(out["lbp-3D-m1"][3, 3, 3], 42 ** 1.5 / (4 * np.pi), rtol=1e-12)
    assert all(np.count_nonzero(a[~mask]) == 0 for a in out.values())
    with pytest.raises(SettingsError, match="mask"):
        list(derived_images(img, "LBP3D", {}))
