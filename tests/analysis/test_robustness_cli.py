"""`radiomix robustness`: single image (one label, several labels), batch manifest, sensitivity grid; and
robustness_table against a direct ICC computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from radiomix.analysis.perturbation_study import COLUMNS, perturbation_values, robustness_table, summarise
from radiomix.analysis.robustness import icc
from radiomix.cli import app
from radiomix.io import write_image, write_mask
from radiomix.phantoms import lesion_phantom
from radiomix.settings import Discretisation, Settings

runner = CliRunner()
SETTINGS = Settings(name="rob-test", families=("statistics", "glcm"),
                    discretisation=Discretisation(method="fixed_bin_number", bin_number=16))
SETTINGS_YAML = "families: [statistics, glcm]\ndiscretisation: {method: fixed_bin_number, bin_number: 16}\n"


def _case(c):
    im, m = lesion_phantom(shape=(10, 28, 28), spacing=(2.0, 1.0, 1.0), radius_mm=5.0 + c, seed=c)
    return im.with_array(np.where(m.array, im.array + 30.0 * c, im.array)), m


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("rob")
    rows = []
    for c in range(3):
        im, m = _case(c)
        write_image(im, d / f"i{c}.nii.gz")
        write_mask(m, d / f"m{c}.nii.gz")
        rows.append({"case_id": f"P{c}", "image": f"i{c}.nii.gz", "mask": f"m{c}.nii.gz"})
    pd.DataFrame(rows).to_csv(d / "manifest.csv", index=False)
    (d / "s.yaml").write_text(SETTINGS_YAML)
    # one image with two lesions as labels 1 and 2
    im, m = _case(0)
    lab = m.array.astype(np.uint8)
    lab2 = np.zeros_like(lab)
    lab2[3:7, 2:7, 2:7] = 2
    import SimpleITK as sitk

    from radiomix.io.itk import geometry_to_sitk
    sitk.WriteImage(geometry_to_sitk(np.maximum(lab, lab2), m.geometry), str(d / "two.nii.gz"))
    return d


def test_robustness_table_matches_icc_of_the_perturbation_table():
    cases = [_case(c) for c in range(3)]
    res = robustness_table([c[0] for c in cases], [c[1] for c in cases], SETTINGS, n=3, seed=1,
                           kinds=("noise", "volume"))
    assert list(res.columns) == COLUMNS and (res["rank_by"] == "icc").all()
    assert list(res["rank"]) == list(range(1, len(res) + 1))
    assert res["icc"].dropna().is_monotonic_decreasing
    vals = perturbation_values([(i, *c) for i, c in enumerate(cases)], SETTINGS, 3, 1, ("noise", "volume"))
    direct = icc(vals, "case", "perturbation", [f for f in vals.columns if f not in ("case", "perturbation")])
    f = res["feature"].iloc[0]
    assert res["icc"].iloc[0] == pytest.approx(direct.loc[f, "icc1"])
    assert res["icc_low"].iloc[0] <= res["icc"].iloc[0] <= res["icc_high"].iloc[0]
    # same seed, same result
    again = summarise(perturbation_values([(i, *c) for i, c in enumerate(cases)], SETTINGS, 3, 1,
                                          ("noise", "volume")))
    pd.testing.assert_frame_equal(again, summarise(vals))


def test_single_case_ranks_by_cv(files, tmp_path):
    out = tmp_path / "r.csv"
    r = runner.invoke(app, ["robustness", str(files / "i0.nii.gz"), str(files / "m0.nii.gz"), "--settings",
                            str(files / "s.yaml"), "--out", str(out), "--n", "3", "--kinds", "noise,translation"])
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out)
    assert list(t.columns) == COLUMNS and t["icc"].isna().all() and (t["rank_by"] == "wcv").all()
    assert t["wcv"].is_monotonic_increasing and "one case" in r.output


def test_labels_of_one_mask_are_cases(files, tmp_path):
    out = tmp_path / "r.parquet"
    r = runner.invoke(app, ["robustness", str(files / "i0.nii.gz"), str(files / "two.nii.gz"), "--settings",
                            str(files / "s.yaml"), "--out", str(out), "--n", "3", "--kinds", "noise,volume"])
    assert r.exit_code == 0, r.output
    t = pd.read_parquet(out)
    assert (t["n_cases"] == 2).all() and (t["rank_by"] == "icc").all() and t["icc"].notna().any()


def test_batch_manifest_form(files, tmp_path):
    out = tmp_path / "r.csv"
    r = runner.invoke(app, ["robustness", "--manifest", str(files / "manifest.csv"), "--settings",
                            str(files / "s.yaml"), "--out", str(out), "--n", "3", "--seed", "2"])
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out)
    assert (t["n_cases"] == 3).all() and (t["n_perturbations"] == 3).all()
    assert t.loc[t["rank"] == 1, "icc"].iloc[0] == t["icc"].max()


def test_sensitivity_option(files, tmp_path):
    (tmp_path / "grid.yaml").write_text("bin_number: [8, 16, 32]\n")
    out = tmp_path / "s.csv"
    r = runner.invoke(app, ["robustness", "--manifest", str(files / "manifest.csv"), "--settings",
                            str(files / "s.yaml"), "--out", str(out), "--sensitivity", str(tmp_path / "grid.yaml")])
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out)
    assert (t["n_settings"] == 3).all() and (t["n_cases"] == 3).all()
    # first-order statistics do not depend on discretisation: perfect agreement, zero CV
    row = t[t.feature == "original_statistics_mean"].iloc[0]
    assert row["cv"] == pytest.approx(0.0, abs=1e-12) and row["icc"] == pytest.approx(1.0)


def test_errors(files, tmp_path):
    r = runner.invoke(app, ["robustness", "--settings", str(files / "s.yaml"), "--out", str(tmp_path / "x.csv")])
    assert r.exit_code != 0 and "IMAGE MASK or --manifest" in r.output
    r = runner.invoke(app, ["robustness", str(files / "i0.nii.gz"), str(files / "m0.nii.gz"), "--settings",
                            str(files / "s.yaml"), "--out", str(tmp_path / "x.csv"), "--kinds", "rotate"])
    assert r.exit_code != 0 and "unknown perturbation" in r.output


@pytest.mark.parametrize("fraction", [-0.3, -0.1, 0.15, 0.4])
def test_volume_adaptation_on_the_roi_box_equals_the_whole_image(fraction):
    from radiomix.analysis.perturb import _adapt_volume_box, adapt_volume

    _, m = _case(1)
    whole = _adapt_volume_box(m.array, m.spacing, fraction, round(m.array.sum() * (1 + fraction)))
    np.testing.assert_array_equal(adapt_volume(m, fraction).array, whole)
