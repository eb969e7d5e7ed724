import numpy as np
import pytest
import SimpleITK as sitk

from radiomix.errors import EmptyMaskError, InputError
from radiomix.image import Image, Mask
from radiomix.io import read_image, read_mask, write_image, write_mask


@pytest.mark.parametrize("suffix", [".nii.gz", ".nrrd", ".mha"])
def test_roundtrip_keeps_array_and_geometry(tmp_path, suffix):
    rng = np.random.default_rng(0)
    d = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0.0]])
    img = Image.from_array(rng.normal(size=(3, 4, 5)).astype(np.float32), spacing=(2.5, 0.8, 0.6),
                           origin=(-10, 20, 3), direction=d)
    p = write_image(img, tmp_path / f"im{suffix}")
    back = read_image(p)
    np.testing.assert_array_equal(back.array, img.array)
    assert back.geometry.differences(img.geometry) == []
    assert back.source == str(p)


def test_axis_order_matches_simpleitk(tmp_path):
    a = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    s = sitk.GetImageFromArray(a)
    s.SetSpacing((0.5, 0.7, 3.0))  # x, y, z
    sitk.WriteImage(s, str(tmp_path / "a.nrrd"))
    img = read_image(tmp_path / "a.nrrd")
    assert img.shape == (2, 3, 4) and img.spacing == (3.0, 0.7, 0.5)
    assert img.array[1, 2, 3] == s.GetPixel(3, 2, 1)


def test_mask_label_from_file(tmp_path):
    lab = np.zeros((2, 3, 4), np.uint8)
    lab[0, 0, 0] = 1
    lab[1, 1:, 1:] = 2
    write_mask(Mask.from_array(lab, label=2), tmp_path / "m.nii.gz")
    sitk.WriteImage(sitk.GetImageFromArray(lab), str(tmp_path / "labels.nii.gz"))
    assert read_mask(tmp_path / "labels.nii.gz", label=2).n_voxels == 6
    assert read_mask(tmp_path / "m.nii.gz").n_voxels == 6
    with pytest.raises(EmptyMaskError, match="labels.nii.gz: the mask has no voxels with label 5"):
        read_mask(tmp_path / "labels.nii.gz", label=5)


def test_missing_corrupt_and_unknown_files(tmp_path):
    with pytest.raises(InputError, match=r"nope\.nii\.gz: image file not found"):
        read_image(tmp_path / "nope.nii.gz")
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"\x1f\x8b not really a nifti")
    with pytest.raises(InputError, match=r"bad\.nii\.gz: cannot read image file"):
        read_image(bad)
    (tmp_path / "x.png").write_bytes(b"")
    with pytest.raises(InputError, match="unknown image format"):
        read_image(tmp_path / "x.png")
    with pytest.raises(InputError, match="no image series found"):  # a folder is read as a DICOM series
        read_image(tmp_path)


def test_npy_needs_spacing(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((2, 3, 4)))
    with pytest.raises(InputError, match="carries no voxel spacing"):
        read_image(tmp_path / "a.npy")
    img = read_image(tmp_path / "a.npy", spacing=(2, 1, 1))
    assert img.spacing == (2.0, 1.0, 1.0)


def test_truncated_nifti(tmp_path):
    img = Image.from_array(np.ones((10, 10, 10), np.float32))
    p = write_image(img, tmp_path / "t.nii")
    p.write_bytes(p.read_bytes()[:1000])
    with pytest.raises(InputError, match=r"t\.nii: truncated NIfTI file: the header needs 4352 bytes"):
        read_image(p)


def test_truncated_nifti_gz(tmp_path):
    img = Image.from_array(np.random.default_rng(1).normal(size=(10, 10, 10)).astype(np.float32))
    p = write_image(img, tmp_path / "t.nii.gz")
    p.write_bytes(p.read_bytes()[:-200])
    with pytest.raises(InputError, match=r"t\.nii\.gz: (truncated NIfTI|cannot read)"):
        read_image(p)


def test_completeness_check_on_empty_and_padded_files(tmp_path):
    """The SimpleITK path's completeness check: an empty ``.nii`` is not NIfTI (SimpleITK then reports it), and a
    ``.nii.gz`` with padding after its gzip stream is complete (SimpleITK reads it) rather than a zlib error."""
    import gzip

    from radiomix.io.itk import check_nifti_complete

    empty = tmp_path / "empty.nii"
    empty.write_bytes(b"")
    check_nifti_complete(empty)
    with pytest.raises(InputError, match="empty.nii"):
        read_image(empty)
    src = tmp_path / "a.nii.gz"
    write_image(Image.from_array(np.arange(60, dtype=np.int16).reshape(3, 4, 5), spacing=(1.0, 1.0, 1.0)), src)
    raw = gzip.decompress(src.read_bytes())
    padded = tmp_path / "padded.nii.gz"
    padded.write_bytes(gzip.compress(raw) + b"\0" * 64)  # the last 4 bytes are no trailer: the slow path counts
    check_nifti_complete(padded)
    assert read_image(padded).array.tolist() == np.arange(60).reshape(3, 4, 5).tolist()
