"""The synthetic cohort and the whole demo study (``make demo``), ending in the report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from radiomix.cohort import SITES, make_case, make_cohort
from radiomix.errors import InputError


def test_cohort_is_deterministic_and_has_both_input_paths(tmp_path):
    a = make_cohort(tmp_path / "a", n_patients=8, seed=5)
    b = make_cohort(tmp_path / "b", n_patients=8, seed=5)
    ca = pd.read_csv(tmp_path / "a" / "clinical.csv")
    pd.testing.assert_frame_equal(ca, pd.read_csv(tmp_path / "b" / "clinical.csv"))
    assert list(ca.columns) == ["case_id", "patient_id", "site", "timepoint", "age", "stage", "outcome", "time",
                                "event"]
    assert set(ca["site"]) == {s.name for s in SITES}
    assert ca["time"].gt(0).all() and set(ca["event"]) <= {0, 1} and set(ca["outcome"]) <= {0, 1}
    from radiomix.io import read_image

    for rec_a, rec_b in zip(a.to_dict("records"), b.to_dict("records")):
        ia, ib = read_image(rec_a["image"]), read_image(rec_b["image"])
        np.testing.assert_array_equal(ia.array, ib.array)
    dicom = a[a["site"] == "C"]
    nifti = a[a["site"] != "C"]
    assert len(dicom) and len(nifti)
    assert all(p.endswith("/ct") for p in dicom["image"]) and all(p.endswith(".nii.gz") for p in nifti["image"])
    # no identifiers: DICOM headers carry the pseudonym only
    import pydicom

    ds = pydicom.dcmread(next((tmp_path / "a" / "dicom").rglob("ct_000.dcm")))
    assert str(ds.PatientName) == "ANONYMOUS" and ds.PatientID.startswith("demo-") and ds.PatientBirthDate == ""


def test_dicom_case_reads_back_as_generated(tmp_path):
    """The site-C CT series and RTSTRUCT give the generated HU values and (nearly) the generated mask."""
    from radiomix.io import read_image, read_mask

    man = make_cohort(tmp_path, n_patients=6, seed=1)
    clin = pd.read_csv(tmp_path / "clinical.csv")
    rec = man[man["site"] == "C"].iloc[0]
    image = read_image(rec["image"])
    mask = read_mask(rec["mask"], image=image)
    import radiomix.cohort as C

    pts = C._patients(6, np.random.default_rng(1))
    i = int(np.flatnonzero(pts["patient_id"] == rec["patient_id"])[0])
    ref_img, ref_mask = make_case(pts.iloc[i].to_dict(), {s.name: s for s in SITES}["C"], 1, (1, i, 1))
    np.testing.assert_array_equal(image.array, ref_img.array)
    assert image.spacing == (3.0, 1.0, 1.0)
    a, b = mask.array.astype(bool), ref_mask.array.astype(bool)
    dice = 2 * (a & b).sum() / (a.sum() + b.sum())
    assert dice > 0.97, dice
    assert clin.loc[clin["case_id"] == rec["case_id"], "site"].item() == "C"


def test_cohort_refuses_too_few_patients(tmp_path):
    with pytest.raises(InputError, match="n_patients"):
        make_cohort(tmp_path, n_patients=3)


@pytest.mark.slow
def test_small_demo_finds_the_signal_and_reports_it(tmp_path):
    """A 40-patient demo (fast settings) runs end to end; its models find the built-in signal, and the report's
    numbers are those of metrics.json; the report opens cleanly in a real browser."""
    from radiomix.demo import run_demo
    from tests.report.browser import artefact_dir, open_report
    from tests.report.test_report import SECTION_IDS, assert_metrics_match

    report = run_demo(tmp_path, n_patients=40, seed=0, jobs=2, fast=True)
    assert report.exists()
    m = json.loads((tmp_path / "model" / "metrics.json").read_text())
    s = json.loads((tmp_path / "survival" / "metrics.json").read_text())
    e = json.loads((tmp_path / "external" / "metrics.json").read_text())
    # the outcome was built from texture heterogeneity (AUC of the latent predictor about 0.93, C about 0.8)
    assert m["auc"]["ci"][0] > 0.5, m["auc"]
    assert s["c_index"]["ci"][0] > 0.5, s["c_index"]
    assert e["auc"]["estimate"] > 0.6, e["auc"]
    text = report.read_text()
    assert assert_metrics_match(tmp_path, text) >= 10
    for sid in SECTION_IDS:
        assert f'<section id="{sid}"' in text
    assert 'class="error"' not in text and "not found in this run folder" not in text
    for rel in ("robustness.parquet", "harmonised.parquet", "delta/association.csv", "survival/logrank.json",
                "extraction/features.parquet", "demo.json"):
        assert (tmp_path / rel).exists(), rel
    rec = open_report(report, artefact_dir(tmp_path) / "report-demo.png")
    assert rec["console_errors"] == [] and rec["dialogs"] == []
    assert rec["requests"] == [report.resolve().as_uri()]
    assert all(f["w"] > 0 and f["h"] > 0 for f in rec["figures"]) and len(rec["figures"]) >= 9
