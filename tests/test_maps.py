"""Voxel-wise feature maps: each map value equals extract() on that voxel's kernel as a tiny ROI."""

from __future__ import annotations

import gzip
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from typer.testing import CliRunner

from radiomix.errors import SettingsError
from radiomix.extract import extract
from radiomix.features import glcm, statistics
from radiomix.image import Image, Mask
from radiomix.kernels.texture_common import DIRECTIONS_3D
from radiomix.maps import feature_maps
from radiomix.settings import Discretisation, Settings, Texture

SETTINGS = Settings(name="maps", discretisation=Discretisation(method="none"), families=("statistics", "glcm"),
                    texture=Texture(aggregations=("3d_averaged", "3d_merged")))
#: GLCM features normalised by Ng, which the maps take from the whole ROI (a tiny ROI has its own Ng)
NG_NORMALISED = {"normalised_inverse_difference", "normalised_inverse_difference_moment"}


def _case(seed=0, shape=(9, 11, 10), levels=6):
    rng = np.random.default_rng(seed)
    arr = rng.integers(1, levels + 1, size=shape).astype(np.float32)
    m = np.zeros(shape, bool)
    m[1:-1, 2:-1, 1:-2] = rng.random((shape[0] - 2, shape[1] - 3, shape[2] - 3)) < 0.8
    sp = (2.0, 0.8, 0.7)
    return Image.from_array(arr, spacing=sp, origin=(5.0, -3.0, 1.0)), Mask.from_array(m.astype(np.uint8), spacing=sp,
                                                                                        origin=(5.0, -3.0, 1.0))


def _kernel_roi(mask: Mask, v, r) -> Mask:
    k = np.zeros(mask.shape, bool)
    k[tuple(slice(max(c - r, 0), c + r + 1) for c in v)] = True
    return Mask(k & mask.array, mask.geometry, "kernel", None)


@pytest.mark.parametrize("radius", [1, 2])
def test_map_equals_extract_on_the_kernel(radius):
    img, mask = _case(radius)
    maps = feature_maps(img, mask, SETTINGS, radius)
    box = mask.bounding_box()
    lo = np.array([s.start for s in box])
    vox = np.argwhere(mask.array)
    rng = np.random.default_rng(1)
    picks = [vox[0], vox[-1], *vox[rng.choice(len(vox), 6, replace=False)]]
    for v in picks:
        tiny = _kernel_roi(mask, v, radius)
        fs = extract(img, tiny, SETTINGS)
        at = tuple(v - lo)
        for f in statistics.FEATURES:
            exp = fs.get("statistics", f.name)
            np.testing.assert_allclose(maps[f"statistics_{f.name}"].array[at], exp, rtol=1e-5, atol=1e-6,
                                       err_msg=f"statistics {f.name} at {tuple(v)}")
        for agg in ("3d_averaged", "3d_merged"):
            for f in glcm.FEATURES:
                if f.name in NG_NORMALISED:
                    continue
                exp = fs.get("glcm", f.name, agg)
                np.testing.assert_allclose(maps[f"glcm_{f.name}_{agg}"].array[at], exp, rtol=1e-5, atol=1e-6,
                                           err_msg=f"glcm {f.name} {agg} at {tuple(v)}")


def test_glcm_map_equals_family_evaluate_with_roi_ng():
    """All 25 GLCM features (Ng-normalised ones too) against the family's evaluate() on the kernel's counts."""
    img, mask = _case(3)
    maps = feature_maps(img, mask, SETTINGS, 1, ["glcm"])
    assert all(k.startswith("glcm_") for k in maps) and len(maps) == 50
    n_g = int(img.array[mask.array].max())
    lo = np.array([s.start for s in mask.bounding_box()])
    for v in np.argwhere(mask.array)[::17]:
        k = _kernel_roi(mask, v, 1).array
        lv = np.where(k, img.array, 0).astype(np.int32)
        counts = glcm.count_matrices(lv, DIRECTIONS_3D, n_g)[0]
        rows = [x for x in (glcm.evaluate(c) for c in counts) if x is not None]
        with np.errstate(all="ignore"):
            avg = np.nanmean(np.array(rows), axis=0) if rows else np.full(25, np.nan)
        merged = glcm.evaluate(counts.sum(0))
        merged = np.full(25, np.nan) if merged is None else merged
        at = tuple(v - lo)
        got_avg = [maps[f"glcm_{f.name}_3d_averaged"].array[at] for f in glcm.FEATURES]
        got_mrg = [maps[f"glcm_{f.name}_3d_merged"].array[at] for f in glcm.FEATURES]
        np.testing.assert_allclose(got_avg, avg, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got_mrg, merged, rtol=1e-5, atol=1e-6)


def test_outside_roi_is_nan_and_geometry_places_the_box():
    img, mask = _case(4)
    maps = feature_maps(img, mask, SETTINGS, 1, ["statistics_mean"])
    assert list(maps) == ["statistics_mean"]
    m = maps["statistics_mean"]
    box = mask.bounding_box()
    inside = mask.array[box]
    assert m.shape == inside.shape
    assert np.isnan(m.array[~inside]).all() and np.isfinite(m.array[inside]).all()
    np.testing.assert_allclose(m.geometry.origin, img.geometry.index_to_physical([s.start for s in box]))
    assert m.spacing == img.spacing


def test_batches_give_the_same_maps_and_memory_is_bounded():
    rng = np.random.default_rng(5)
    shape = (24, 40, 40)
    arr = rng.integers(1, 9, size=shape).astype(np.float32)
    img = Image.from_array(arr)
    mask = Mask.from_array(np.ones(shape, np.uint8))
    one = feature_maps(img, mask, SETTINGS, 1, ["glcm_contrast_3d_averaged", "statistics"], batch_voxels=1000)
    tracemalloc.start()
    full = feature_maps(img, mask, SETTINGS, 1, ["glcm_contrast_3d_averaged", "statistics"], batch_voxels=4096)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    for k in one:
        np.testing.assert_array_equal(one[k].array, full[k].array)
    out_bytes = sum(m.array.nbytes for m in full.values())
    # outputs + preprocessing copies of the volume (a few float64 arrays) + batch buffers (4096 x 50 float64)
    assert peak < out_bytes + 12 * arr.size * 8 + 4096 * 50 * 8 * 3, (peak, out_bytes)


def test_errors_name_the_problem():
    img, mask = _case(6)
    with pytest.raises(SettingsError, match="kernel_radius"):
        feature_maps(img, mask, SETTINGS, 0)
    with pytest.raises(SettingsError, match="no voxel-wise map for"):
        feature_maps(img, mask, SETTINGS, 1, ["glrlm"])
    with pytest.raises(SettingsError, match="3D only"):
        feature_maps(img, mask, SETTINGS.replace(dimensions="2d"), 1)


def test_cli_map_writes_one_nifti_per_feature(tmp_path):
    from radiomix.cli import app
    from radiomix.io import read_image, write_image, write_mask

    img, mask = _case(7)
    write_image(img, tmp_path / "img.nii.gz")
    write_mask(mask, tmp_path / "mask.nii.gz")
    SETTINGS.to_yaml(tmp_path / "s.yaml")
    res = CliRunner().invoke(app, ["map", str(tmp_path / "img.nii.gz"), str(tmp_path / "mask.nii.gz"), "--settings",
                                   str(tmp_path / "s.yaml"), "--kernel-radius", "1", "--families", "statistics",
                                   "--out", str(tmp_path / "maps")])
    assert res.exit_code == 0, res.output
    files = sorted(p.name for p in (tmp_path / "maps").glob("*.nii.gz"))
    assert len(files) == len(statistics.FEATURES) and "statistics_mean.nii.gz" in files
    back = read_image(tmp_path / "maps" / "statistics_mean.nii.gz")
    ref = feature_maps(img, mask, SETTINGS, 1, ["statistics_mean"])["statistics_mean"]
    # the file holds NaN outside the ROI; ITK's NIfTI reader shows NaN as 0
    np.testing.assert_allclose(back.array, np.nan_to_num(ref.array))
    raw = np.frombuffer(gzip.decompress((tmp_path / "maps" / "statistics_mean.nii.gz").read_bytes())[352:], "<f4")
    np.testing.assert_array_equal(np.isnan(raw), np.isnan(ref.array).ravel())
    np.testing.assert_allclose(back.geometry.origin, ref.geometry.origin, atol=1e-6)
    bad = subprocess.run([sys.executable, "-m", "radiomix.cli", "map", str(tmp_path / "img.nii.gz"),
                          str(tmp_path / "mask.nii.gz"), "--settings", str(tmp_path / "s.yaml"), "--kernel-radius",
                          "1", "--families", "glszm", "--out", str(tmp_path / "m2")],
                         check=False, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "no voxel-wise map for" in bad.stderr
