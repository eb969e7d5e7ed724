"""Batch worker in PyRadiomics mode: without a ``label`` column the parameter file's ``label`` (PyRadiomics' default
1) selects the ROI, as PyRadiomics' batch mode does; a manifest label still wins."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from radiomix.batch.worker import run_case
from radiomix.compat.pyradiomics import settings_from_params


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """A 12^3 image whose label-1 region is dark (values ~10) and label-2 region bright (~100)."""
    d = tmp_path_factory.mktemp("batch_label")
    rng = np.random.default_rng(3)
    img = rng.normal(50, 5, size=(12, 12, 12))
    lab = np.zeros(img.shape, np.uint8)
    lab[2:6, 2:6, 2:6] = 1
    lab[6:11, 6:11, 6:11] = 2
    img[lab == 1] = rng.normal(10, 2, size=int((lab == 1).sum()))
    img[lab == 2] = rng.normal(100, 2, size=int((lab == 2).sum()))
    for arr, name in ((img.astype(np.float32), "image.nrrd"), (lab, "mask.nrrd")):
        im = sitk.GetImageFromArray(arr)
        im.SetSpacing((1.0, 1.0, 1.0))
        sitk.WriteImage(im, str(d / name))
    return d, img, lab


def _run(case, setting: dict, label=None) -> pd.Series:
    d, _, _ = case
    settings = settings_from_params({"setting": {"binWidth": 5, **setting}, "imageType": {"Original": {}},
                                     "featureClass": {"firstorder": ["Mean"]}})
    row = {"row_id": f"r{len(setting)}{label}", "case_id": "c0", "image": str(d / "image.nrrd"),
           "mask": str(d / "mask.nrrd")}
    if label is not None:
        row["label"] = label
    shards = d / f"shards{len(setting)}{label}"
    shards.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        status = run_case(row, settings, str(shards))
    assert status["status"] == "done", status
    assert "RADIOMIX_THREADS" not in os.environ  # the case ran on one thread and put the variable back
    return pd.read_parquet(shards / f"{row['row_id']}.parquet").iloc[0]


def test_label_defaults_to_parameter_file_label(case):
    _, img, lab = case
    got = _run(case, {"label": 2})
    np.testing.assert_allclose(got["original_statistics_mean"], img[lab == 2].mean(), rtol=1e-6)


def test_label_defaults_to_pyradiomics_default_1(case):
    _, img, lab = case
    got = _run(case, {})
    np.testing.assert_allclose(got["original_statistics_mean"], img[lab == 1].mean(), rtol=1e-6)


def test_manifest_label_wins(case):
    _, img, lab = case
    got = _run(case, {"label": 2}, label=1)
    np.testing.assert_allclose(got["original_statistics_mean"], img[lab == 1].mean(), rtol=1e-6)
