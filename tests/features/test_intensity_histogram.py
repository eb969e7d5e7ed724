"""Intensity histogram features (IBSI 3.4): hand-worked histograms, scipy entropy, bounds, ties, degenerate cases."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst
from scipy import stats as sps

from radiomix.features import intensity_histogram as ih
from radiomix.features.base import RoiData
from radiomix.settings import Discretisation, Settings

DIG_LEVELS = np.repeat([1, 3, 4, 6], [50, 1, 16, 7])


def _values(levels, n_levels=None) -> dict[str, float]:
    lev = np.asarray(levels, dtype=np.int32).reshape(1, 1, -1)
    n_levels = int(lev.max()) if n_levels is None else n_levels
    mask = np.ones(lev.shape, bool)
    roi = RoiData(image=lev.astype(float), mask_morph=mask, mask_int=mask, spacing=(1.0, 1.0, 1.0), levels=lev,
                  n_levels=n_levels, settings=Settings(discretisation=Discretisation(method="none")))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return {name: v for name, _, v in ih.compute(roi)}


def test_registry():
    assert len(ih.FEATURES) == 23
    assert len({f.name for f in ih.FEATURES}) == 23 and len({f.ibsi for f in ih.FEATURES}) == 23
    ids = {f.name: f.ibsi for f in ih.FEATURES}
    assert ids["percentile_10"] == "GPMT" and ids["percentile_90"] == "OZ0C" and ids["minimum"] == "1PR8"
    assert ih.FAMILY.ibsi == "ZVCW"


def test_digital_phantom_histogram():
    v = _values(DIG_LEVELS)
    # H = (50, 0, 1, 16, 0, 7): H' = (-50, -24.5, 8, -0.5, -4.5, 7)
    assert v["maximum_histogram_gradient"] == 8 and v["maximum_histogram_gradient_grey_level"] == 3
    assert v["minimum_histogram_gradient"] == -50 and v["minimum_histogram_gradient_grey_level"] == 1
    assert v["mode"] == 1
    assert v["entropy"] == pytest.approx(sps.entropy([50, 1, 16, 7], base=2), rel=1e-12)
    assert v["uniformity"] == pytest.approx((50**2 + 1 + 16**2 + 7**2) / 74**2, rel=1e-12)
    assert round(v["entropy"], 2) == 1.27 and round(v["uniformity"], 3) == 0.512
    assert v["mean"] == pytest.approx(159 / 74) and v["percentile_90"] == 4


def test_histogram_is_non_sparse_and_counts_absent_top_levels():
    # levels 1 and 3 present, Ng = 5: H = (2, 0, 1, 0, 0), H' = (-2, -0.5, 0, -0.5, 0)
    v = _values([1, 1, 3], n_levels=5)
    assert v["minimum_histogram_gradient"] == -2 and v["minimum_histogram_gradient_grey_level"] == 1
    assert v["maximum_histogram_gradient"] == 0 and v["maximum_histogram_gradient_grey_level"] == 3  # lowest tie
    assert v["maximum"] == 3  # the maximum present, not Ng


@pytest.mark.parametrize("levels, expected", [
    ([1, 1, 4, 4, 5], 4),   # tie 1/4, mean 3: 4 is closer
    ([1, 1, 2, 4, 4], 1),   # tie 1/4, mean 2.4: 1 is closer
    ([1, 1, 3, 3], 1),      # tie 1/3 equidistant from mean 2: the lower one
    ([2, 2, 2, 5], 2),      # unique mode
])
def test_mode_tie_rule(levels, expected):
    assert _values(levels)["mode"] == expected


@settings(max_examples=40, deadline=None)
@given(hst.lists(hst.integers(1, 12), min_size=1, max_size=200))
def test_entropy_and_uniformity_bounds(levels):
    v = _values(levels, n_levels=12)
    assert -1e-12 <= v["entropy"] <= np.log2(12) + 1e-12
    assert 1 / 12 - 1e-12 <= v["uniformity"] <= 1 + 1e-12
    assert v["entropy"] == pytest.approx(sps.entropy(np.bincount(levels), base=2), abs=1e-12)


def test_entropy_of_uniform_histogram_is_log2_ng():
    v = _values(np.repeat(np.arange(1, 9), 3))
    assert v["entropy"] == pytest.approx(3.0) and v["uniformity"] == pytest.approx(1 / 8)


def test_single_level_degenerate():
    v = _values([1, 1, 1], n_levels=1)
    assert v["entropy"] == 0 and v["uniformity"] == 1 and v["mode"] == 1 and v["variance"] == 0
    assert v["skewness"] == 0 and v["kurtosis"] == 0
    for name in ("maximum_histogram_gradient", "maximum_histogram_gradient_grey_level",
                 "minimum_histogram_gradient", "minimum_histogram_gradient_grey_level"):
        assert np.isnan(v[name]), name
    # one level present but Ng = 3 (FBN on a constant ROI): the gradient is defined
    w = _values([1, 1, 1], n_levels=3)
    assert w["minimum_histogram_gradient"] == -3 and w["minimum_histogram_gradient_grey_level"] == 1


def test_levels_outside_1_to_ng_raise():
    with pytest.raises(ValueError, match="grey levels"):
        _ = ih.Histogram.of_levels([1, 4], 3).counts
