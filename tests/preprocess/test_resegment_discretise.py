import numpy as np
import pytest

from radiomix.errors import InputError
from radiomix.image import Image, Mask
from radiomix.preprocess.discretise import discretise
from radiomix.preprocess.normalise import normalise_image, zscore
from radiomix.preprocess.resegment import outlier_bounds, range_mask, resegment
from radiomix.settings import Discretisation, Resegmentation


def _vol(values):
    v = np.asarray(values, dtype=float)
    return v.reshape(1, 1, -1), np.ones((1, 1, v.size), bool)


# --- re-segmentation --------------------------------------------------------------------------------------------------
def test_range_is_closed_and_open_ended_bounds():
    a, m = _vol([-501, -500, 0, 400, 401])
    assert resegment(a, m, Resegmentation(range=(-500, 400)))[0, 0].tolist() == [False, True, True, True, False]
    assert resegment(a, m, Resegmentation(range=(None, 0)))[0, 0].tolist() == [True, True, True, False, False]
    assert resegment(a, m, Resegmentation(range=(0, None)))[0, 0].tolist() == [False, False, True, True, True]
    assert resegment(a, m, None).all()


def test_outlier_uses_population_sd_and_only_mask_voxels():
    vals = np.r_[np.zeros(50), 10.0, -10.0]
    lo, hi = outlier_bounds(vals, 3)
    sd = np.sqrt(200 / 52)
    assert (lo, hi) == pytest.approx((-3 * sd, 3 * sd))
    a, m = _vol(np.r_[vals, 1e6])
    m[0, 0, -1] = False  # the huge value is outside the ROI and must not widen the interval
    out = resegment(a, m, Resegmentation(outlier_sd=3))
    assert out[0, 0, :50].all() and not out[0, 0, 50] and not out[0, 0, 51] and not out[0, 0, -1]


def test_range_then_outliers():
    # a bone-like value excluded by the range must not widen the outlier interval
    vals = np.r_[np.full(20, 0.0), np.full(20, 10.0), 30.0, 3000.0]
    a, m = _vol(vals)
    both = resegment(a, m, Resegmentation(range=(-100, 400), outlier_sd=2))
    # after the range: mean 5.6, sd ~ 6.2 -> 30 is an outlier (with 3000 in the statistics it would not be)
    assert not both[0, 0, 40] and not both[0, 0, 41] and both[0, 0, :40].all()
    _, wide_hi = outlier_bounds(vals, 2)
    assert wide_hi > 30


def test_range_mask_helper():
    assert range_mask(np.array([1.0, 2.0, 3.0]), 2, None).tolist() == [False, True, True]


# --- discretisation ---------------------------------------------------------------------------------------------------
def test_fbn_ibsi_definition():
    a, m = _vol([0, 1, 2, 5, 9.99, 10])
    lev, n = discretise(a, m, Discretisation(method="fixed_bin_number", bin_number=4))
    # floor(4 (x - 0) / 10) + 1, and the maximum goes to Ng
    assert lev[0, 0].tolist() == [1, 1, 1, 3, 4, 4] and n == 4


def test_fbn_constant_roi_is_level_one_and_outside_is_zero():
    a, m = _vol([7, 7, 7, -3])
    m[0, 0, 3] = False
    lev, n = discretise(a, m, Discretisation(method="fixed_bin_number", bin_number=16))
    assert lev[0, 0].tolist() == [1, 1, 1, 0] and n == 16


def test_fbs_minimum_from_resegmentation_then_min_value_then_roi():
    a, m = _vol([-500, -476, -475, 399, 400])
    fbs = Discretisation(method="fixed_bin_size", bin_width=25)
    lev, n = discretise(a, m, fbs, Resegmentation(range=(-500, 400)))
    assert lev[0, 0].tolist() == [1, 1, 2, 36, 37] and n == 37
    lev, _ = discretise(a + 10, m, fbs)  # no range: ROI minimum -490
    assert lev[0, 0].tolist() == [1, 1, 2, 36, 37]
    lev, _ = discretise(a, m, fbs.model_copy(update={"min_value": -1000.0}), Resegmentation(range=(-500, 400)))
    assert lev[0, 0, 0] == 21
    lev, _ = discretise(a + 3, m, fbs, Resegmentation(range=(-500, 400)), use_resegmentation_bound=False)
    assert lev[0, 0].tolist() == [1, 1, 2, 36, 37]


def test_fbs_decimal_width_is_robust_to_round_off():
    a, m = _vol([0.0, 0.1, 0.3, 0.7])
    lev, _ = discretise(a, m, Discretisation(method="fixed_bin_size", bin_width=0.1, min_value=0.0))
    assert lev[0, 0].tolist() == [1, 2, 4, 8]


def test_fbs_below_lower_edge_raises():
    a, m = _vol([-10, 5])
    with pytest.raises(InputError, match="below the lower bin edge 0"):
        discretise(a, m, Discretisation(method="fixed_bin_size", bin_width=1, min_value=0.0))


def test_none_needs_positive_integers():
    a, m = _vol([1, 2, 6])
    lev, n = discretise(a, m, Discretisation(method="none"))
    assert lev[0, 0].tolist() == [1, 2, 6] and n == 6
    with pytest.raises(InputError, match="integer"):
        discretise(a + 0.5, m, Discretisation(method="none"))
    with pytest.raises(InputError, match=">= 1"):
        discretise(a - 1, m, Discretisation(method="none"))


# --- normalisation ----------------------------------------------------------------------------------------------------
def test_zscore_over_image_and_roi():
    a = np.arange(24.0).reshape(2, 3, 4)
    z = zscore(a)
    assert z.mean() == pytest.approx(0) and z.std() == pytest.approx(1)
    m = np.zeros(a.shape, bool)
    m[0, 0, :2] = True  # values 0 and 1: mean 0.5, sd 0.5
    zr = zscore(a, m, scale=100)
    assert zr[0, 0, :2].tolist() == [-100, 100] and zr[1, 2, 3] == pytest.approx((23 - 0.5) / 0.5 * 100)
    zc = zscore(a, m, scale=100, clip_sd=3)
    assert zc.max() == 300 and zc.min() == -100


def test_zscore_errors_and_image_wrapper():
    with pytest.raises(InputError, match="constant"):
        zscore(np.ones((2, 2, 2)))
    with pytest.raises(InputError, match="empty"):
        zscore(np.arange(8.0).reshape(2, 2, 2), np.zeros((2, 2, 2), bool))
    img = Image.from_array(np.arange(8.0).reshape(2, 2, 2), source="mr.nii.gz")
    out = normalise_image(img, Mask.from_array(np.ones((2, 2, 2))))
    assert out.source == "mr.nii.gz" and out.array.std() == pytest.approx(1)
