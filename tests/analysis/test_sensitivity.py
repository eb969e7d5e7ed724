"""settings_sensitivity: grid expansion, ICC and CV across settings, single-case behaviour, grid errors."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.analysis.sensitivity import COLUMNS, grid_settings, load_grid, settings_sensitivity
from radiomix.errors import InputError, SettingsError
from radiomix.phantoms import lesion_phantom
from radiomix.settings import Discretisation, Settings

BASE = Settings(name="sens", families=("statistics", "intensity_histogram", "glcm"),
                discretisation=Discretisation(method="fixed_bin_number", bin_number=16))


def _cohort(k=3):
    ims, ms = [], []
    for c in range(k):
        im, m = lesion_phantom(shape=(10, 28, 28), spacing=(2.0, 1.0, 1.0), radius_mm=5.0 + c, seed=c,
                               heterogeneity=0.5 + 0.5 * c)
        ims.append(im.with_array(np.where(m.array, im.array + 20.0 * c, im.array)))
        ms.append(m)
    return ims, ms


def test_grid_is_the_product_of_its_axes():
    v = grid_settings(BASE, {"bin_width": [10, 25], "bin_number": [8], "spacing_mm": [1, [1, 1, 2]],
                             "interpolator": ["linear", "cubic"]})
    assert len(v) == 3 * 2 * 2
    s = v["bw25_sp1x1x2_cubic"]
    assert s.discretisation.method == "fixed_bin_size" and s.discretisation.bin_width == 25
    assert s.resampling.spacing_mm == (1.0, 1.0, 2.0) and s.resampling.interpolator == "cubic"
    assert v["bn8_sp1x1x1_linear"].discretisation.bin_number == 8
    assert len({x.digest() for x in v.values()}) == 12


def test_cohort_icc_and_cv():
    ims, ms = _cohort()
    t = settings_sensitivity(ims, ms, BASE, {"bin_number": [8, 16, 32], "interpolator": ["linear", "cubic"]})
    assert list(t.columns) == COLUMNS and (t["n_settings"] == 6).all() and (t["n_cases"] == 3).all()
    by = t.set_index("feature")
    # first-order statistics ignore discretisation; on the original grid (spacing kept) interpolation is identity
    assert by.loc["original_statistics_mean", "cv"] == pytest.approx(0.0, abs=1e-12)
    assert by.loc["original_statistics_mean", "icc"] == pytest.approx(1.0)
    # texture under a changing bin number is not the same: lower agreement, positive CV
    ent = by.loc["original_glcm_joint_entropy_3d_averaged"]
    assert ent["cv"] > 0.05 and ent["icc"] < 0.9 and ent["icc_low"] <= ent["icc"] <= ent["icc_high"]
    assert t["icc"].dropna().is_monotonic_decreasing and list(t["rank"]) == list(range(1, len(t) + 1))


def test_spacing_changes_features_single_case_has_no_icc():
    ims, ms = _cohort(1)
    t = settings_sensitivity(ims[0], ms[0], BASE, {"spacing_mm": [1, 2]})
    assert t["icc"].isna().all() and t["cv"].is_monotonic_increasing
    assert t.set_index("feature").loc["original_statistics_mean", "cv"] > 0  # different voxels after resampling


def test_grid_errors(tmp_path):
    with pytest.raises(SettingsError, match="unknown sensitivity grid key"):
        grid_settings(BASE, {"bin_widht": [1]})
    with pytest.raises(SettingsError, match="spacing_mm values"):
        grid_settings(BASE, {"spacing_mm": [[1, 2]]})
    with pytest.raises(SettingsError, match="invalid grid value"):
        grid_settings(BASE, {"interpolator": ["bspline"]})
    with pytest.raises(SettingsError, match="not found"):
        load_grid(tmp_path / "none.yaml")
    (tmp_path / "g.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(SettingsError, match="g.yaml: a sensitivity grid is a mapping"):
        load_grid(tmp_path / "g.yaml")
    ims, ms = _cohort(1)
    with pytest.raises(InputError, match="single setting"):
        settings_sensitivity(ims[0], ms[0], BASE, {"bin_number": [16]})
