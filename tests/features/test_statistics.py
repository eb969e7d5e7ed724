"""Intensity-based statistics (IBSI 3.3): against scipy.stats where definitions coincide, hand-worked values, the
digital phantom, degenerate inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats as sps

from radiomix.features import statistics as st
from radiomix.features.base import RoiData
from radiomix.settings import Discretisation, Settings

# IBSI digital phantom ROI intensities: 1 (50 voxels), 3 (1), 4 (16), 6 (7)
DIG = np.repeat([1.0, 3.0, 4.0, 6.0], [50, 1, 16, 7])


def _roi(image, mask=None) -> RoiData:
    image = np.asarray(image, dtype=np.float64)
    mask = np.ones(image.shape, bool) if mask is None else np.asarray(mask, bool)
    return RoiData(image=image, mask_morph=mask, mask_int=mask, spacing=(1.0, 1.0, 1.0),
                   levels=np.where(mask, 1, 0).astype(np.int32), n_levels=1,
                   settings=Settings(discretisation=Discretisation(method="none")))


def _values(x) -> dict[str, float]:
    return {name: v for name, _, v in st.compute(_roi(np.asarray(x, float).reshape(1, 1, -1)))}


@pytest.fixture(scope="module")
def rnd():
    return np.random.default_rng(7).gamma(2.0, 30.0, size=2001) - 40.0


def test_registry_complete_and_ids_unique():
    assert len(st.FEATURES) == 18
    assert len({f.name for f in st.FEATURES}) == 18
    assert len({f.ibsi for f in st.FEATURES}) == 18
    assert all(len(f.ibsi) == 4 and f.formula for f in st.FEATURES)
    assert st.FAMILY.ibsi == "UHIW"


def test_against_scipy(rnd):
    v = _values(rnd)
    assert v["mean"] == pytest.approx(np.mean(rnd), rel=1e-12)
    assert v["variance"] == pytest.approx(np.var(rnd), rel=1e-12)
    assert v["skewness"] == pytest.approx(sps.skew(rnd, bias=True), rel=1e-10)
    assert v["kurtosis"] == pytest.approx(sps.kurtosis(rnd, fisher=True, bias=True), rel=1e-10)
    assert v["median"] == pytest.approx(np.median(rnd), rel=1e-12)
    # scoreatpercentile interpolates linearly between order statistics (type 7), the definition we use
    assert v["percentile_10"] == pytest.approx(sps.scoreatpercentile(rnd, 10), rel=1e-12)
    assert v["percentile_90"] == pytest.approx(sps.scoreatpercentile(rnd, 90), rel=1e-12)
    assert v["interquartile_range"] == pytest.approx(sps.iqr(rnd), rel=1e-12)
    assert v["minimum"] == rnd.min() and v["maximum"] == rnd.max()
    assert v["range"] == pytest.approx(np.ptp(rnd))
    assert v["coefficient_of_variation"] == pytest.approx(sps.variation(rnd, ddof=0), rel=1e-12)
    assert v["mean_absolute_deviation"] == pytest.approx(np.mean(np.abs(rnd - rnd.mean())), rel=1e-12)
    assert v["median_absolute_deviation"] == pytest.approx(np.mean(np.abs(rnd - np.median(rnd))), rel=1e-12)
    assert v["energy"] == pytest.approx(np.sum(rnd ** 2), rel=1e-12)
    assert v["root_mean_square"] == pytest.approx(np.sqrt(np.mean(rnd ** 2)), rel=1e-12)
    q1, q3 = np.percentile(rnd, [25, 75])
    assert v["quartile_coefficient_of_dispersion"] == pytest.approx((q3 - q1) / (q3 + q1), rel=1e-12)


def test_robust_mad_hand_worked():
    # 1..10: P10 = 1.9, P90 = 9.1 -> {2..9}, mean 5.5, mean |x - 5.5| = 2
    assert _values(np.arange(1, 11))["robust_mean_absolute_deviation"] == pytest.approx(2.0)
    # the bounds are inclusive: 0 x5, 1 x90, 2 x5 -> P10 = P90 = 1 -> only the 1s, deviation 0
    x = np.repeat([0.0, 1.0, 2.0], [5, 90, 5])
    assert _values(x)["robust_mean_absolute_deviation"] == 0.0


def test_digital_phantom_exact():
    v = _values(DIG)
    n = DIG.size
    assert v["mean"] == pytest.approx(159 / n)
    assert v["energy"] == 567.0
    assert v["median"] == 1 and v["percentile_10"] == 1 and v["percentile_90"] == 4  # type 5 would give 4.2
    assert v["interquartile_range"] == 3 and v["quartile_coefficient_of_dispersion"] == pytest.approx(0.6)
    assert round(v["robust_mean_absolute_deviation"], 2) == 1.11
    assert round(v["median_absolute_deviation"], 2) == 1.15
    assert round(v["kurtosis"], 3) == -0.355


def test_voxels_outside_mask_are_ignored_and_order_does_not_matter(rnd):
    img = np.concatenate([rnd, [1e6, -1e6]]).reshape(1, 1, -1)
    mask = np.ones(img.shape, bool)
    mask[..., -2:] = False
    a = {k: v for k, _, v in st.compute(_roi(img, mask))}
    b = _values(np.random.default_rng(1).permutation(rnd))
    assert a == pytest.approx(b, rel=1e-12)


def test_shift_invariance_of_spread_features(rnd):
    a, b = _values(rnd), _values(rnd + 1000.0)
    for name in ("variance", "skewness", "kurtosis", "interquartile_range", "range", "mean_absolute_deviation",
                 "robust_mean_absolute_deviation", "median_absolute_deviation"):
        assert b[name] == pytest.approx(a[name], rel=1e-8, abs=1e-9), name
    assert b["mean"] == pytest.approx(a["mean"] + 1000.0)


@pytest.mark.parametrize("x", [[5.0], [3.0] * 10])
def test_constant_input_no_warnings(x):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = _values(x)
    assert v["variance"] == 0 and v["skewness"] == 0 and v["kurtosis"] == 0  # IBSI: 0 when variance is 0
    assert v["coefficient_of_variation"] == 0 and v["quartile_coefficient_of_dispersion"] == 0
    assert v["robust_mean_absolute_deviation"] == 0 and v["range"] == 0
    assert v["root_mean_square"] == pytest.approx(x[0])


def test_zero_mean_gives_documented_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = _values([-1.0, 1.0])
        z = _values([0.0, 0.0, 0.0])
    assert np.isnan(v["coefficient_of_variation"])
    assert np.isnan(z["coefficient_of_variation"]) and np.isnan(z["quartile_coefficient_of_dispersion"])
    # two values: P10 and P90 fall between the same order statistics, no value in [P10, P90]
    assert np.isnan(v["robust_mean_absolute_deviation"])
    assert v["skewness"] == 0 and v["kurtosis"] == pytest.approx(-2.0)


def test_empty_sample_is_nan_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = st.Sample.of([])
        vals = [f.func(s) for f in st.FEATURES]
    assert all(np.isnan(v) for v in vals)
