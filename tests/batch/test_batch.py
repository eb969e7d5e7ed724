"""Batch extraction: engines agree byte for byte, SIGKILL + resume, failure ledger, memory limit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiomix.batch import extract_batch
from radiomix.image import Image, Mask
from radiomix.io import write_image, write_mask
from radiomix.phantoms import lesion_phantom
from radiomix.settings import Discretisation, Settings

SETTINGS = Settings(name="batch-test", discretisation=Discretisation(method="fixed_bin_number", bin_number=16),
                    families=("statistics", "intensity_histogram"))


def make_cohort(folder: Path, n: int, shape=(12, 40, 40)) -> Path:
    rows = []
    for i in range(n):
        img, mask = lesion_phantom(shape=shape, spacing=(2.0, 1.0, 1.0), radius_mm=8 + i % 3, seed=i)
        write_image(img, folder / f"img{i}.nii.gz")
        write_mask(mask, folder / f"roi{i}.nii.gz")
        rows.append({"case_id": f"P{i:03d}", "image": f"img{i}.nii.gz", "mask": f"roi{i}.nii.gz",
                     "site": "AB"[i % 2]})
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    return folder / "manifest.csv"


def test_local_pool_worker_counts_and_dask_give_identical_bytes(tmp_path):
    manifest = make_cohort(tmp_path, 6)
    outs = []
    for name, kw in [("j1", {"jobs": 1}), ("j2", {"jobs": 2}), ("dask", {"jobs": 2, "dask": "local"})]:
        res = extract_batch(manifest, SETTINGS, tmp_path / name, **kw)
        assert res.exit_code == 0 and len(res.features) == 6
        outs.append((tmp_path / name / "features.parquet").read_bytes())
    assert outs[0] == outs[1] == outs[2]
    df = pd.read_parquet(tmp_path / "j1" / "features.parquet")
    assert list(df.columns[:2]) == ["case_id", "site"] and df["case_id"].tolist() == [f"P{i:03d}" for i in range(6)]
    assert all(df[c].dtype == np.float64 for c in df.columns[2:])
    prov = json.loads((tmp_path / "dask" / "provenance.json").read_text())
    assert prov["settings_digest"] == SETTINGS.digest() and prov["n_done"] == 6 and prov["manifest_sha256"]
    assert "numpy" in prov["versions"] and prov["cases"]


def test_failure_ledger_has_exactly_the_bad_cases(tmp_path):
    manifest = make_cohort(tmp_path, 3)
    df = pd.read_csv(manifest, dtype={"case_id": str})
    (tmp_path / "corrupt.nii.gz").write_bytes(b"\x1f\x8b\x08 garbage")
    _, mask = lesion_phantom(shape=(12, 40, 40), seed=9)
    write_mask(Mask(np.zeros(mask.array.shape, bool), mask.geometry), tmp_path / "empty.nii.gz")
    shifted = Mask(mask.array, mask.geometry.with_shape_spacing_origin(mask.shape, mask.spacing, (5.0, 0, 0)))
    write_mask(shifted, tmp_path / "shifted.nii.gz")
    bad = pd.DataFrame([
        {"case_id": "BAD_CORRUPT", "image": "corrupt.nii.gz", "mask": "roi0.nii.gz", "site": "A"},
        {"case_id": "BAD_MISSING", "image": "nope.nii.gz", "mask": "roi0.nii.gz", "site": "A"},
        {"case_id": "BAD_EMPTY", "image": "img0.nii.gz", "mask": "empty.nii.gz", "site": "B"},
        {"case_id": "BAD_GEOMETRY", "image": "img0.nii.gz", "mask": "shifted.nii.gz", "site": "B"},
    ])
    pd.concat([df.iloc[:2], bad, df.iloc[2:]]).to_csv(manifest, index=False)
    res = extract_batch(manifest, SETTINGS, tmp_path / "out", jobs=2)
    assert res.exit_code == 1
    assert sorted(res.features["case_id"]) == ["P000", "P001", "P002"]
    led = pd.read_parquet(tmp_path / "out" / "failures.parquet").set_index("case_id")
    assert sorted(led.index) == ["BAD_CORRUPT", "BAD_EMPTY", "BAD_GEOMETRY", "BAD_MISSING"]
    assert "corrupt.nii.gz" in led.loc["BAD_CORRUPT", "message"] and led.loc["BAD_CORRUPT", "stage"] == "read"
    assert "nope.nii.gz" in led.loc["BAD_MISSING", "message"]
    assert "empty.nii.gz" in led.loc["BAD_EMPTY", "message"] and "no non-zero voxels" in led.loc["BAD_EMPTY",
                                                                                                   "message"]
    assert "origin differs" in led.loc["BAD_GEOMETRY", "message"] and led.loc["BAD_GEOMETRY", "stage"] == "preprocess"


def test_memory_limit_fails_only_the_big_case(tmp_path):
    manifest = make_cohort(tmp_path, 2)
    big = Image.from_array(np.zeros((120, 256, 256), np.float32))
    write_image(big, tmp_path / "big.nrrd")
    m = np.zeros(big.shape, bool)
    m[2:-2, 2:-2, 2:-2] = True  # ~7.5M ROI voxels: the float64 working copy alone needs ~60 MiB
    write_mask(Mask(m, big.geometry), tmp_path / "bigroi.nrrd")
    df = pd.read_csv(manifest, dtype={"case_id": str})
    df.loc[len(df)] = {"case_id": "BIG", "image": "big.nrrd", "mask": "bigroi.nrrd", "site": "A"}
    df.to_csv(manifest, index=False)
    res = extract_batch(manifest, SETTINGS, tmp_path / "out", jobs=1, memory_limit_mb=40)
    led = res.failures.set_index("case_id")
    assert list(led.index) == ["BIG"] and "memory limit of 40 MiB" in led.loc["BIG", "message"]
    assert sorted(res.features["case_id"]) == ["P000", "P001"]


def _cli(args, **kw):
    return subprocess.Popen([sys.executable, "-m", "radiomix.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kw)


@pytest.mark.slow
def test_sigkill_midway_then_resume_matches_uninterrupted_run(tmp_path):
    manifest = make_cohort(tmp_path, 10, shape=(24, 64, 64))
    settings = tmp_path / "s.yaml"
    SETTINGS.to_yaml(settings)
    ref = _cli(["batch", str(manifest), "--out", str(tmp_path / "ref"), "--settings", str(settings)])
    assert ref.wait(300) == 0, ref.stderr.read().decode()
    out = tmp_path / "killed"
    p = _cli(["batch", str(manifest), "--out", str(out), "--settings", str(settings)], start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "shards").glob("*.json"))) < 3:
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    finished = {q.stem for q in (out / "shards").glob("*.json")}
    assert 3 <= len(finished) < 10 and not (out / "features.parquet").exists()
    r = _cli(["batch", str(manifest), "--out", str(out), "--settings", str(settings), "--resume"])
    assert r.wait(300) == 0, r.stderr.read().decode()
    assert (out / "features.parquet").read_bytes() == (tmp_path / "ref" / "features.parquet").read_bytes()
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["n_skipped"] == len(finished) and prov["n_done"] == 10 - len(finished)
