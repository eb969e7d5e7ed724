"""Lesions wired into extraction: extract_lesions (per lesion, largest, volume-weighted, merged) and the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from radiomix.cli import app
from radiomix.errors import EmptyMaskError
from radiomix.extract import extract, extract_lesions
from radiomix.image import Geometry, Image, Mask
from radiomix.io import write_image, write_mask
from radiomix.settings import Discretisation, Lesions, Settings, settings_from_dict

BASE = Settings(name="lesion-test", discretisation=Discretisation(method="fixed_bin_number", bin_number=8),
                families=("morphology", "statistics"))
VOLUME = "original_morphology_volume_mesh"
MEAN = "original_statistics_mean"


def two_lesions():
    """A 12 x 30 x 30 image (2 x 1 x 1 mm, origin (-5, 10, 20)) with a large box lesion and a smaller one apart."""
    rng = np.random.default_rng(0)
    geom = Geometry((12, 30, 30), (2.0, 1.0, 1.0), (-5.0, 10.0, 20.0))
    img = Image(rng.normal(40, 10, geom.shape).round().astype(np.float32), geom)
    m = np.zeros(geom.shape, bool)
    m[2:8, 3:11, 4:12] = True  # 6 x 8 x 8 = 384 voxels
    m[3:6, 18:23, 20:24] = True  # 3 x 5 x 4 = 60 voxels
    img.array[3:6, 18:23, 20:24] += 100  # the small lesion is brighter
    return img, Mask(m, geom, "two-lesions")


def test_per_lesion_rows_are_ordered_by_volume_with_centroids_in_mm():
    img, mask = two_lesions()
    sets = extract_lesions(img, mask, BASE.replace(lesions=Lesions(mode="per_lesion")))
    assert [fs.lesion["lesion"] for fs in sets] == [1, 2]
    assert [fs.lesion["lesion_voxels"] for fs in sets] == [384, 60]
    assert all(fs.lesion["lesion_count"] == 2 for fs in sets)
    assert sets[0].lesion["lesion_volume_mm3"] == 384 * 2.0
    # centroid of voxel centres: index (z, y, x) (4.5, 6.5, 7.5), origin (x, y, z) (-5, 10, 20)
    assert (sets[0].lesion["lesion_centroid_x_mm"], sets[0].lesion["lesion_centroid_y_mm"],
            sets[0].lesion["lesion_centroid_z_mm"]) == pytest.approx((-5 + 7.5, 10 + 6.5, 20 + 2 * 4.5))
    assert sets[1].lesion["lesion_centroid_x_mm"] == pytest.approx(-5 + 21.5)
    # each row is exactly the plain extraction on that component
    small = Mask(np.zeros(mask.shape, bool), mask.geometry)
    small.array[3:6, 18:23, 20:24] = True
    assert sets[1].to_dict() == extract(img, small, BASE).to_dict()
    assert sets[1].get("statistics", "mean") > sets[0].get("statistics", "mean") + 50


def test_aggregation_policies_match_their_definitions():
    img, mask = two_lesions()
    per = extract_lesions(img, mask, BASE.replace(lesions=Lesions(mode="per_lesion")))
    v = np.array([fs.lesion["lesion_volume_mm3"] for fs in per])
    largest = extract_lesions(img, mask, BASE.replace(lesions=Lesions(mode="largest")))
    assert len(largest) == 1 and largest[0].to_dict() == per[0].to_dict()
    assert largest[0].lesion == {"lesion_count": 2, "lesion_volume_total_mm3": float(v.sum())}
    vw = extract_lesions(img, mask, settings_from_dict({**BASE.to_dict(), "lesions": {"mode": "volume_weighted"}}))
    assert len(vw) == 1 and vw[0].lesion["lesion_count"] == 2
    for col in (MEAN, "original_statistics_variance", VOLUME):
        expected = (v * [fs.to_dict()[col] for fs in per]).sum() / v.sum()
        assert vw[0].to_dict()[col] == pytest.approx(expected, rel=1e-12)
    merged = extract_lesions(img, mask, BASE.replace(lesions=Lesions(mode="merged")))
    assert merged[0].to_dict() == extract(img, mask, BASE).to_dict()
    # min_voxels drops the small lesion: merged is then the large one alone
    only_big = extract_lesions(img, mask, BASE.replace(lesions=Lesions(mode="merged", min_voxels=100)))
    assert only_big[0].to_dict() == per[0].to_dict() and only_big[0].lesion["lesion_count"] == 1


def test_without_lesion_settings_it_is_plain_extract_and_empty_masks_fail_clearly():
    img, mask = two_lesions()
    (fs,) = extract_lesions(img, mask, BASE)
    assert fs.lesion == {} and fs.to_dict() == extract(img, mask, BASE).to_dict()
    with pytest.raises(EmptyMaskError, match="at least 1000 voxels"):
        extract_lesions(img, mask, BASE.replace(lesions=Lesions(mode="per_lesion", min_voxels=1000)))


def test_settings_reject_unknown_modes_and_connectivities():
    from radiomix.errors import SettingsError

    with pytest.raises(SettingsError, match="lesions.mode"):
        settings_from_dict({**BASE.to_dict(), "lesions": {"mode": "mean"}})
    with pytest.raises(SettingsError, match="lesions.connectivity"):
        settings_from_dict({**BASE.to_dict(), "lesions": {"mode": "largest", "connectivity": 5}})
    s = BASE.replace(lesions=Lesions(mode="per-lesion", connectivity=6))
    assert s.lesions.mode == "per_lesion" and s.digest() != BASE.digest()
    assert settings_from_dict(s.to_dict()) == s


def test_cli_extract_writes_one_row_per_lesion(tmp_path):
    img, mask = two_lesions()
    write_image(img, tmp_path / "img.nii.gz")
    write_mask(mask, tmp_path / "roi.nii.gz")
    BASE.to_yaml(tmp_path / "s.yaml")
    runner = CliRunner()
    args = ["extract", str(tmp_path / "img.nii.gz"), str(tmp_path / "roi.nii.gz"), "--settings",
            str(tmp_path / "s.yaml")]
    r = runner.invoke(app, [*args, "--lesions", "per-lesion", "--out", str(tmp_path / "per.csv")])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(tmp_path / "per.csv")
    assert df["lesion"].tolist() == [1, 2] and df["lesion_voxels"].tolist() == [384, 60]
    assert list(df.columns[:8]) == ["lesion", "lesion_voxels", "lesion_volume_mm3", "lesion_centroid_x_mm",
                                    "lesion_centroid_y_mm", "lesion_centroid_z_mm", "lesion_count", VOLUME]
    r = runner.invoke(app, [*args, "--lesions", "largest", "--format", "long", "--out", str(tmp_path / "l.csv")])
    assert r.exit_code == 0, r.output
    long = pd.read_csv(tmp_path / "l.csv")
    assert (long["lesion_count"] == 2).all() and "value" in long.columns
    r = runner.invoke(app, [*args, "--lesions", "biggest"])
    assert r.exit_code == 2 and "--lesions biggest" in r.output
