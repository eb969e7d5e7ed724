import csv

import numpy as np
import pytest

from radiomix.errors import EmptyMaskError, GeometryError, InputError
from radiomix.image import Geometry, Image, Mask
from radiomix.preprocess import prepare, roi_data
from radiomix.preprocess.pipeline import margin_voxels
from radiomix.preprocess.resample import resample_box, resample_mask_box, target_grid
from radiomix.reference import reference_dir
from radiomix.settings import Discretisation, Resampling, Resegmentation, Settings, preset

FBN = Discretisation(method="fixed_bin_number", bin_number=8)


def _case(shape=(24, 60, 64), spacing=(2.5, 0.9, 0.9), seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 100, size=shape).round()
    m = np.zeros(shape, bool)
    m[8:13, 15:24, 18:27] = True
    m[10, 24, 22] = True
    img = Image.from_array(a, spacing=spacing, origin=(1.0, -2.0, 3.0), source="img.nii.gz")
    return img, Mask.from_array(m, spacing=spacing, origin=(1.0, -2.0, 3.0), source="roi.nii.gz")


def _settings(interp="linear", spacing=(1.3, 1.3, 1.7), **kw):
    return Settings(resampling=Resampling(spacing_mm=spacing, interpolator=interp, round_intensities=True),
                    discretisation=FBN, **kw)


@pytest.mark.parametrize("interp", ["nearest", "linear", "cubic"])
def test_crop_equals_full_resampling(interp):
    img, mask = _case()
    s = _settings(interp)
    p = prepare(img, mask, s)
    grid = target_grid(img.geometry, s.resampling.spacing_mm)
    assert p.grid.shape == grid.shape
    full_box = tuple(slice(0, n) for n in grid.shape)
    order = {"nearest": 0, "linear": 1, "cubic": 3}[interp]
    full = resample_box(img.array, grid, full_box, order, round_output=True)
    full_mask = resample_mask_box(mask.array, grid, full_box, 1, 0.5)
    assert np.array_equal(p.image.array, full[p.box])
    assert np.array_equal(p.mask_morph.array, full_mask[p.box])
    assert full_mask.sum() == p.mask_morph.array.sum()  # the crop holds the whole ROI
    # the crop keeps at least the margin around the ROI, and the crop's geometry sits where the box is
    idx = np.argwhere(p.mask_morph.array)
    margin = margin_voxels(grid.geometry.spacing, s)
    assert np.all(idx.min(0) >= margin) and np.all(np.array(p.image.shape) - 1 - idx.max(0) >= margin)
    np.testing.assert_allclose(p.image.geometry.origin,
                               grid.geometry.index_to_physical([b.start for b in p.box]))
    assert p.image.array.size < full.size / 4


def test_margin_mm_widens_the_crop_and_is_clipped_to_the_grid():
    img, mask = _case()
    s = _settings()
    a = prepare(img, mask, s)
    b = prepare(img, mask, s, margin_mm=5.0)
    assert all(sb >= sa for sa, sb in zip(a.image.shape, b.image.shape)) and b.image.shape != a.image.shape
    c = prepare(img, mask, s, margin_mm=1000.0)
    assert c.image.shape == c.grid.shape


def test_no_resampling_is_a_plain_crop():
    img, mask = _case()
    s = Settings(discretisation=FBN)
    p = prepare(img, mask, s)
    assert p.grid.shape == img.shape
    assert np.array_equal(p.image.array, img.array[p.box])
    assert np.array_equal(p.mask_morph.array, mask.array[p.box])


def test_morph_mask_not_resegmented_int_mask_is():
    img, mask = _case()
    s = _settings(resegmentation=Resegmentation(range=(-50, 80)))
    p = prepare(img, mask, s)
    vals = p.image.array[p.mask_morph.array]
    assert (vals < -50).any() and (vals > 80).any()
    assert np.array_equal(p.mask_int.array, p.mask_morph.array & (p.image.array >= -50) & (p.image.array <= 80))
    d = p.diagnostics
    assert d["morph_mask_vox_count_reseg_roi"] == d["morph_mask_vox_count_interp_roi"] > d["int_mask_vox_count_reseg_roi"]
    assert d["int_mask_min_int_reseg_roi"] >= -50 and d["int_mask_max_int_reseg_roi"] <= 80


def test_diagnostic_keys():
    img, mask = _case()
    full = prepare(img, mask, _settings(), diagnostics="full").diagnostics
    roi = prepare(img, mask, _settings(), diagnostics="roi").diagnostics
    assert len(full) == 60
    assert set(full) - set(roi) == {f"{s}_int_{st}_img" for s in ("mean", "min", "max") for st in ("init", "interp")}
    assert all(roi[k] == full[k] for k in roi)
    assert full["img_dim_x_init_img"] == 64 and full["vox_dim_z_init_img"] == 2.5
    assert full["vox_dim_z_interp_img"] == 1.7 and full["img_dim_z_interp_img"] == 36  # ceil(24 * 2.5 / 1.7)
    assert full["int_mask_vox_count_init_roi"] == mask.n_voxels
    assert full["int_mask_bb_dim_x_init_roi"] == 9 and full["int_mask_bb_dim_y_init_roi"] == 10
    assert full["min_int_init_img"] == img.array.min() and full["mean_int_init_img"] == pytest.approx(img.array.mean())
    ref = reference_dir()
    if ref is not None:
        with open(ref / "ibsi" / "ibsi1" / "reference_values.csv", newline="", encoding="utf-8") as f:
            tags = {r["sheet_tag"] for r in csv.DictReader(f) if r["family"].startswith("Diagnostics")}
        assert tags == set(full)


def test_full_diagnostics_in_slabs_equal_one_piece(monkeypatch):
    import radiomix.preprocess.pipeline as pl

    img, mask = _case()
    one = prepare(img, mask, _settings("cubic"), diagnostics="full").diagnostics
    monkeypatch.setattr(pl, "SLAB_VOXELS", 20_000)  # about 10 slices per slab
    many = prepare(img, mask, _settings("cubic"), diagnostics="full").diagnostics
    for k in ("mean_int_interp_img", "min_int_interp_img", "max_int_interp_img", "mean_int_init_img"):
        assert many[k] == pytest.approx(one[k], rel=1e-12)


def test_2d_resamples_in_plane_only():
    img, mask = _case()
    s = Settings(dimensions="2d", discretisation=FBN,
                 resampling=Resampling(spacing_mm=(2.0, 2.0, None), interpolator="linear"))
    p = prepare(img, mask, s)
    assert p.grid.shape[0] == img.shape[0] and p.image.spacing == (2.5, 2.0, 2.0)
    s3 = s.replace(resampling=Resampling(spacing_mm=(2.0, 2.0, 1.0), interpolator="linear"))
    with pytest.warns(UserWarning, match="in-plane only"):
        p3 = prepare(img, mask, s3)
    assert p3.grid.shape == p.grid.shape


# --- errors -----------------------------------------------------------------------------------------------------------
def test_nan_image_names_file():
    img, mask = _case()
    a = img.array.copy()
    a[3, 4, 5] = np.nan
    with pytest.raises(InputError, match=r"img\.nii\.gz.*NaN"):
        prepare(img.with_array(a), mask, _settings())


def test_geometry_mismatch_names_both_files():
    img, mask = _case()
    other = Mask(mask.array, Geometry(mask.shape, (2.5, 0.9, 1.0), mask.geometry.origin), "roi.nii.gz")
    with pytest.raises(GeometryError, match=r"roi\.nii\.gz.*img\.nii\.gz.*spacing"):
        prepare(img, other, _settings())


def test_empty_mask():
    img, mask = _case()
    with pytest.raises(EmptyMaskError, match=r"roi\.nii\.gz"):
        prepare(img, Mask(np.zeros(mask.shape, bool), mask.geometry, "roi.nii.gz"), _settings())


def test_mask_lost_in_resampling():
    img, mask = _case()
    m = np.zeros(mask.shape, bool)
    m[10, 20, 20] = True
    s = Settings(discretisation=FBN, resampling=Resampling(spacing_mm=(4.5, 4.5, 7.0), interpolator="linear",
                                                             mask_threshold=0.9))
    with pytest.raises(EmptyMaskError, match=r"roi\.nii\.gz.*after resampling"):
        prepare(img, Mask(m, mask.geometry, "roi.nii.gz"), s)


def test_nothing_left_after_resegmentation():
    img, mask = _case()
    with pytest.raises(EmptyMaskError, match=r"roi\.nii\.gz.*re-segmentation"):
        prepare(img, mask, _settings(resegmentation=Resegmentation(range=(5000, 6000))))


def test_single_slice_where_3d_is_needed():
    img2 = Image.from_array(np.arange(100.0).reshape(10, 10), spacing=(1.0, 1.0), source="slice.png")
    m2 = Mask.from_array(np.ones((10, 10)), source="slice_roi.png")
    with pytest.raises(InputError, match=r"slice\.png: a 2D image \(one slice\) where 3D is needed.*morphology"):
        prepare(img2, m2, Settings(discretisation=FBN))
    s = Settings(discretisation=FBN, families=("statistics",),
                 resampling=Resampling(spacing_mm=(0.5, 0.5, 0.5), interpolator="linear"))
    with pytest.raises(InputError, match="where 3D is needed.*slice spacing"):
        prepare(img2, m2, s)
    # fine: in-plane resampling of one slice without morphology, or 2D processing
    prepare(img2, m2, s.replace(resampling=Resampling(spacing_mm=(0.5, 0.5, None), interpolator="linear")))
    prepare(img2, m2, Settings(discretisation=FBN, dimensions="2d"))


def test_bad_diagnostics_value():
    img, mask = _case()
    with pytest.raises(InputError, match="diagnostics"):
        prepare(img, mask, _settings(), diagnostics="all")


# --- roi_data ---------------------------------------------------------------------------------------------------------
def test_roi_data_filtered_image_uses_roi_minimum_for_fbs():
    img, mask = _case()
    s = Settings(discretisation=Discretisation(method="fixed_bin_size", bin_width=25),
                 resegmentation=Resegmentation(range=(-500, 400)))
    p = prepare(img, mask, s)
    r = roi_data(p, s)
    vals = p.image.array[p.mask_int.array]
    assert np.array_equal(r.levels[p.mask_int.array], np.floor((vals + 500) / 25).astype(int) + 1)
    filt = p.image.array / 100.0 - 20
    rf = roi_data(p, s, image_array=filt, image_type="log_sigma_1mm")
    fv = filt[p.mask_int.array]
    assert rf.level_values.min() == 1
    assert np.array_equal(rf.level_values, np.floor((fv - fv.min()) / 25 + 1e-9).astype(int) + 1)
    with pytest.raises(InputError, match="shape"):
        roi_data(p, s, image_array=filt[1:])


# --- IBSI CT phantom (quick checks; every diagnostic row is in tests/test_ibsi_reference.py) ---------------------------
def test_ct_phantom_config_c_crop_equals_full(ct_phantom):
    img, mask = ct_phantom
    s = preset("ibsi_config_c")
    p = prepare(img, mask, s)
    assert p.grid.shape == (90, 99, 100)
    grid = target_grid(img.geometry, s.resampling.spacing_mm)
    full = resample_box(img.array, grid, tuple(slice(0, n) for n in grid.shape), 1, round_input=True,
                        round_output=True)
    assert np.array_equal(p.image.array, full[p.box])
    d = p.diagnostics
    assert (d["int_mask_bb_dim_x_interp_roi"], d["int_mask_bb_dim_y_interp_roi"], d["int_mask_bb_dim_z_interp_roi"]) \
        == (49, 49, 40)
    assert abs(d["int_mask_vox_count_interp_roi"] - 45985) <= 100
    assert d["int_mask_min_int_reseg_roi"] == pytest.approx(-939, abs=4)


def test_cropped_case_is_a_view_of_the_roi_plus_margin_with_its_own_geometry():
    rng = np.random.default_rng(2)
    arr = rng.normal(size=(12, 30, 28))
    m = np.zeros(arr.shape, bool)
    m[4:7, 10:15, 9:13] = True
    g = Geometry(arr.shape, (2.0, 0.8, 0.8), origin=(5.0, -3.0, 10.0))
    s = Settings(discretisation=Discretisation(method="fixed_bin_number", bin_number=8))
    p = prepare(Image(arr, g), Mask(m, g), s, margin_mm=8.0)
    c = p.cropped((1, 2, 3))
    assert c.image.shape == (3 + 2, 5 + 4, 4 + 6)
    assert np.shares_memory(c.image.array, p.image.array)
    np.testing.assert_array_equal(c.mask_int.array.sum(), m.sum())
    # the crop's own geometry: its first voxel sits where it sits in the full grid
    first = tuple(sl.start for sl in c.box)
    np.testing.assert_allclose(c.image.geometry.index_to_physical([0, 0, 0]), g.index_to_physical(list(first)))
    np.testing.assert_array_equal(c.image.array, arr[tuple(c.box)])
    assert p.cropped((50, 50, 50)) is p  # a margin beyond the crop is the crop itself


def test_filters_on_their_own_margin_give_the_same_features(monkeypatch):
    """Compact filters (LoG, wavelets, mean, Laws) run on the ROI plus their own margin, not on the crop with the
    largest margin of the bank: the features are the same (bit for bit here; the local intensity peak, whose sphere
    sums run over the crop, may differ in the last bits)."""
    from radiomix.extract import extract
    from radiomix.filters.spec import FilterSpec

    rng = np.random.default_rng(5)
    arr = rng.normal(100, 20, size=(16, 40, 40)).round()
    m = np.zeros(arr.shape, bool)
    m[6:10, 15:24, 14:22] = rng.random((4, 9, 8)) < 0.8
    g = Geometry(arr.shape, (2.0, 1.0, 1.0))
    specs = (FilterSpec(kind="log", sigma_mm=1.0), FilterSpec(kind="log", sigma_mm=3.0),
             FilterSpec(kind="wavelet", wavelet="coif1", subband="LLH", level=1),
             FilterSpec(kind="wavelet", wavelet="db2", subband="HHL", level=2),
             FilterSpec(kind="mean", support=5), FilterSpec(kind="log", sigma_mm=1.0, boundary="periodic"))
    s = Settings(discretisation=Discretisation(method="fixed_bin_number", bin_number=16), families=(),
                 filters=specs, filter_families=("statistics", "glcm", "ngtdm", "local_intensity"))
    own = extract(Image(arr, g), Mask(m, g), s).to_dict()
    monkeypatch.setattr("radiomix.filters.spec.local_support", lambda spec: False)
    whole = extract(Image(arr, g), Mask(m, g), s).to_dict()
    assert own.keys() == whole.keys()
    for k in own:
        rel = 1e-12 if "local_intensity" in k else 0.0
        assert own[k] == pytest.approx(whole[k], rel=rel, abs=1e-12 if rel else 0.0), k
