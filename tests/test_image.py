import numpy as np
import pytest

from radiomix.errors import EmptyMaskError, GeometryError, InputError
from radiomix.image import Geometry, Image, Mask, check_same_grid


def test_index_physical_roundtrip_with_direction():
    d = np.array([[0, 1, 0], [-1, 0, 0], [0, 0, 1.0]])
    g = Geometry((4, 5, 6), (3.0, 0.5, 0.7), (10.0, -20.0, 5.0), d)
    idx = np.array([[1, 2, 3], [0, 0, 0], [3.5, 4, 5]])
    back = g.physical_to_index(g.index_to_physical(idx))
    np.testing.assert_allclose(back, idx, atol=1e-12)
    # voxel (z=0, y=0, x=1) lies one x-spacing along the first direction column
    np.testing.assert_allclose(g.index_to_physical([0, 0, 1]), np.array([10, -20, 5]) + 0.7 * d[:, 0])


def test_geometry_differences_name_every_mismatch():
    a = Geometry((2, 3, 4), (1, 1, 1))
    b = Geometry((2, 3, 5), (1, 1, 1.5), (0, 0, 2), np.diag([1, -1, 1.0]))
    msg = "; ".join(a.differences(b))
    for word in ("size differs", "spacing differs", "origin differs", "direction differs"):
        assert word in msg
    assert "by up to 0.5 mm" in msg and "by up to 2 mm" in msg
    assert a.differences(Geometry((2, 3, 4), (1, 1, 1 + 1e-6))) == []


def test_check_same_grid_raises_with_file_names():
    img = Image.from_array(np.zeros((2, 3, 4)), source="ct.nii.gz")
    m = Mask.from_array(np.ones((2, 3, 4)), spacing=(2, 1, 1), source="roi.nii.gz")
    with pytest.raises(GeometryError, match=r"roi\.nii\.gz.*ct\.nii\.gz.*spacing differs"):
        check_same_grid(img, m)


def test_mask_label_selection_and_empty_label():
    lab = np.zeros((2, 3, 3), int)
    lab[0, 1, 1] = 2
    lab[1, :, :] = 1
    m = Mask.from_array(lab, label=2)
    assert m.n_voxels == 1
    assert Mask.from_array(lab).n_voxels == 10
    with pytest.raises(EmptyMaskError, match=r"no voxels with label 3 \(labels present: \[1, 2\]\)"):
        Mask.from_array(lab, label=3, source="seg.nrrd")


def test_nan_intensities_are_reported():
    a = np.ones((2, 2, 2))
    a[1, 0, 1] = np.nan
    with pytest.raises(InputError, match=r"scan\.nii: 1 voxel\(s\) are NaN.*\(1, 0, 1\)"):
        Image.from_array(a, source="scan.nii").check_finite()


def test_2d_array_becomes_one_slice_and_bad_spacing():
    img = Image.from_array(np.zeros((3, 4)), spacing=(0.5, 0.7))
    assert img.shape == (1, 3, 4) and img.spacing == (1.0, 0.5, 0.7) and img.is_2d
    with pytest.raises(InputError, match="spacing must be positive"):
        Geometry((1, 2, 2), (0, 1, 1))
    with pytest.raises(InputError, match="2D or 3D"):
        Image.from_array(np.zeros((2, 2, 2, 2)))
