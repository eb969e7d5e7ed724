"""``radiomix extract/batch --pyradiomics-params FILE [--names radiomix|pyradiomics]`` on real PyRadiomics cases."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from radiomix.cli import app
from tests.conftest import require_reference

PARAMS = """\
setting:
  binWidth: 25
  label: 1
imageType:
  Original: {}
featureClass:
  firstorder: [Mean, Kurtosis, Energy]
  glcm: [Contrast, Idmn]
"""


@pytest.fixture(scope="module")
def case():
    d = require_reference() / "pyradiomics" / "data"
    return d / "breast1_image.nrrd", d / "breast1_label.nrrd"


@pytest.fixture
def params(tmp_path):
    p = tmp_path / "Params.yaml"
    p.write_text(PARAMS)
    return p


def test_extract_pyradiomics_names_match_baseline(case, params, tmp_path):
    out = tmp_path / "f.csv"
    r = CliRunner().invoke(app, ["extract", str(case[0]), str(case[1]), "--pyradiomics-params", str(params),
                                 "--names", "pyradiomics", "--out", str(out)])
    assert r.exit_code == 0, r.output
    row = pd.read_csv(out).iloc[0]
    assert set(row.index) == {"original_firstorder_Mean", "original_firstorder_Kurtosis", "original_firstorder_Energy",
                              "original_glcm_Contrast", "original_glcm_Idmn"}
    base = pd.read_csv(case[0].parent / "baseline" / "baseline_glcm.csv", index_col=0)
    assert row["original_glcm_Contrast"] == pytest.approx(float(base.loc["original_glcm_Contrast", "breast1"]),
                                                          rel=1e-8)


def test_extract_radiomix_names_and_long_format(case, params, tmp_path):
    out = tmp_path / "f.csv"
    r = CliRunner().invoke(app, ["extract", str(case[0]), str(case[1]), "--pyradiomics-params", str(params),
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    cols = set(pd.read_csv(out).columns)
    # radiomix names come from mapping.csv (IBSI family and feature names where there is an equivalent)
    assert "original_glcm_normalised_inverse_difference_moment" in cols and "original_glcm_Idmn" not in cols
    out2 = tmp_path / "long.csv"
    r = CliRunner().invoke(app, ["extract", str(case[0]), str(case[1]), "--pyradiomics-params", str(params),
                                 "--names", "pyradiomics", "--format", "long", "--out", str(out2)])
    assert r.exit_code == 0, r.output
    assert "original_glcm_Idmn" in set(pd.read_csv(out2)["pyradiomics_name"])


@pytest.mark.parametrize("extra", [
    ["--preset", "ibsi_config_a"],
    ["--settings", "s.yaml"],
    ["--names", "camel"],
])
def test_bad_combinations_exit_2(case, params, extra):
    r = CliRunner().invoke(app, ["extract", str(case[0]), str(case[1]), "--pyradiomics-params", str(params), *extra])
    assert r.exit_code == 2, r.output


def test_pyradiomics_names_need_pyradiomics_mode(case):
    r = CliRunner().invoke(app, ["extract", str(case[0]), str(case[1]), "--preset", "ibsi_config_a",
                                 "--names", "pyradiomics"])
    assert r.exit_code == 2 and "PyRadiomics mode" in r.output


def test_bad_parameter_file_is_one_line_error_exit_2(case, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("setting:\n  binWidht: 25\n")
    p = subprocess.run([sys.executable, "-m", "radiomix.cli", "extract", str(case[0]), str(case[1]),
                        "--pyradiomics-params", str(bad)], check=False, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert p.stderr.strip().startswith("error:") and "binWidht" in p.stderr and str(bad) in p.stderr


def test_batch_with_pyradiomics_params(case, params, tmp_path):
    d = case[0].parent
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame({"case_id": ["breast1", "brain2"], "image": [str(d / "breast1_image.nrrd"), str(d / "brain2_image.nrrd")],
                  "mask": [str(d / "breast1_label.nrrd"), str(d / "brain2_label.nrrd")], "label": [1, 1]}
                 ).to_csv(manifest, index=False)
    out = tmp_path / "run"
    r = CliRunner().invoke(app, ["batch", str(manifest), "--out", str(out), "--pyradiomics-params", str(params),
                                 "--names", "pyradiomics", "--csv"])
    assert r.exit_code == 0, r.output
    df = pd.read_parquet(out / "features.parquet")
    assert "original_glcm_Idmn" in df.columns and list(df["case_id"]) == ["breast1", "brain2"]
    base = pd.read_csv(d / "baseline" / "baseline_firstorder.csv", index_col=0)
    got = df.set_index("case_id").loc["brain2", "original_firstorder_Mean"]
    assert got == pytest.approx(float(base.loc["original_firstorder_Mean", "brain2"]), rel=1e-8)
    assert "original_glcm_Idmn" in pd.read_csv(out / "features.csv").columns
    r = CliRunner().invoke(app, ["batch", str(manifest), "--out", str(tmp_path / "x"), "--pyradiomics-params",
                                 str(params), "--preset", "pyradiomics_default"])
    assert r.exit_code == 2
