"""Manifest sources besides our own table: a DICOM root folder (pseudonymous case ids) and PyRadiomics' batch CSV."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from radiomix.batch import extract_batch, load_manifest
from radiomix.errors import SettingsError
from radiomix.extract import extract
from radiomix.io import list_dicom, read_image, read_mask, write_image, write_mask
from radiomix.phantoms import lesion_phantom
from radiomix.settings import Discretisation, Settings
from tests.conftest import require_reference
from tests.io.dicom_factory import write_rtstruct, write_series

KEY = b"radiomix-test-pseudonym-key-0001"
SETTINGS = Settings(name="manifest-test", discretisation=Discretisation(method="fixed_bin_number", bin_number=16),
                    families=("statistics",))
PATIENTS = {"PAT-1001": "Doe^Jane", "PAT-2002": "Roe^John"}


def _square(x0, x1, y0, y1, z):
    return np.array([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]], dtype=float)


@pytest.fixture()
def dicom_root(tmp_path):
    """Two patients, each a CT series (6 slices of 24 x 24, 1 mm, 2 mm slices) and an RTSTRUCT with GTV and Body."""
    root = tmp_path / "dicom"
    uids = []
    for n, (pid, name) in enumerate(PATIENTS.items()):
        rng = np.random.default_rng(n)
        ct = rng.normal(40 + 20 * n, 15, (6, 24, 24)).round().astype(np.int16)
        info = write_series(root / f"patient{n}" / "ct", ct, spacing=(2.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0),
                            patient_id=pid, patient_name=name)
        gtv = [_square(4.5, 12.5, 5.5, 14.5, z) for z in (2.0, 4.0, 6.0)]
        body = [_square(0.5, 22.5, 0.5, 22.5, z) for z in (0.0, 2.0, 4.0, 6.0, 8.0)]
        write_rtstruct(root / f"patient{n}" / "rs.dcm", info["for_uid"], {"GTV": gtv, "Body": body}, patient_id=pid)
        uids.append(info["series_uid"])
    (root / "README.txt").write_text("not DICOM")
    return root, uids


def test_dicom_folder_gives_one_row_per_series_and_roi_with_pseudonyms(dicom_root):
    root, uids = dicom_root
    df = load_manifest(root, key=KEY)
    assert len(df) == 4 and sorted(df["roi"]) == ["Body", "Body", "GTV", "GTV"]
    assert all(re.fullmatch(r"P-[0-9a-f]{12}", c) for c in df["case_id"]) and df["case_id"].nunique() == 2
    assert set(df["case_id"]) == {r.patient for r in list_dicom(root, key=KEY)}  # same pseudonyms as 'dicom ls'
    assert set(df["series_uid"]) == set(uids) and set(df["modality"]) == {"CT"}
    assert sorted(df["image"]) == sorted(str(root / f"patient{n}" / "ct") for n in (0, 0, 1, 1))
    text = df.drop(columns=["image", "mask", "series_uid"]).to_csv()
    assert not any(s in text for s in (*PATIENTS, *PATIENTS.values()))
    gtv = load_manifest(root, roi="GTV", key=KEY)
    assert gtv["roi"].tolist() == ["GTV", "GTV"]
    assert load_manifest(root, key=b"another key of at least 16 bytes")["case_id"].tolist() != df["case_id"].tolist()
    with pytest.raises(SettingsError, match=r"no ROI 'PTV' \(ROIs found: \['Body', 'GTV'\]\)"):
        load_manifest(root, roi="PTV", key=KEY)


def test_batch_over_a_dicom_folder_never_writes_identifiers(dicom_root, tmp_path, monkeypatch):
    root, uids = dicom_root
    monkeypatch.setenv("RADIOMIX_PSEUDONYM_KEY", KEY.hex())
    res = extract_batch(root, SETTINGS, tmp_path / "out", roi="GTV", csv=True)
    assert res.exit_code == 0, res.failures
    df = res.features
    assert list(df.columns[:5]) == ["case_id", "study", "series", "modality", "roi"] and len(df) == 2
    assert "series_uid" not in df.columns
    # the values are those of reading the series and the RTSTRUCT directly
    row = load_manifest(root, roi="GTV", key=KEY).iloc[0]
    img = read_image(row["image"])
    direct = extract(img, read_mask(row["mask"], image=img, roi="GTV"), SETTINGS).to_dict()
    assert df.iloc[0][list(direct)].tolist() == pytest.approx(list(direct.values()))
    for name in ("features.parquet", "features.csv", "failures.parquet", "nan_reasons.parquet"):
        blob = (tmp_path / "out" / name).read_bytes()
        for secret in (*PATIENTS, *PATIENTS.values(), *uids):
            assert secret.encode() not in blob, (name, secret)


def test_reference_sts_folder_pairs_each_rtstruct_with_its_own_modality():
    ref = require_reference()
    root = ref / "dicom" / "mirp" / "sts_images" / "STS_001"
    df = load_manifest(root, key=KEY)
    # the three RTSTRUCTs share one frame of reference with the three series and reference none of their UIDs:
    # the SOP class of the images they were drawn on decides
    assert dict(zip(df["modality"], df["roi"])) == {"CT": "GTV_Mass_CT", "PT": "GTV_Mass_PET",
                                                    "MR": "GTV_Mass_MR_T1"}
    assert df["case_id"].nunique() == 1 and "STS" not in df["case_id"].iloc[0]


def test_pyradiomics_batch_csv_is_a_manifest(tmp_path):
    for i in range(2):
        img, mask = lesion_phantom(shape=(10, 32, 32), spacing=(2.0, 1.0, 1.0), radius_mm=6, seed=i)
        write_image(img, tmp_path / f"brain{i}.nrrd")
        write_mask(mask, tmp_path / f"brain{i}_label.nrrd")
    pd.DataFrame({"ID": ["case-a", "case-b"], "Image": ["brain0.nrrd", "brain1.nrrd"],
                  "Mask": ["brain0_label.nrrd", "brain1_label.nrrd"], "Label": [1, 1],
                  "Reader": ["x", "y"]}).to_csv(tmp_path / "testCases.csv", index=False)
    df = load_manifest(tmp_path / "testCases.csv")
    assert df["case_id"].tolist() == ["case-a", "case-b"] and df["label"].tolist() == [1, 1]
    assert df["image"].tolist() == [str(tmp_path / "brain0.nrrd"), str(tmp_path / "brain1.nrrd")]
    res = extract_batch(tmp_path / "testCases.csv", SETTINGS, tmp_path / "out")
    assert res.exit_code == 0 and list(res.features.columns[:3]) == ["case_id", "label", "Reader"]
    # without ID the case is named after the image file; PyRadiomics' Label_channel is refused
    pd.DataFrame({"Image": ["brain0.nrrd"], "Mask": ["brain0_label.nrrd"]}).to_csv(tmp_path / "n.csv", index=False)
    assert load_manifest(tmp_path / "n.csv")["case_id"].tolist() == ["brain0"]
    pd.DataFrame({"Image": ["brain0.nrrd"], "Mask": ["brain0_label.nrrd"], "Label_channel": [1]}).to_csv(
        tmp_path / "c.csv", index=False)
    with pytest.raises(SettingsError, match="Label_channel"):
        load_manifest(tmp_path / "c.csv")


def test_cli_batch_takes_a_dicom_folder_roi_and_lesions(dicom_root, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from radiomix.cli import app

    root, _ = dicom_root
    monkeypatch.setenv("RADIOMIX_PSEUDONYM_KEY", KEY.hex())
    SETTINGS.to_yaml(tmp_path / "s.yaml")
    r = CliRunner().invoke(app, ["batch", str(root), "--out", str(tmp_path / "out"), "--settings",
                                 str(tmp_path / "s.yaml"), "--roi", "GTV", "--lesions", "per-lesion"])
    assert r.exit_code == 0, r.output
    df = pd.read_parquet(tmp_path / "out" / "features.parquet")
    assert df["roi"].tolist() == ["GTV", "GTV"] and df["lesion"].tolist() == [1, 1]
    assert df["lesion_voxels"].tolist() == [8 * 9 * 3] * 2  # x 5..12, y 6..14, three contoured slices
