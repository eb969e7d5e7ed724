"""Batch with lesions: one row per lesion (stable order, identical bytes across engines, resume) or one per case."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from radiomix.batch import extract_batch
from radiomix.errors import SettingsError
from radiomix.image import Geometry, Image, Mask
from radiomix.io import write_image, write_mask
from radiomix.settings import Discretisation, Lesions, Settings

BASE = Settings(name="batch-lesions", discretisation=Discretisation(method="fixed_bin_number", bin_number=16),
                families=("statistics", "intensity_histogram"))
PER_LESION = BASE.replace(lesions=Lesions(mode="per_lesion"))
# lesion boxes (z0, z1, y0, y1, x0, x1) per case; sizes decide the order
CASES = {
    "A": [(1, 4, 2, 8, 2, 8), (6, 9, 20, 24, 20, 24)],                      # 108, 48 voxels
    "B": [(1, 3, 2, 5, 2, 5), (5, 9, 10, 16, 20, 28), (1, 4, 25, 29, 2, 6)],  # 18, 192, 48 voxels
    "C": [(2, 8, 10, 20, 10, 20)],                                           # 600 voxels
}


def make_cohort(folder):
    rows = []
    for i, (case, boxes) in enumerate(CASES.items()):
        rng = np.random.default_rng(i)
        geom = Geometry((10, 32, 32), (2.0, 1.0, 1.0), (0.0, 0.0, 0.0))
        img = Image(rng.normal(50, 15, geom.shape).round().astype(np.float32), geom)
        m = np.zeros(geom.shape, bool)
        for z0, z1, y0, y1, x0, x1 in boxes:
            m[z0:z1, y0:y1, x0:x1] = True
        write_image(img, folder / f"img{case}.nii.gz")
        write_mask(Mask(m, geom), folder / f"roi{case}.nii.gz")
        rows.append({"case_id": case, "image": f"img{case}.nii.gz", "mask": f"roi{case}.nii.gz", "site": "XY"[i % 2]})
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    return folder / "manifest.csv"


def test_one_row_per_lesion_identical_bytes_across_engines_and_resume(tmp_path):
    manifest = make_cohort(tmp_path)
    outs = []
    for name, kw in [("j1", {"jobs": 1}), ("j2", {"jobs": 2}), ("dask", {"jobs": 2, "dask": "local"})]:
        res = extract_batch(manifest, PER_LESION, tmp_path / name, **kw)
        assert res.exit_code == 0, res.failures
        outs.append((tmp_path / name / "features.parquet").read_bytes())
    assert outs[0] == outs[1] == outs[2]
    df = pd.read_parquet(tmp_path / "j1" / "features.parquet")
    assert df["case_id"].tolist() == ["A", "A", "B", "B", "B", "C"]
    assert df["lesion"].tolist() == [1, 2, 1, 2, 3, 1]
    assert df["lesion_voxels"].tolist() == [108, 48, 192, 48, 18, 600]
    assert df["lesion_count"].tolist() == [2, 2, 3, 3, 3, 1]
    assert df["site"].tolist() == ["X", "X", "Y", "Y", "Y", "X"]
    assert list(df.columns[:9]) == ["case_id", "site", "lesion", "lesion_voxels", "lesion_volume_mm3",
                                    "lesion_centroid_x_mm", "lesion_centroid_y_mm", "lesion_centroid_z_mm",
                                    "lesion_count"]
    assert df["lesion"].dtype == np.int64 and df["lesion_volume_mm3"].dtype == np.float64
    assert all(df[c].dtype == np.float64 for c in df.columns[9:])
    # B's second lesion (rows 2..4 are B; its 48-voxel box starts at z = 1, y = 25, x = 2): centroid in mm
    assert df.loc[3, ["lesion_centroid_x_mm", "lesion_centroid_y_mm", "lesion_centroid_z_mm"]].tolist() == \
        pytest.approx([3.5, 26.5, 4.0])
    # resume after losing one case's shard: only that case runs again, same bytes
    shard = next((tmp_path / "j1" / "shards").glob("B-*.parquet"))
    shard.unlink()
    res = extract_batch(manifest, PER_LESION, tmp_path / "j1", jobs=1, resume=True)
    assert sorted(s["status"] for s in res.statuses) == ["done", "skipped", "skipped"]
    assert (tmp_path / "j1" / "features.parquet").read_bytes() == outs[0]
    prov = json.loads((tmp_path / "j1" / "provenance.json").read_text())
    assert "per_lesion" in prov["settings_yaml"]


def test_aggregated_policies_give_one_row_per_case(tmp_path):
    manifest = make_cohort(tmp_path)
    res = extract_batch(manifest, BASE.replace(lesions=Lesions(mode="volume_weighted_mean")), tmp_path / "vw")
    per = extract_batch(manifest, PER_LESION, tmp_path / "per").features
    df = res.features
    assert df["case_id"].tolist() == ["A", "B", "C"] and df["lesion_count"].tolist() == [2, 3, 1]
    assert "lesion" not in df.columns
    col = "original_statistics_mean"
    b = per[per.case_id == "B"]
    assert df.loc[1, col] == pytest.approx(np.average(b[col], weights=b["lesion_volume_mm3"]), rel=1e-12)
    assert df.loc[1, "lesion_volume_total_mm3"] == pytest.approx(b["lesion_volume_mm3"].sum())
    # a different lesion setting is a different result: resume does not reuse the shards
    res2 = extract_batch(manifest, PER_LESION, tmp_path / "vw", resume=True)
    assert all(s["status"] == "done" for s in res2.statuses) and len(res2.features) == 6


def test_manifest_lesion_column_and_lesion_settings_conflict(tmp_path):
    manifest = make_cohort(tmp_path)
    df = pd.read_csv(manifest).assign(lesion=1)
    df.to_csv(manifest, index=False)
    with pytest.raises(SettingsError, match="'lesion' column"):
        extract_batch(manifest, PER_LESION, tmp_path / "out")


def test_large_roi_gives_identical_bytes_in_dask_and_the_local_pool(tmp_path):
    """A ROI of ~30k voxels: long dot products, which a multi-threaded BLAS sums in a thread-count-dependent order
    (Dask's nanny runs BLAS at one thread); workers run BLAS at one thread under both engines."""
    from radiomix.phantoms import lesion_phantom

    img, mask = lesion_phantom(shape=(40, 96, 96), spacing=(1.0, 1.0, 1.0), radius_mm=20, seed=4)
    assert mask.n_voxels > 20000
    write_image(img, tmp_path / "img.nii.gz")
    write_mask(mask, tmp_path / "roi.nii.gz")
    pd.DataFrame([{"case_id": "L", "image": "img.nii.gz", "mask": "roi.nii.gz"}]).to_csv(tmp_path / "m.csv",
                                                                                       index=False)
    blobs = []
    for name, kw in [("local", {"jobs": 1}), ("dask", {"jobs": 1, "dask": "local"})]:
        assert extract_batch(tmp_path / "m.csv", BASE, tmp_path / name, **kw).exit_code == 0
        blobs.append((tmp_path / name / "features.parquet").read_bytes())
    assert blobs[0] == blobs[1]
