"""ICC, CCC, within-subject CV, phantom repeatability and ICCSelector."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline

from radiomix.analysis import (
    ICCSelector,
    ccc,
    concordance,
    icc,
    icc_from_array,
    phantom_repeatability,
    within_subject_cv,
)
from radiomix.errors import InputError

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges.
SF_TABLE = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float)
# Shrout & Fleiss (1979), Table 4 (published to 2 decimals).
SF_PUBLISHED = {"icc1": 0.17, "icc2": 0.29, "icc3": 0.71, "icc1k": 0.44, "icc2k": 0.62, "icc3k": 0.91}


def long_table(cube: np.ndarray, names=None) -> pd.DataFrame:
    n, k, p = cube.shape
    names = names or [f"f{j}" for j in range(p)]
    rows = [{"case": f"c{i}", "rater": f"r{r}", **{names[j]: cube[i, r, j] for j in range(p)}}
            for i in range(n) for r in range(k)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("form", sorted(SF_PUBLISHED))
def test_shrout_fleiss_published_values(form):
    res = icc(long_table(SF_TABLE[:, :, None]))
    assert round(float(res[form].iloc[0]), 2) == SF_PUBLISHED[form]


def test_shrout_fleiss_mean_squares():
    # Shrout & Fleiss Table 3: BMS 11.24, WMS 6.26, JMS 32.49, EMS 1.02
    r = icc_from_array(SF_TABLE)
    assert r[["msr", "msw", "msc", "mse"]].iloc[0].round(2).tolist() == [11.24, 6.26, 32.49, 1.02]


# pingouin >= 0.7 names the forms after McGraw & Wong
PINGOUIN_TYPES = {"ICC(1,1)": "icc1", "ICC(A,1)": "icc2", "ICC(C,1)": "icc3", "ICC(1,k)": "icc1k",
                  "ICC(A,k)": "icc2k", "ICC(C,k)": "icc3k"}


def _pingouin(df, feature):
    pg = pytest.importorskip("pingouin")
    out = pg.intraclass_corr(data=df, targets="case", raters="rater", ratings=feature).set_index("Type")
    old_names = {"ICC1": "ICC(1,1)", "ICC2": "ICC(A,1)", "ICC3": "ICC(C,1)", "ICC1k": "ICC(1,k)", "ICC2k": "ICC(A,k)",
                 "ICC3k": "ICC(C,k)"}  # pingouin < 0.7
    return out.rename(index=old_names)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_icc_matches_pingouin(seed):
    rng = np.random.default_rng(seed)
    n, k, p = 15, 3, 4
    subject = rng.normal(0, rng.uniform(0.5, 3, p), (n, 1, p))
    rater = rng.normal(0, 1, (1, k, p))
    cube = 10 + subject + rater + rng.normal(0, 1, (n, k, p))
    df = long_table(cube)
    ours = icc(df)
    for f in ours.index:
        ref = _pingouin(df, f)
        for ptype, col in PINGOUIN_TYPES.items():
            assert ours.loc[f, col] == pytest.approx(ref.loc[ptype, "ICC"], abs=1e-9)
            lo, hi = ref.loc[ptype, "CI95"] if "CI95" in ref.columns else ref.loc[ptype, "CI95%"]
            # pingouin rounds its intervals to 2 decimals
            assert ours.loc[f, col + "_low"] == pytest.approx(lo, abs=0.005 + 1e-12)
            assert ours.loc[f, col + "_high"] == pytest.approx(hi, abs=0.005 + 1e-12)


def test_shrout_fleiss_matches_pingouin_exactly():
    df = long_table(SF_TABLE[:, :, None], ["rating"])
    ref = _pingouin(df, "rating")
    ours = icc(df).iloc[0]
    for ptype, col in PINGOUIN_TYPES.items():
        assert ours[col] == pytest.approx(ref.loc[ptype, "ICC"], abs=1e-9)


def test_icc_interval_formulas_icc1_exact():
    """ICC(1,1) interval by hand from the F quantiles (Shrout & Fleiss eq. for case 1)."""
    from scipy import stats

    r = icc_from_array(SF_TABLE).iloc[0]
    n, k = SF_TABLE.shape
    f = r.msr / r.msw
    fl = f / stats.f.ppf(0.975, n - 1, n * (k - 1))
    fu = f * stats.f.ppf(0.975, n * (k - 1), n - 1)
    assert r.icc1_low == pytest.approx((fl - 1) / (fl + k - 1), rel=1e-12)
    assert r.icc1_high == pytest.approx((fu - 1) / (fu + k - 1), rel=1e-12)
    assert r.icc1_low < r.icc1 < r.icc1_high


def test_icc_orders_features_by_reliability():
    rng = np.random.default_rng(3)
    n, k = 40, 3
    subj = rng.normal(0, 1, (n, 1, 1))
    noise_sd = np.array([0.1, 1.0, 5.0])
    cube = subj + rng.normal(0, 1, (n, k, 3)) * noise_sd
    res = icc(long_table(cube))
    assert res.icc1.iloc[0] > 0.95 and res.icc1.iloc[2] < 0.2
    assert list(res.icc1.rank(ascending=False)) == [1.0, 2.0, 3.0]


def test_constant_feature_is_nan_and_incomplete_cases():
    cube = np.random.default_rng(0).normal(size=(5, 2, 2))
    cube[:, :, 1] = 3.0
    df = long_table(cube)
    res = icc(df)
    assert np.isnan(res.loc["f1", "icc1"]) and np.isfinite(res.loc["f0", "icc1"])
    with pytest.raises(InputError, match="incomplete='drop'"):
        icc(df.iloc[1:])
    dropped = icc(df.iloc[1:], incomplete="drop")
    assert dropped.n.iloc[0] == 4
    with pytest.raises(InputError, match="duplicate"):
        icc(pd.concat([df, df.iloc[:1]]))


def test_ccc():
    rng = np.random.default_rng(0)
    x = rng.normal(5, 2, 200)
    y = x + rng.normal(0.5, 0.7, 200)
    c, lo, hi = ccc(x, y)
    # independent form: 1 - E[(x - y)^2] / (s_x^2 + s_y^2 + (mean_x - mean_y)^2), moments / n
    alt = 1 - np.mean((x - y) ** 2) / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)
    assert c == pytest.approx(alt, rel=1e-12)
    assert lo < c < hi and hi - lo < 0.1
    r = np.corrcoef(x, y)[0, 1]
    assert c < r  # a location shift lowers concordance, not correlation
    assert ccc(x, x)[0] == pytest.approx(1.0)
    assert ccc(x, 2 * x)[0] < 0.9
    assert np.isnan(ccc(np.ones(5), np.ones(5))[0])


def test_concordance_table_and_pair():
    rng = np.random.default_rng(1)
    cube = rng.normal(size=(30, 3, 2))
    cube[:, 1] = cube[:, 0] + 0.01 * rng.normal(size=(30, 2))
    df = long_table(cube)
    res = concordance(df, pair=("r0", "r1"))
    assert (res.ccc > 0.99).all()
    assert (concordance(df, pair=("r0", "r2")).ccc < 0.5).all()
    with pytest.raises(InputError, match="pair"):
        concordance(df)


def test_within_subject_cv_by_hand():
    cube = np.array([[[10.0], [12.0]], [[20.0], [20.0]], [[5.0], [4.0]]])  # 3 cases x 2 repeats
    res = within_subject_cv(long_table(cube)).iloc[0]
    var = np.array([2.0, 0.0, 0.5])
    means = np.array([11.0, 20.0, 4.5])
    assert res.wsd == pytest.approx(np.sqrt(var.mean()))
    assert res.wcv == pytest.approx(np.sqrt(np.mean(var / means**2)))
    assert res.wcv_pooled == pytest.approx(np.sqrt(var.mean()) / means.mean())


def test_phantom_repeatability_by_hand():
    t = pd.DataFrame({"scanner": ["A", "A", "A", "B", "B", "B"], "f": [9.0, 10.0, 11.0, 19.0, 20.0, 21.0]})
    r = phantom_repeatability(t).loc["f"]
    assert r.cv_repeat == pytest.approx(np.sqrt(((1 / 10) ** 2 + (1 / 20) ** 2) / 2))
    assert r.cv_scanner == pytest.approx(np.std([10.0, 20.0], ddof=1) / 15.0)
    assert r.cv_total == pytest.approx(np.std(t.f, ddof=1) / 15.0)
    t["insert"] = ["i1", "i2"] * 3
    by = phantom_repeatability(t, insert="insert")
    assert set(by.index.get_level_values("insert")) == {"i1", "i2"}


def test_icc_selector():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(20, 4)), columns=["a", "b", "c", "d"])
    table = pd.DataFrame({"icc1": [0.95, 0.5, 0.8, 0.2], "icc1_low": [0.9, 0.3, 0.6, 0.0]}, index=["a", "b", "c", "d"])
    sel = ICCSelector(0.75, icc=table).fit(X)
    assert list(sel.get_feature_names_out()) == ["a", "c"]
    assert list(ICCSelector(0.75, icc=table, column="icc1_low").fit(X).get_feature_names_out()) == ["a"]
    assert sel.transform(X).shape == (20, 2)
    with pytest.raises(ValueError, match="no ICC value"):
        ICCSelector(0.5, icc={"a": 0.9}).fit(X)
    assert list(ICCSelector(0.5, icc={"a": 0.9}, missing="keep").fit(X).get_support()) == [True] * 4
    assert list(ICCSelector(0.5, icc={"a": 0.9}, missing="drop").fit(X).get_support()) == [True, False, False, False]
    # array form, aligned with the columns, inside a pipeline
    pipe = make_pipeline(ICCSelector(0.5, icc=[0.1, 0.9, 0.6, 0.4])).fit(X.to_numpy())
    assert pipe.transform(X.to_numpy()).shape == (20, 2)
