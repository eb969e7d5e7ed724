"""Bounding boxes and click-and-grow (region growing)."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.errors import EmptyMaskError, InputError
from radiomix.image import Image, Mask
from radiomix.segment import box_mask, dice, mask_box, parse_point, region_grow

SP = (2.5, 0.8, 1.2)  # (z, y, x) mm
ORIGIN = (-10.0, 20.0, 5.0)  # (x, y, z) mm


def _image(shape=(10, 30, 25), values=None):
    a = np.zeros(shape, np.float32) if values is None else values
    return Image.from_array(a, spacing=SP, origin=ORIGIN, source="img")


def test_box_from_physical_corners_selects_voxel_centres_inside():
    img = _image()
    # x from -10 + 1.2*3 to -10 + 1.2*7 (+0.1 inside), y 20 + 0.8*[2, 9], z 5 + 2.5*[1, 4]
    c1 = (-10 + 1.2 * 7 + 0.1, 20 + 0.8 * 2, 5 + 2.5 * 4 + 1.0)
    c2 = (-10 + 1.2 * 3, 20 + 0.8 * 9 + 0.3, 5 + 2.5 * 1 - 0.5)
    m = box_mask(img, c1, c2)
    assert m.bounding_box() == (slice(1, 5), slice(2, 10), slice(3, 8))
    assert m.n_voxels == 4 * 8 * 5
    assert m.geometry is img.geometry


def test_box_from_voxel_corners_inclusive_xyz_order():
    m = box_mask(_image(), (3, 2, 1), (7, 9, 4), voxel=True)
    assert m.bounding_box() == (slice(1, 5), slice(2, 10), slice(3, 8))


def test_box_outside_the_image_is_an_error():
    with pytest.raises(InputError, match="outside"):
        box_mask(_image(), (0, 0, 0), (3, 2, 99), voxel=True)
    with pytest.raises(InputError, match="outside"):
        box_mask(_image(), (1000, 1000, 1000), (1100, 1100, 1100))


def test_box_around_mask_with_margin_in_mm():
    a = np.zeros((10, 30, 25), bool)
    a[4:6, 10:12, 10:13] = True
    m = Mask(a, _image().geometry, "m")
    assert mask_box(m).bounding_box() == m.bounding_box()
    # 3 mm -> ceil(3/2.5)=2 slices, ceil(3/0.8)=4 rows, ceil(3/1.2)=3 columns; cut at the border
    assert mask_box(m, 3.0).bounding_box() == (slice(2, 8), slice(6, 16), slice(7, 16))
    assert mask_box(m, 100.0).n_voxels == a.size
    with pytest.raises(InputError):
        mask_box(m, -1.0)


def test_parse_point():
    assert parse_point("1, 2.5,-3") == (1.0, 2.5, -3.0)
    with pytest.raises(InputError, match="three"):
        parse_point("1,2")


def _two_blobs():
    a = np.zeros((12, 20, 20), np.float32)
    a[2:6, 2:8, 2:8] = 100  # blob A
    a[6:9, 8:12, 8:12] = 100  # blob B touches A only at a corner (diagonal)
    return Image.from_array(a, spacing=(1, 1, 1), source="blobs")


def test_grow_connectivity_window_and_voxel_seeds():
    img = _two_blobs()
    g6 = region_grow(img, [(4, 4, 3)], voxel=True, lower=50, connectivity=6)
    g26 = region_grow(img, [(4, 4, 3)], voxel=True, lower=50, connectivity=26)
    assert g6.n_voxels == 4 * 6 * 6
    assert g26.n_voxels == 4 * 6 * 6 + 3 * 4 * 4
    # a physical seed is the same as the voxel seed on a unit identity grid
    assert np.array_equal(region_grow(img, [(4.0, 4.0, 3.0)], lower=50, connectivity=6).array, g6.array)
    # two seeds with 6-connectivity reach both blobs
    both = region_grow(img, [(4, 4, 3), (10, 10, 7)], voxel=True, lower=50, upper=150, connectivity=6)
    assert both.n_voxels == g26.n_voxels


def test_grow_max_radius_holes_and_small_components():
    a = np.zeros((30, 30, 30), np.float32)
    a[5:25, 5:25, 5:25] = 100
    a[14:16, 14:16, 14:16] = 0  # an enclosed hole
    img = Image.from_array(a, spacing=(2.0, 1.0, 1.0), source="cube")
    full = region_grow(img, [(10, 10, 10)], voxel=True, lower=50)
    assert full.n_voxels == 20 ** 3  # the hole is filled
    holey = region_grow(img, [(15, 15, 12)], voxel=True, lower=50, fill_holes=False)
    assert holey.n_voxels == 20 ** 3 - 8
    r = region_grow(img, [(10, 10, 10)], voxel=True, lower=50, max_radius_mm=6.0)
    idx = np.argwhere(r.array)
    d = np.sqrt((((idx - [10, 10, 10]) * [2.0, 1.0, 1.0]) ** 2).sum(1))
    assert d.max() <= 6.0 and r.n_voxels > 100
    # min_component_mm3 removes every component below it; nothing left is an error
    with pytest.raises(EmptyMaskError):
        region_grow(img, [(10, 10, 10)], voxel=True, lower=50, min_component_mm3=1e9)


def test_grow_errors_name_the_problem():
    img = _two_blobs()
    with pytest.raises(InputError, match="window"):
        region_grow(img, [(0, 0, 0)], voxel=True, lower=50)
    with pytest.raises(InputError, match="either"):
        region_grow(img, [(4, 4, 3)], voxel=True)
    with pytest.raises(InputError, match="outside"):
        region_grow(img, [(400, 4, 3)], voxel=True, lower=50)
    with pytest.raises(InputError, match="connectivity"):
        region_grow(img, [(4, 4, 3)], voxel=True, lower=50, connectivity=8)


def test_confidence_connected_on_noisy_cube():
    rng = np.random.default_rng(3)
    a = rng.normal(0, 10, (30, 40, 40)).astype(np.float32)
    truth = np.zeros(a.shape, bool)
    truth[8:22, 10:30, 12:28] = True
    a[truth] += 200
    img = Image.from_array(a, spacing=(2.0, 0.7, 0.7), source="noisy")
    g = region_grow(img, [(20, 20, 15)], voxel=True, confidence=2.5, iterations=4)
    assert dice(Mask(truth, img.geometry), g) > 0.97


@pytest.mark.parametrize("iterations", [0, 1, 2])
def test_confidence_connected_matches_simpleitk(iterations):
    import SimpleITK as sitk

    rng = np.random.default_rng(3)
    a = rng.normal(0, 10, (30, 40, 40)).astype(np.float32)
    a[8:22, 10:30, 12:28] += 200
    a += np.linspace(0, 40, 40, dtype=np.float32)[None, None, :]  # a ramp, so that re-estimation matters
    ref = sitk.GetArrayFromImage(sitk.ConfidenceConnected(
        sitk.GetImageFromArray(a), seedList=[(15, 20, 20)], numberOfIterations=iterations, multiplier=1.5,
        initialNeighborhoodRadius=1, replaceValue=1)).astype(bool)
    ours = region_grow(Image.from_array(a, spacing=(2.0, 0.7, 0.7)), [(15, 20, 20)], voxel=True, confidence=1.5,
                       iterations=iterations, seed_radius=1, connectivity=6, fill_holes=False)
    assert np.count_nonzero(ours.array ^ ref) <= 0.001 * ref.sum()


# The IBSI CT phantom (lung tumour next to the chest wall). One click near the tumour's centre; the settings below
# are what a user would try: a soft-tissue window, a 50 mm radius and a 6 mm opening that cuts the leak into the
# chest wall. Reached: Dice 0.820 (window), 0.767 (confidence-connected, k=2.5, radius 50 mm).
PHANTOM_SEED_MM = (-74.74, 16.12, -19.40)


def test_click_and_grow_on_ibsi_ct_phantom_window(ct_phantom):
    image, gtv = ct_phantom
    m = region_grow(image, [PHANTOM_SEED_MM], lower=-400, upper=400, max_radius_mm=50, opening_mm=6)
    assert dice(gtv, m) >= 0.80


def test_click_and_grow_on_ibsi_ct_phantom_confidence(ct_phantom):
    image, gtv = ct_phantom
    m = region_grow(image, [PHANTOM_SEED_MM], confidence=2.5, max_radius_mm=50)
    assert dice(gtv, m) >= 0.75
    # the same click as a voxel index gives the same mask
    idx = np.rint(image.geometry.physical_to_index(PHANTOM_SEED_MM))[::-1]
    mv = region_grow(image, [tuple(idx)], voxel=True, confidence=2.5, max_radius_mm=50)
    assert np.array_equal(m.array, mv.array)
