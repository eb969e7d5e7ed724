"""RTSTRUCT rasterisation and DICOM-SEG reading: synthetic files with known answers, and the reference SEGs."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.errors import GeometryError, InputError
from radiomix.io.dicom import read_dicom_series
from radiomix.io.rtstruct import list_rois, read_rtstruct
from radiomix.io.seg import list_segments, read_seg, read_seg_fractions, read_seg_segments
from tests.conftest import require_reference
from tests.io.dicom_factory import write_rtstruct, write_seg, write_series

# grid: 4 slices of 20 x 20 voxels, 1 mm in plane, 2 mm slices, origin (0, 0, 0): voxel (k, j, i) centre = (i, j, 2k)


@pytest.fixture()
def ct(tmp_path):
    info = write_series(tmp_path / "ct", np.zeros((4, 20, 20), np.int16), spacing=(2.0, 1.0, 1.0),
                        origin=(0.0, 0.0, 0.0))
    return read_dicom_series(tmp_path / "ct"), info


def _rect(x0, x1, y0, y1, z):
    return np.array([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]], dtype=float)


def test_rectangle_fills_voxel_centres_and_inner_contour_is_a_hole(tmp_path, ct):
    image, info = ct
    rs = write_rtstruct(tmp_path / "rs.dcm", info["for_uid"], {
        "GTV": [_rect(2.5, 10.5, 3.5, 8.5, 2.0),   # centres x 3..10 (8), y 4..8 (5) on slice 1
                _rect(4.5, 6.5, 5.5, 6.5, 2.0),   # hole: x 5..6, y 6 (2 voxels)
                _rect(0.2, 3.8, 0.2, 2.8, 6.0)],  # slice 3: x 1..3, y 1..2
        "Other": [_rect(1.5, 2.5, 1.5, 2.5, 0.0)]})
    assert [r.name for r in list_rois(rs)] == ["GTV", "Other"]
    m = read_rtstruct(rs, image, "GTV")
    expected = np.zeros((4, 20, 20), bool)
    expected[1, 4:9, 3:11] = True
    expected[1, 6, 5:7] = False
    expected[3, 1:3, 1:4] = True
    np.testing.assert_array_equal(m.array, expected)
    assert read_rtstruct(rs, image, "^oth", regex=True).n_voxels == 1
    assert read_rtstruct(rs, image, 2).n_voxels == 1


def test_vertices_on_voxel_centres_follow_the_half_open_rule(tmp_path, ct):
    image, info = ct
    rs = write_rtstruct(tmp_path / "rs.dcm", info["for_uid"], {"sq": [_rect(2.0, 5.0, 2.0, 5.0, 0.0)]})
    m = read_rtstruct(rs, image, "sq")
    expected = np.zeros((4, 20, 20), bool)
    expected[0, 2:5, 2:5] = True  # left/lower edges inside, right/upper edges outside: 3 x 3
    np.testing.assert_array_equal(m.array, expected)


def test_unknown_roi_lists_the_names(tmp_path, ct):
    image, info = ct
    rs = write_rtstruct(tmp_path / "rs.dcm", info["for_uid"], {"GTV": [_rect(2.5, 5.5, 2.5, 5.5, 0.0)]})
    with pytest.raises(InputError, match="no ROI matches 'PTV'; ROIs: 1: 'GTV'"):
        read_rtstruct(rs, image, "PTV")


def test_other_frame_of_reference_is_refused(tmp_path, ct):
    image, _ = ct
    rs = write_rtstruct(tmp_path / "rs.dcm", "1.2.3.4.5", {"GTV": [_rect(2.5, 5.5, 2.5, 5.5, 0.0)]})
    with pytest.raises(GeometryError, match="frame of reference 1.2.3.4.5"):
        read_rtstruct(rs, image, "GTV")


@pytest.mark.parametrize("contour", [_rect(15.5, 25.5, 2.5, 5.5, 2.0), _rect(2.5, 5.5, 2.5, 5.5, 20.0)],
                         ids=["beyond_x", "beyond_last_slice"])
def test_contour_outside_the_image_is_refused(tmp_path, ct, contour):
    image, info = ct
    rs = write_rtstruct(tmp_path / "rs.dcm", info["for_uid"], {"GTV": [contour]})
    with pytest.raises(GeometryError, match="extends outside"):
        read_rtstruct(rs, image, "GTV")


def test_contour_outside_can_be_clipped_on_request(tmp_path, ct):
    image, info = ct
    rs = write_rtstruct(tmp_path / "rs.dcm", info["for_uid"], {"GTV": [_rect(15.5, 25.5, 2.5, 5.5, 2.0)]})
    m = read_rtstruct(rs, image, "GTV", allow_outside=True)
    assert m.n_voxels == 4 * 3  # x 16..19, y 3..5


# ---------------------------------------------------------------------------------------------- SEG
def test_synthetic_seg_overlapping_segments_and_selection(tmp_path, ct):
    image, info = ct
    a = np.zeros((4, 20, 20), bool)
    a[1:3, 5:10, 5:10] = True
    b = np.zeros((4, 20, 20), bool)
    b[2:4, 8:12, 8:12] = True  # overlaps a on slice 2
    seg = write_seg(tmp_path / "seg.dcm", info["paths"], {"tumour": a, "node": b})
    assert [(s.number, s.label) for s in list_segments(seg)] == [(1, "tumour"), (2, "node")]
    np.testing.assert_array_equal(read_seg(seg, image, "tumour").array, a)
    np.testing.assert_array_equal(read_seg(seg, image, 2).array, b)
    both = read_seg_segments(seg, image)
    assert (both[1].array & both[2].array).sum() == 4  # overlap kept
    with pytest.raises(InputError, match="2 segments .*choose one"):
        read_seg(seg, image)
    with pytest.raises(InputError, match="no segment matches 'liver'"):
        read_seg(seg, image, "liver")


def test_seg_whose_frames_do_not_match_the_image_is_refused(tmp_path, ct):
    image, info = ct
    # same frame of reference, but a 0.8 mm in-plane grid: the SEG frames cannot lie on the 1 mm image grid
    other = write_series(tmp_path / "other", np.zeros((4, 20, 20), np.int16), spacing=(2.0, 0.8, 0.8),
                         origin=(0.0, 0.0, 0.0), for_uid=info["for_uid"])
    m = np.zeros((4, 20, 20), bool)
    m[1, 2:5, 2:5] = True
    seg = write_seg(tmp_path / "seg.dcm", other["paths"], {"x": m})
    with pytest.raises(GeometryError, match=r"frame 1 .*does not match .*pixel spacing"):
        read_seg(seg, image)
    # shifted by half a voxel: between voxels
    shifted = write_series(tmp_path / "shift", np.zeros((4, 20, 20), np.int16), spacing=(2.0, 1.0, 1.0),
                           origin=(0.5, 0.0, 0.0), for_uid=info["for_uid"])
    seg2 = write_seg(tmp_path / "seg2.dcm", shifted["paths"], {"x": m})
    with pytest.raises(GeometryError, match="falls between voxels"):
        read_seg(seg2, image)


def test_seg_in_another_frame_of_reference_is_refused(tmp_path, ct):
    image, _ = ct
    other = write_series(tmp_path / "other", np.zeros((4, 20, 20), np.int16), spacing=(2.0, 1.0, 1.0),
                         origin=(0.0, 0.0, 0.0))
    m = np.zeros((4, 20, 20), bool)
    m[1, 2:5, 2:5] = True
    seg = write_seg(tmp_path / "seg.dcm", other["paths"], {"x": m})
    with pytest.raises(GeometryError, match="frame of reference"):
        read_seg(seg, image)


def test_truncated_seg_names_the_file(tmp_path, ct):
    image, info = ct
    m = np.zeros((4, 20, 20), bool)
    m[1, 2:5, 2:5] = True
    seg = write_seg(tmp_path / "seg.dcm", info["paths"], {"x": m})
    seg.write_bytes(seg.read_bytes()[:-30])
    with pytest.raises(InputError, match=str(seg)):
        read_seg(seg, image)


def test_dcmqi_liver_seg_reproduces_its_label_map():
    from radiomix.io import read_mask

    d = require_reference() / "dicom" / "dcmqi" / "data" / "segmentations"
    ct = read_dicom_series(d / "ct-3slice")
    m = read_seg(d / "liver.dcm", ct, "Liver")
    ref = read_mask(d / "liver_seg.nrrd")
    assert m.n_voxels == 107098
    assert m.geometry.differences(ref.geometry) == []
    np.testing.assert_array_equal(m.array, ref.array)


@pytest.mark.parametrize("file_no,labels", [(1, (1, 4, 5)), (2, (2,)), (3, (3,))])
def test_dcmqi_partial_overlaps_reproduce_their_label_maps(file_no, labels):
    import SimpleITK as sitk

    d = require_reference() / "dicom" / "dcmqi" / "data" / "segmentations"
    ct = read_dicom_series(d / "ct-3slice")
    segs = read_seg_segments(d / "partial_overlaps.dcm", ct)
    lab = sitk.GetArrayFromImage(sitk.ReadImage(str(d / f"partial_overlaps-{file_no}.nrrd")))
    for n in labels:
        assert (lab == n).sum() > 0
        np.testing.assert_array_equal(segs[n].array, lab == n)


def test_highdicom_fractional_segs():
    ref = require_reference() / "dicom"
    ct = read_dicom_series([ref / "pydicom" / "data" / "test_files" / "dicomdirtests" / "77654033" / "CT2" / n
                            for n in ("17136", "17166", "17196")])
    hd_dir = ref / "highdicom" / "data" / "test_files"
    binary = read_seg(hd_dir / "seg_image_ct_binary.dcm", ct)
    frac = read_seg_fractions(hd_dir / "seg_image_ct_true_fractional.dcm", ct)
    values = np.unique(frac.array).astype(float)
    assert np.all(np.min(np.abs(values[:, None] - np.array([0.0, 64 / 255, 128 / 255])[None]), axis=1) < 1e-6)
    assert frac.array.max() == pytest.approx(128 / 255)
    # binary-as-fractional must equal the binary SEG
    bf = read_seg(hd_dir / "seg_image_ct_binary_fractional.dcm", ct)
    np.testing.assert_array_equal(bf.array, binary.array)
    assert read_seg(hd_dir / "seg_image_ct_true_fractional.dcm", ct, threshold=0.5).n_voxels == \
        int((frac.array >= 0.5).sum())


def test_digital_phantom_seg_on_its_multiframe_image():
    d = require_reference() / "dicom" / "mirp" / "ibsi_1_digital_phantom" / "dicom"
    im = read_dicom_series(d / "image")
    m = read_seg(d / "mask" / "mask.dcm", im, "ROI")
    assert m.n_voxels == 74
    assert read_seg(d / "mask" / "mask.dcm").n_voxels == 74  # on the SEG's own grid
