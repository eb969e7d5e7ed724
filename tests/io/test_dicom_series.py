"""DICOM series discovery and reading: synthetic series written with pydicom, and the reference data."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.errors import InputError
from radiomix.io.dicom import list_dicom, read_dicom_series, scan_dicom
from tests.conftest import require_reference
from tests.io.dicom_factory import write_series

RNG = np.random.default_rng(7)


def _stored(nz=5, ny=6, nx=7):
    return RNG.integers(-1000, 2000, size=(nz, ny, nx)).astype(np.int16)


def test_reads_shuffled_nested_series_and_skips_other_files(tmp_path):
    stored = _stored()
    names = [f"sub/{'deep/' if k % 2 else ''}x{k * 7919 % 13}" for k in range(5)]
    info = write_series(tmp_path, stored, intercepts=[-1024] * 5, slopes=[1] * 5, names=names)
    (tmp_path / "notes.txt").write_text("not dicom")
    (tmp_path / "sub" / "empty.dcm").write_bytes(b"")
    im = read_dicom_series(tmp_path)
    assert im.array.dtype == np.int16
    np.testing.assert_array_equal(im.array, stored.astype(np.int32) - 1024)
    assert im.shape == (5, 6, 7)
    np.testing.assert_allclose(im.spacing, (2.0, 0.5, 0.75))
    np.testing.assert_allclose(im.geometry.origin, (-10.0, -20.0, 30.0))
    np.testing.assert_allclose(im.geometry.direction, np.eye(3))
    assert im.meta["sop_instance_uids"] == info["sops"]
    assert im.meta["frame_of_reference_uid"] == info["for_uid"]
    assert "PatientName" not in im.meta and "PatientID" not in im.meta


def test_slices_sorted_along_normal_not_by_name_when_z_decreases(tmp_path):
    stored = _stored(nz=4)
    # slice k lies at z = 30 - 2k: the volume must start at the lowest z and be flipped relative to k
    write_series(tmp_path, stored, positions_mm=[30 - 2 * k for k in range(4)])
    im = read_dicom_series(tmp_path)
    np.testing.assert_array_equal(im.array, stored[::-1])
    assert im.geometry.origin[2] == pytest.approx(24.0)


def test_per_slice_rescale_slope(tmp_path):
    stored = _stored(nz=3)
    slopes = [0.5, 0.25, 1e-3]
    write_series(tmp_path, stored, slopes=slopes, intercepts=[0.0, 1.5, -2.0])
    im = read_dicom_series(tmp_path)
    assert im.array.dtype == np.float32
    for k, (s, b) in enumerate(zip(slopes, [0.0, 1.5, -2.0])):
        np.testing.assert_allclose(im.array[k], stored[k] * s + b, rtol=1e-6)


def test_missing_slice_in_the_middle_is_an_error_naming_the_gap(tmp_path):
    stored = _stored(nz=6)
    info = write_series(tmp_path, stored)
    info["paths"][3].unlink()  # z = 30 + 3 * 2 = 36 mm
    with pytest.raises(InputError) as e:
        read_dicom_series(tmp_path)
    msg = str(e.value)
    assert "gap of 4 mm between slice positions 34 and 38 mm" in msg
    assert "1 slice(s) missing" in msg
    assert str(info["paths"][2]) in msg and str(info["paths"][4]) in msg


def test_two_series_mixed_in_one_folder(tmp_path):
    a = write_series(tmp_path, _stored(nz=3), names=["a1", "a2", "a3"])
    b = write_series(tmp_path, _stored(nz=4), names=["b1", "b2", "b3", "b4"], modality="MR")
    with pytest.raises(InputError) as e:
        read_dicom_series(tmp_path)
    assert a["series_uid"] in str(e.value) and b["series_uid"] in str(e.value)
    assert "series_uid" in str(e.value)
    assert read_dicom_series(tmp_path, series_uid=b["series_uid"]).shape == (4, 6, 7)
    assert read_dicom_series(tmp_path, modality="CT").shape == (3, 6, 7)
    with pytest.raises(InputError, match="no series 1.2.3"):
        read_dicom_series(tmp_path, series_uid="1.2.3")


def test_same_series_uid_two_volumes_is_refused(tmp_path):
    info = write_series(tmp_path / "a", _stored(nz=3))
    write_series(tmp_path / "b", _stored(nz=3), series_uid=info["series_uid"], for_uid=info["for_uid"])
    with pytest.raises(InputError, match="share the position .* more than one volume"):
        read_dicom_series(tmp_path)


@pytest.mark.parametrize("cut", ["pixels", "header"])
def test_truncated_file_is_an_error_naming_the_file(tmp_path, cut):
    info = write_series(tmp_path, _stored(nz=4))
    victim = info["paths"][2]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) - 20] if cut == "pixels" else data[:200])
    with pytest.raises(InputError) as e:
        read_dicom_series(tmp_path)
    assert str(victim) in str(e.value)


def test_single_file_and_list_of_files(tmp_path):
    stored = _stored(nz=3)
    info = write_series(tmp_path, stored)
    one = read_dicom_series(info["paths"][1])
    np.testing.assert_array_equal(one.array[0], stored[1])
    assert one.spacing[0] == pytest.approx(2.0)  # from SliceThickness
    two = read_dicom_series(info["paths"][:2])
    np.testing.assert_array_equal(two.array, stored[:2])


def test_compressed_transfer_syntax_matches_uncompressed():
    from pydicom.data import get_testdata_file

    plain = read_dicom_series(get_testdata_file("MR_small.dcm"))
    rle = read_dicom_series(get_testdata_file("MR_small_RLE.dcm"))
    assert plain.shape == (1, 64, 64)
    np.testing.assert_array_equal(plain.array, rle.array)
    assert plain.meta["modality"] == "MR" and "EchoTime" in plain.meta and "RepetitionTime" in plain.meta


def test_list_dicom_never_shows_patient_identifiers(tmp_path):
    write_series(tmp_path / "d", _stored(nz=3), patient_id="SECRET-ID-42", patient_name="Secret^Name")
    key = b"k" * 32
    rows = list_dicom(tmp_path / "d", key=key)
    assert len(rows) == 1
    text = repr([r.as_dict() for r in rows])
    assert "SECRET" not in text and "Secret" not in text
    assert rows[0].patient.startswith("P-") and rows[0].study.startswith("S-")
    assert rows[0].size == (3, 6, 7) and rows[0].spacing == (2.0, 0.5, 0.75)
    assert list_dicom(tmp_path / "d", key=key)[0].patient == rows[0].patient  # stable for one key
    assert list_dicom(tmp_path / "d", key=b"q" * 32)[0].patient != rows[0].patient
    assert list_dicom(tmp_path / "d", keep_identifiers=True)[0].patient == "SECRET-ID-42"


def test_cli_ls_prints_pseudonyms(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from radiomix.cli_dicom import app

    write_series(tmp_path / "d", _stored(nz=3), patient_id="SECRET-ID-42", patient_name="Secret^Name")
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["ls", str(tmp_path / "d")], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert "SECRET" not in res.output and "Secret" not in res.output
    assert "P-" in res.output and "CT" in res.output
    assert (tmp_path / ".radiomix" / "pseudonym.key").exists()
    res2 = CliRunner().invoke(app, ["ls", str(tmp_path / "d"), "--keep-identifiers"], env={"COLUMNS": "250"})
    assert "SECRET-ID-42" in res2.output


# ---------------------------------------------------------------------------------------------- reference data
def test_ibsi_ct_phantom_dicom_equals_nifti():
    from radiomix.io import read_image, read_mask
    from radiomix.io.rtstruct import read_rtstruct

    ref = require_reference()
    d = ref / "ibsi" / "ibsi1" / "ct_phantom"
    im = read_dicom_series(d / "dicom")  # the folder holds the CT series and the RTSTRUCT
    nii = read_image(d / "nifti" / "image.nii.gz")
    assert im.geometry.differences(nii.geometry) == []
    np.testing.assert_array_equal(im.array, nii.array)  # HU after rescale (intercept -1000)
    assert im.meta["units"] == "HU"
    mask = read_rtstruct(d / "dicom" / "mask" / "DCM_RS_00060.dcm", im, "GTV-1")
    nmask = read_mask(d / "nifti" / "mask.nii.gz")
    assert mask.n_voxels == 125256
    np.testing.assert_array_equal(mask.array, nmask.array)
    assert mask.geometry.differences(nmask.geometry) == []


@pytest.mark.parametrize("modality,roi,n_voxels", [("CT", "GTV_Mass_CT", 117145), ("MR_T1", "GTV_Mass_MR_T1", 117145),
                                                    ("PET", "GTV_Mass_PET", 5095)])
def test_sts_001_dicom_equals_nifti(modality, roi, n_voxels):
    from radiomix.io import read_image, read_mask
    from radiomix.io.rtstruct import read_rtstruct

    d = require_reference() / "dicom" / "mirp" / "sts_images" / "STS_001" / modality
    im = read_dicom_series(d / "dicom" / "image")
    nii = read_image(d / "nifti" / "image" / "image.nii.gz")
    assert im.geometry.differences(nii.geometry) == []
    if modality == "PET":  # per-slice slopes, Units GML: SUV already, not converted twice
        assert im.meta["units"] == "SUVbw" and im.meta["suv_factor"] == 1.0
        np.testing.assert_allclose(im.array, nii.array, rtol=1e-6, atol=1e-5)
        assert im.array.max() == pytest.approx(25.41, abs=0.01)
    else:
        np.testing.assert_array_equal(im.array, nii.array)
    mask = read_rtstruct(d / "dicom" / "mask" / "RS.dcm", im, roi)
    nmask = read_mask(d / "nifti" / "mask" / "mask.nii.gz")
    assert mask.n_voxels == n_voxels
    np.testing.assert_array_equal(mask.array, nmask.array)


def test_irregular_pydicom_ct_series_is_refused():
    d = require_reference() / "dicom" / "pydicom" / "data" / "test_files" / "dicomdirtests" / "77654033" / "CT2"
    with pytest.raises(InputError, match=r"gap of 202.5 mm between slice positions -99.48 and 103"):
        read_dicom_series(d)
    # the three regular slices alone form a volume
    im = read_dicom_series([d / "17136", d / "17166", d / "17196"])
    assert im.shape == (3, 16, 16) and im.spacing[0] == pytest.approx(1.25)


def test_enhanced_multiframe_digital_phantom():
    from radiomix.io import read_image

    d = require_reference() / "dicom" / "mirp" / "ibsi_1_digital_phantom"
    im = read_dicom_series(d / "dicom" / "image")
    nii = read_image(d / "nifti" / "image" / "phantom.nii.gz")
    assert im.shape == (4, 4, 5)
    # same intensity multiset; the DICOM encodes a coronal 1 mm grid (see the reference README)
    np.testing.assert_array_equal(np.sort(im.array.ravel()), np.sort(nii.array.ravel()))
    np.testing.assert_allclose(im.geometry.direction[:, 1], [0, 0, -1])


def test_scan_groups_every_reference_series():
    found = scan_dicom(require_reference() / "dicom" / "mirp" / "sts_images" / "STS_001")
    assert sorted(s.modality for s in found.image_series()) == ["CT", "MR", "PT"]
    assert len(found.segmentations()) == 3 and not found.unreadable
