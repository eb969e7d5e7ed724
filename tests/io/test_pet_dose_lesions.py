"""PET SUV, RTDOSE, lesion splitting/aggregation and pseudonyms."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from radiomix.errors import EmptyMaskError, InputError
from radiomix.image import Mask
from radiomix.io.dicom import read_dicom_series
from radiomix.io.lesions import aggregate_lesions, aggregate_values, split_lesions
from radiomix.io.pseudonym import load_or_create_key, pseudonym
from radiomix.io.rtdose import read_rtdose
from tests.io.dicom_factory import write_rtdose, write_series

# ---------------------------------------------------------------------------------------------- PET SUV
DOSE_BQ = 370.0e6
HALF_LIFE_S = 6586.2
WEIGHT_KG = 70.0
HEIGHT_M = 1.75


def _pet_headers(**over):
    rp = Dataset()
    rp.RadiopharmaceuticalStartTime = "100000.00"  # injection 10:00:00
    rp.RadionuclideTotalDose = DOSE_BQ
    rp.RadionuclideHalfLife = HALF_LIFE_S
    h = {"Units": "BQML", "DecayCorrection": "START", "SeriesDate": "20240101", "SeriesTime": "111500.00",
         "PatientWeight": WEIGHT_KG, "PatientSize": HEIGHT_M, "PatientSex": "M",
         "RadiopharmaceuticalInformationSequence": Sequence([rp])}
    h.update(over)
    return {k: v for k, v in h.items() if v is not None}


def _write_pet(tmp_path, **over):
    stored = np.arange(3 * 4 * 5, dtype=np.int16).reshape(3, 4, 5) * 10
    slopes = [0.5, 2.0, 3.25]  # Bq/ml per stored unit, different on each slice
    write_series(tmp_path / "pet", stored, modality="PT", slopes=slopes, intercepts=[0, 0, 0],
                 extra=_pet_headers(**over))
    bqml = stored * np.asarray(slopes)[:, None, None]
    return bqml


def test_suv_body_weight_with_decay_correction(tmp_path):
    bqml = _write_pet(tmp_path)
    im = read_dicom_series(tmp_path / "pet")
    elapsed = 75 * 60.0  # 10:00:00 -> 11:15:00
    decayed_dose = DOSE_BQ * 0.5 ** (elapsed / HALF_LIFE_S)
    expected = bqml * (WEIGHT_KG * 1000.0) / decayed_dose
    assert im.meta["units"] == "SUVbw"
    assert im.meta["suv_factor"] == pytest.approx(70000.0 / decayed_dose, rel=1e-12)
    np.testing.assert_allclose(im.array, expected, rtol=1e-6)


def test_suv_bsa_and_lbm_variants(tmp_path):
    bqml = _write_pet(tmp_path)
    decayed = DOSE_BQ * 0.5 ** (4500.0 / HALF_LIFE_S)
    bsa_cm2 = 0.007184 * 70.0 ** 0.425 * 175.0 ** 0.725 * 1e4
    lbm_g = (1.10 * 70.0 - 128.0 * (70.0 / 175.0) ** 2) * 1000.0
    np.testing.assert_allclose(read_dicom_series(tmp_path / "pet", suv="bsa").array, bqml * bsa_cm2 / decayed,
                               rtol=1e-6)
    np.testing.assert_allclose(read_dicom_series(tmp_path / "pet", suv="lbm").array, bqml * lbm_g / decayed,
                               rtol=1e-6)
    raw = read_dicom_series(tmp_path / "pet", suv=None)
    np.testing.assert_allclose(raw.array, bqml, rtol=1e-6)
    assert raw.meta["units"] == "BQML"


def test_decay_corrected_to_admin_uses_the_injected_dose(tmp_path):
    bqml = _write_pet(tmp_path, DecayCorrection="ADMIN")
    np.testing.assert_allclose(read_dicom_series(tmp_path / "pet").array, bqml * 70000.0 / DOSE_BQ, rtol=1e-6)


def test_units_gml_is_not_converted_twice(tmp_path):
    bqml = _write_pet(tmp_path, Units="GML")
    im = read_dicom_series(tmp_path / "pet")
    np.testing.assert_allclose(im.array, bqml, rtol=1e-6)
    assert im.meta["units"] == "SUVbw" and im.meta["suv_factor"] == 1.0


def test_missing_pet_headers_are_listed(tmp_path):
    _write_pet(tmp_path, PatientWeight=None, RadiopharmaceuticalInformationSequence=Sequence([Dataset()]))
    with pytest.raises(InputError) as e:
        read_dicom_series(tmp_path / "pet")
    msg = str(e.value)
    for what in ("RadionuclideTotalDose", "RadionuclideHalfLife", "PatientWeight", "RadiopharmaceuticalStart"):
        assert what in msg


def test_scan_before_injection_is_refused(tmp_path):
    _write_pet(tmp_path, SeriesTime="093000")
    with pytest.raises(InputError, match="before the injection"):
        read_dicom_series(tmp_path / "pet")


# ---------------------------------------------------------------------------------------------- RTDOSE
def test_rtdose_in_gy_and_resampled_onto_a_ct_grid(tmp_path):
    stored = np.arange(3 * 4 * 5, dtype=np.uint32).reshape(3, 4, 5) * 1000
    path = write_rtdose(tmp_path / "dose.dcm", stored, scaling=1e-4, spacing=(2.0, 1.0, 1.0), origin=(0, 0, 0))
    dose = read_rtdose(path)
    assert dose.meta["units"] == "Gy"
    np.testing.assert_allclose(dose.array, stored * 1e-4, rtol=1e-6)
    np.testing.assert_allclose(dose.spacing, (2.0, 1.0, 1.0))
    # a CT grid with half-voxel offsets in x and z: linear interpolation = mean of the neighbours
    ct_info = write_series(tmp_path / "ct", np.zeros((2, 4, 4), np.int16), spacing=(2.0, 1.0, 1.0),
                           origin=(0.5, 0.0, 1.0))
    ct = read_dicom_series(tmp_path / "ct")
    assert ct_info["for_uid"] != dose.meta["frame_of_reference_uid"]
    with pytest.raises(InputError, match="frame of reference"):
        read_rtdose(path, ct)
    on_ct = read_rtdose(path, ct.geometry)
    gy = stored * 1e-4
    expected = 0.25 * (gy[:2, :, :4] + gy[:2, :, 1:] + gy[1:, :, :4] + gy[1:, :, 1:])
    assert on_ct.geometry.differences(ct.geometry) == []
    np.testing.assert_allclose(on_ct.array, expected, rtol=1e-5)


# ---------------------------------------------------------------------------------------------- lesions
def _two_lesions():
    a = np.zeros((5, 8, 8), bool)
    a[0:2, 0:2, 0:2] = True  # 8 voxels
    a[2, 2, 2] = True  # touches the first block only at a corner: 26-connected, not 6-connected
    a[3:5, 5:8, 5:8] = True  # 18 voxels, separate
    return Mask(a, Mask.from_array(a).geometry)


def test_split_lesions_connectivity_and_order():
    m = _two_lesions()
    l26 = split_lesions(m, connectivity=26)
    assert [x.n_voxels for x in l26] == [18, 9]
    l6 = split_lesions(m, connectivity=6)
    assert [x.n_voxels for x in l6] == [18, 8, 1]
    assert [x.n_voxels for x in split_lesions(m, connectivity=6, min_voxels=2)] == [18, 8]
    assert np.array_equal(np.logical_or.reduce([x.array for x in l6]), m.array)
    with pytest.raises(InputError, match="connectivity"):
        split_lesions(m, connectivity=5)


def test_aggregation_policies():
    m = _two_lesions()
    m = Mask(m.array, m.geometry.with_shape_spacing_origin(m.geometry.shape, (2.0, 1.0, 1.0), (0, 0, 0)))

    def compute(mask):
        return {"n": float(mask.n_voxels), "inv": 1.0 / mask.n_voxels}

    largest = aggregate_lesions(m, compute, "largest", connectivity=6)
    assert largest["n"] == 18 and largest["lesion_count"] == 3
    assert largest["lesion_volume_total_mm3"] == pytest.approx(27 * 2.0)
    merged = aggregate_lesions(m, compute, "merged", connectivity=6)
    assert merged["n"] == 27
    vw = aggregate_lesions(m, compute, "volume_weighted_mean", connectivity=6)
    assert vw["n"] == pytest.approx((18 * 18 + 8 * 8 + 1 * 1) / 27)
    assert vw["inv"] == pytest.approx(3 / 27)  # sum V_i / V_i = number of lesions, over total volume
    nan_rows = aggregate_values([{"f": float("nan")}, {"f": 2.0}], [10.0, 1.0], "volume_weighted_mean")
    assert nan_rows["f"] == 2.0
    with pytest.raises(InputError, match="unknown aggregation policy"):
        aggregate_lesions(m, compute, "mean")
    with pytest.raises(EmptyMaskError):
        split_lesions(Mask(np.zeros((2, 2, 2), bool), m.geometry.with_shape_spacing_origin((2, 2, 2), (1, 1, 1),
                                                                                            (0, 0, 0))))


# ---------------------------------------------------------------------------------------------- pseudonyms
def test_pseudonym_is_keyed_and_stable(tmp_path, monkeypatch):
    monkeypatch.delenv("RADIOMIX_PSEUDONYM_KEY", raising=False)
    key = load_or_create_key(tmp_path / "p" / "key")
    assert load_or_create_key(tmp_path / "p" / "key") == key  # stored once, read back
    assert (tmp_path / "p" / "key").stat().st_mode & 0o077 == 0
    a = pseudonym(key, "PAT-1", "1.2.3")
    assert a == pseudonym(key, "PAT-1", "1.2.3") and a.startswith("P-") and len(a) == 14
    assert a != pseudonym(key, "PAT-1", "1.2.4") != pseudonym(key, "PAT-1")
    assert pseudonym(key, "12", "3.4") != pseudonym(key, "1", "23.4")
    assert a != pseudonym(b"another key of enough bytes", "PAT-1", "1.2.3")
    assert "PAT" not in a
    with pytest.raises(InputError, match="at least 16 bytes"):
        pseudonym(b"short", "PAT-1")
    monkeypatch.setenv("RADIOMIX_PSEUDONYM_KEY", "ab" * 16)
    assert load_or_create_key(tmp_path / "unused") == bytes.fromhex("ab" * 16)
