"""The radiomix command: extract (CSV/Parquet, wide/long), features catalogue, ibsi summary, clear errors."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from radiomix.data import digital_phantom
from radiomix.features import FAMILIES
from radiomix.io import write_image, write_mask


def run(*args):
    return subprocess.run([sys.executable, "-m", "radiomix.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.fixture(scope="module")
def dig_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("dig")
    img, mask = digital_phantom()
    return write_image(img, d / "img.nii.gz"), write_mask(mask, d / "mask.nii.gz")


def test_extract_long_parquet_and_wide_csv(dig_files, tmp_path):
    img, mask = dig_files
    r = run("extract", img, mask, "--preset", "ibsi_dig", "--format", "long", "--out", tmp_path / "f.parquet")
    assert r.returncode == 0, r.stderr
    long = pd.read_parquet(tmp_path / "f.parquet")
    row = long[(long.family == "statistics") & (long.feature == "mean")].iloc[0]
    assert row.ibsi_feature == "Q4LE" and round(row.value, 2) == 2.15
    r = run("extract", img, mask, "--label", "1", "--preset", "ibsi_dig", "--out", tmp_path / "f.csv")
    assert r.returncode == 0, r.stderr
    wide = pd.read_csv(tmp_path / "f.csv")
    assert len(wide) == 1 and len(wide.columns) == len(long)


def test_extract_errors_name_the_problem(dig_files, tmp_path):
    img, mask = dig_files
    r = run("extract", tmp_path / "missing.nii.gz", mask, "--preset", "ibsi_dig")
    assert r.returncode == 2 and "missing.nii.gz: image file not found" in r.stderr
    r = run("extract", img, mask, "--label", "4", "--preset", "ibsi_dig")
    assert r.returncode == 2 and "no voxels with label 4" in r.stderr
    bad = tmp_path / "s.yaml"
    bad.write_text("discretisation: {method: none}\nbin_wdth: 3\n")
    r = run("extract", img, mask, "--settings", bad)
    assert r.returncode == 2 and "unknown key 'bin_wdth'" in r.stderr
    r = run("extract", img, mask)
    assert r.returncode == 2 and "exactly one of --preset" in r.stderr


def test_features_catalogue_lists_every_feature():
    r = run("features")
    assert r.returncode == 0, r.stderr
    n = sum(len(f.features) for f in FAMILIES.values())
    assert f"{n} features in {len(FAMILIES)} families" in r.stdout


def test_ibsi_digital_phantom_summary():
    r = run("ibsi", "--config", "dig")
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("IBSI1: ") and last.endswith("reference rows pass")
    passed, total = map(int, last.split()[1].split("/"))
    assert total == 485 and passed == total
