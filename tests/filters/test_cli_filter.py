"""`radiomix filter`: response maps as NIfTI, with phase 1 presets against the IBSI 2 reference maps, the ROI-box
mode against whole-image filtering, and plain errors."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from typer.testing import CliRunner

from radiomix.cli import app
from radiomix.filters import apply_filter
from radiomix.filters.response import IBSI2_PHASE1, response_maps
from radiomix.image import Image, Mask
from radiomix.io import read_image, write_image, write_mask
from radiomix.settings import PRESETS, Discretisation, Settings, preset
from tests.conftest import require_reference

runner = CliRunner()


def _phase1():
    base = require_reference() / "ibsi" / "ibsi2" / "phase1"
    with open(base / "tests.csv", newline="") as f:
        return base, {r["test_id"]: r for r in csv.DictReader(f)}


def test_every_phase1_test_with_a_reference_map_has_a_preset():
    _, rows = _phase1()
    with_map = {t for t, r in rows.items() if r["reference_response_map"]}
    assert {f"ibsi2_phase1_{t}" for t in with_map} == {k for k in PRESETS if k.startswith("ibsi2_phase1_")}
    # the two aligned Riesz tests have no published map (nor parameters): no preset
    assert not rows["9.b.2"]["reference_response_map"] and not rows["10.b.2"]["reference_response_map"]
    assert preset("ibsi2_phase1_3.a.1").filters == (IBSI2_PHASE1["3.a.1"][1],)


# one per filter family (the full phase 1 set runs in tests/filters/test_ibsi2_phase1.py on the same table)
@pytest.mark.parametrize("test_id", ["1.b.1", "2.b", "3.a.1", "4.a.1", "5.a.1", "8.a.1"])
def test_cli_phase1_preset_reproduces_reference_map(test_id, tmp_path):
    base, rows = _phase1()
    row = rows[test_id]
    phantom = base / "phantoms" / row["phantom"] / "image.nii.gz"
    r = runner.invoke(app, ["filter", str(phantom), "--preset", f"ibsi2_phase1_{test_id}", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    (written,) = list(tmp_path.glob("*.nii.gz"))
    name = IBSI2_PHASE1[test_id][1].name()
    assert written.name == f"{name}.nii.gz"
    got, ref, src = read_image(written), read_image(base / row["reference_response_map"]), read_image(phantom)
    assert got.array.dtype == np.float32
    assert got.geometry.differences(src.geometry) == []
    err = float(np.max(np.abs(got.array.astype(float) - ref.array.astype(float))))
    assert err <= float(row["tolerance_1pct_of_range"]), f"{test_id}: max error {err}"


def _case():
    rng = np.random.default_rng(3)
    a = rng.normal(100, 20, (30, 40, 36))
    img = Image.from_array(a, spacing=(2.0, 1.0, 1.2), origin=(5.0, -3.0, 1.0), source="rand")
    m = np.zeros(a.shape, bool)
    m[12:18, 15:25, 14:22] = True
    return img, Mask.from_array(m, spacing=(2.0, 1.0, 1.2), origin=(5.0, -3.0, 1.0))


def test_mask_mode_filters_roi_box_and_matches_whole_image():
    img, mask = _case()
    s = Settings(discretisation=Discretisation(method="fixed_bin_number", bin_number=16),
                 filters=({"kind": "log", "sigma_mm": 1.5}, {"kind": "laws", "kernel": "L5E5E5", "energy_delta": 2},
                          {"kind": "wavelet", "wavelet": "db3", "subband": "LLH"}))
    res = response_maps(img, s, mask)
    assert res.box is not None and any("ROI bounding box" in n for n in res.notes)
    assert res.box != (slice(0, 30), slice(0, 40), slice(0, 36))  # really cropped
    for spec in s.filters:
        (name, full), = apply_filter(img.array, img.spacing, spec, "3d").items()
        got = res.maps[name].array
        assert got.dtype == np.float32 and got.shape == img.shape
        assert np.isnan(got[0, 0, 0])
        inside = mask.array
        np.testing.assert_allclose(got[inside], full[inside], rtol=1e-5, atol=1e-4 * np.abs(full).max())


def test_cli_mask_mode_and_errors(tmp_path):
    img, mask = _case()
    ip, mp = write_image(img, tmp_path / "i.nii.gz"), write_mask(mask, tmp_path / "m.nii.gz")
    (tmp_path / "s.yaml").write_text("discretisation: {method: fixed_bin_number, bin_number: 8}\n"
                                     "filters: [{kind: mean, support: 3}]\n")
    r = runner.invoke(app, ["filter", str(ip), "--mask", str(mp), "--settings", str(tmp_path / "s.yaml"),
                            "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert "ROI bounding box" in r.output and (tmp_path / "out" / "mean_3.nii.gz").exists()
    r = runner.invoke(app, ["filter", str(ip), "--preset", "ibsi_config_a", "--out", str(tmp_path / "o2")])
    assert r.exit_code != 0 and "no filters are configured" in str(r.exception)
