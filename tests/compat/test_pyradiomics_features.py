"""PyRadiomics-compatible feature classes against PyRadiomics' own baselines (shared/reference/pyradiomics).

For every baseline column whose settings need no resampling, normalisation or sigma re-segmentation (plain, 2d, FBN,
combined, flatRegion, shape2D columns of brain1, brain2 and breast1), this test does the minimal preprocessing itself
(read with SimpleITK, label 1, crop to the ROI box plus PyRadiomics' padDistance, flatRegion's one-threshold
``resegmentRange`` [0]) and compares every feature: relative error <= 1e-6, absolute 1e-9 near zero. One test per
case x column x feature. The lung images are held out of the reference data, so their columns are skipped.
The texture matrices ``<case>_<class>.npy`` must be reproduced exactly.
"""

from __future__ import annotations

import ast
import csv
from functools import cache

import numpy as np
import pytest

from radiomix.compat.pyradiomics import kernels as K
from radiomix.compat.pyradiomics.features import (
    CLASSES,
    angles,
    compute_class,
    feature_names,
    texture_matrix,
    with_defaults,
)
from radiomix.errors import EmptyMaskError, InputError, SettingsError
from radiomix.reference import reference_dir
from tests.conftest import require_reference

sitk = pytest.importorskip("SimpleITK")

CASES = ("brain1", "brain2", "breast1")
HELD_OUT = ("lung1", "lung2")
SLICE_2D = {"brain1": 16, "brain2": 8, "breast1": 9}  # the 2D label is this axial slice of the 3D label (README)
RTOL, ATOL = 1e-6, 1e-9
#: Current PyRadiomics (and this mesh) differ from the plain brain1 shape column, which PyRadiomics 2.0.1b1 wrote:
#: measured relative differences (the reference README measured the same for PyRadiomics 3.1 itself).
MESH_DRIFT = {"MeshVolume": 1.23e-4, "SurfaceArea": 7.91e-4, "SurfaceVolumeRatio": 9.14e-4, "Sphericity": 8.72e-4}


def _base():
    ref = reference_dir()
    return None if ref is None else ref / "pyradiomics" / "data"


@cache
def _table(cls: str) -> dict[str, dict[str, str]]:
    with (_base() / "baseline" / f"baseline_{cls}.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))
    head = rows[0][1:]
    return {r[0]: dict(zip(head, r[1:])) for r in rows[1:]}


def _needs_pipeline(s: dict) -> bool:
    rr = s.get("resegmentRange")
    return bool(s.get("resampledPixelSpacing") or s.get("normalize") or (rr and len(rr) != 1))


def _columns():
    """(cls, column) pairs testable without the pipeline, and the held-out ones."""
    if _base() is None:
        return [], []
    ok, held = [], []
    for cls in CLASSES:
        t = _table(cls)
        for col, case in t["diagnostics_Configuration_TestCase"].items():
            case = case.removesuffix("_2D")
            if case in HELD_OUT:
                held.append((cls, col))
            elif not _needs_pipeline(ast.literal_eval(t["diagnostics_Configuration_Settings"][col])):
                ok.append((cls, col))
    return ok, held


COLUMNS, HELD = _columns()


@cache
def _load(case: str):
    d = _base()
    img = sitk.ReadImage(str(d / f"{case}_image.nrrd"))
    lab = sitk.ReadImage(str(d / f"{case}_label.nrrd"), sitk.sitkUInt32)
    return img, lab


def _inputs(cls: str, col: str):
    """Image, mask, spacing and settings of one column, cropped as PyRadiomics crops (box + padDistance)."""
    t = _table(cls)
    s = ast.literal_eval(t["diagnostics_Configuration_Settings"][col])
    case2d = t["diagnostics_Configuration_TestCase"][col]
    case = case2d.removesuffix("_2D")
    img, lab = _load(case)
    image = sitk.GetArrayFromImage(img).astype(np.float64)
    labels = sitk.GetArrayFromImage(lab)
    if case2d.endswith("_2D"):
        k = SLICE_2D[case]
        lab = lab[:, :, k:k + 1]
        two_d = np.zeros_like(labels)
        two_d[k] = labels[k]
        labels = two_d
    assert sitk.Hash(lab) == t["diagnostics_Mask-original_Hash"][col], f"{case}: not the baseline's mask"
    mask = labels == s.get("label", 1)
    rr = s.get("resegmentRange")
    if rr and len(rr) == 1 and cls not in ("shape", "shape2D"):
        mask &= image >= rr[0]
    pad = s.get("padDistance", 5)
    idx = np.nonzero(mask)
    box = tuple(slice(max(int(i.min()) - pad, 0), int(i.max()) + 1 + pad) for i in idx)
    return image[box], mask[box], img.GetSpacing()[::-1], s


@cache
def _computed(cls: str, col: str) -> dict[str, float]:
    image, mask, spacing, s = _inputs(cls, col)
    return compute_class(cls, image, mask, spacing, s)


def _feature_params():
    out = []
    for cls, col in COLUMNS:
        for name in feature_names(cls):
            marks = ()
            if cls == "shape" and col == "brain1" and name in MESH_DRIFT:
                marks = pytest.mark.xfail(strict=True, reason=f"PyRadiomics 2.0.1b1 baseline mesh: measured relative "
                                                              f"difference {MESH_DRIFT[name]:.2e}")
            out.append(pytest.param(cls, col, name, id=f"{col}-{cls}-{name}", marks=marks))
    return out


@pytest.mark.parametrize(("cls", "col", "name"), _feature_params())
def test_feature_matches_pyradiomics_baseline(cls, col, name):
    require_reference()
    want = float(_table(cls)[f"original_{cls}_{name}"][col])
    got = _computed(cls, col)[name]
    assert got == pytest.approx(want, rel=RTOL, abs=ATOL), f"{col} {cls} {name}: {got!r} != baseline {want!r}"


def test_mesh_drift_is_the_measured_size():
    """The xfailed brain1 mesh features stay within 1% of the measured difference (a regression would move them)."""
    require_reference()
    if ("shape", "brain1") not in COLUMNS:
        pytest.skip("no brain1 shape column")
    got = _computed("shape", "brain1")
    for name, rel in MESH_DRIFT.items():
        want = float(_table("shape")[f"original_shape_{name}"]["brain1"])
        assert abs(got[name] / want - 1) == pytest.approx(rel, rel=0.01), name


def test_every_testable_column_is_covered():
    require_reference()
    cols = {c for _, c in COLUMNS}
    for case in CASES:
        for suffix in ("", "_2d", "_FBN", "_combined", "_flatRegion", "_shape2D"):
            assert f"{case}{suffix}" in cols
    assert ("shape", "brain1_resampling") not in COLUMNS  # the pipeline's test covers resampled columns


@pytest.mark.parametrize(("cls", "col"), HELD or [("none", "none")], ids=[f"{c}-{k}" for c, k in HELD] or ["none"])
def test_held_out_lung_columns(cls, col):
    pytest.skip(f"{col} ({cls}): the lung images are held out of the reference data")


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("cls", ("glcm", "glrlm", "glszm", "gldm", "ngtdm"))
def test_matrix_matches_pyradiomics(case, cls):
    require_reference()
    want = np.load(_base() / "baseline" / f"{case}_{cls}.npy")
    image, mask, spacing, s = _inputs(cls, case)
    got = texture_matrix(cls, image, mask, spacing, s)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


# ------------------------------------------------------------------------------------------------ behaviour and errors
def test_angles_in_pyradiomics_order():
    a = angles(with_defaults({}))
    assert a.tolist() == [[1, 1, 1], [1, 1, 0], [1, 1, -1], [1, 0, 1], [1, 0, 0], [1, 0, -1], [1, -1, 1], [1, -1, 0],
                          [1, -1, -1], [0, 1, 1], [0, 1, 0], [0, 1, -1], [0, 0, 1]]
    assert angles(with_defaults({"force2D": True})).tolist() == [[0, 1, 1], [0, 1, 0], [0, 1, -1], [0, 0, 1]]
    assert len(angles(with_defaults({"distances": [1, 2]}))) == (5 ** 3 - 1) // 2


def test_neighbour_kernel_matches_numpy_reference():
    rng = np.random.default_rng(3)
    lv = rng.integers(0, 5, size=(6, 7, 8)).astype(np.int32)
    nbrs = angles(with_defaults({}))
    nbrs = np.ascontiguousarray(np.concatenate([nbrs, -nbrs]))
    for alpha in (0, 1):
        for a, b in zip(K.neighbour_stats(lv, nbrs, alpha), K.neighbour_stats_reference(lv, nbrs, alpha)):
            np.testing.assert_array_equal(a, b)


def test_zones_match_scipy_labelling():
    from scipy import ndimage

    rng = np.random.default_rng(4)
    lv = rng.integers(0, 4, size=(5, 6, 7)).astype(np.int32)
    nbrs = angles(with_defaults({}))
    lev, size = K.zones(lv, np.ascontiguousarray(np.concatenate([nbrs, -nbrs])))
    want = []
    for g in range(1, 4):
        lab, _ = ndimage.label(lv == g, structure=np.ones((3, 3, 3)))
        want += [(g, int(c)) for c in np.bincount(lab.ravel())[1:]]
    assert sorted(zip(lev.tolist(), size.tolist())) == sorted(want)


def _blob():
    rng = np.random.default_rng(5)
    image = rng.normal(100, 20, size=(6, 12, 12))
    mask = np.zeros(image.shape, bool)
    mask[1:5, 2:10, 3:9] = True
    return image, mask


@pytest.mark.parametrize("cls", [c for c in CLASSES if c != "shape2D"])
def test_translation_and_crop_padding_do_not_change_features(cls):
    image, mask = _blob()
    a = compute_class(cls, image, mask, (2.0, 0.7, 0.7), {})
    b = compute_class(cls, np.pad(image, ((3, 1), (2, 4), (0, 5)), constant_values=7.0),
                      np.pad(mask, ((3, 1), (2, 4), (0, 5))), (2.0, 0.7, 0.7), {})
    assert a.keys() == b.keys()
    for k in a:
        assert b[k] == pytest.approx(a[k], rel=1e-12, abs=1e-12), k


def test_flat_roi_gives_documented_values():
    image, mask = _blob()
    image = np.full(image.shape, 42.0)
    glcm = compute_class("glcm", image, mask, (1, 1, 1), {})
    assert glcm["Correlation"] == 1 and glcm["Imc1"] == 0 and glcm["MCC"] == 1 and glcm["Contrast"] == 0
    fo = compute_class("firstorder", image, mask, (1, 1, 1), {})
    assert fo["Skewness"] == 0 and fo["Kurtosis"] == 0 and fo["Entropy"] == pytest.approx(0, abs=1e-12)
    ng = compute_class("ngtdm", image, mask, (1, 1, 1), {})
    assert ng["Coarseness"] == 1e6 and ng["Contrast"] == 0 and ng["Busyness"] == 0


def test_feature_selection_and_errors():
    image, mask = _blob()
    assert list(compute_class("glcm", image, mask, (1, 1, 1), {}, features=["Idmn"])) == ["Idmn"]
    with pytest.raises(SettingsError, match="unknown feature"):
        compute_class("glcm", image, mask, (1, 1, 1), {}, features=["Nope"])
    with pytest.raises(SettingsError, match="unknown PyRadiomics feature class"):
        compute_class("glcmx", image, mask, (1, 1, 1), {})
    with pytest.raises(SettingsError, match="binWidth"):
        compute_class("glcm", image, mask, (1, 1, 1), {"binWidth": 0})
    with pytest.raises(SettingsError, match="weightingNorm"):
        compute_class("glcm", image, mask, (1, 1, 1), {"weightingNorm": "cosine"})
    with pytest.raises(EmptyMaskError):
        compute_class("firstorder", image, np.zeros_like(mask), (1, 1, 1), {})
    with pytest.raises(InputError, match="shape"):
        compute_class("firstorder", image, mask[:-1], (1, 1, 1), {})
    with pytest.raises(InputError, match="force2D"):
        compute_class("shape2D", image, mask, (1, 1, 1), {})
    with pytest.raises(InputError, match="one voxel thick"):
        compute_class("shape2D", image, mask, (1, 1, 1), {"force2D": True})
    with pytest.raises(SettingsError, match="no texture matrix"):
        texture_matrix("shape", image, mask, (1, 1, 1), {})


def test_weighting_norms_give_one_combined_matrix():
    image, mask = _blob()
    for norm in ("manhattan", "euclidean", "infinity", "no_weighting"):
        p = texture_matrix("glcm", image, mask, (2.0, 0.7, 0.7), {"weightingNorm": norm})
        assert p.shape[2] == 1 and p.sum() == pytest.approx(1)
        assert np.isfinite(list(compute_class("glrlm", image, mask, (2.0, 0.7, 0.7),
                                              {"weightingNorm": norm}).values())).all()
