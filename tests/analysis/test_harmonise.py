"""ComBat: agreement with neuroCombat, fit/transform semantics, unseen batches, covariates."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import clone

from radiomix.analysis import ComBat

SITES = {"A": (0.0, 1.0, 30), "B": (1.5, 2.0, 25), "C": (-1.0, 0.5, 35)}  # shift, scale, n


def multisite(seed=0, p=40, covariate_effect=True):
    """Sites with additive and multiplicative effects; integer ages (exact in float32, as neuroCombat casts)."""
    rng = np.random.default_rng(seed)
    site = np.concatenate([[s] * n for s, (_, _, n) in SITES.items()])
    n = site.size
    shift = np.array([SITES[s][0] for s in site])[:, None] * rng.uniform(0.5, 1.5, p)
    scale = np.array([SITES[s][1] for s in site])[:, None]
    age = rng.integers(20, 80, n).astype(float) + 5 * (site == "B")
    sex = rng.choice(["F", "M"], n)
    bio = (0.03 * age[:, None] + 0.5 * (sex == "M")[:, None]) if covariate_effect else 0
    F = 3 + rng.normal(size=(n, p)) * scale + shift + bio
    df = pd.DataFrame(F, columns=[f"f{i}" for i in range(p)])
    df["site"], df["age"], df["sex"] = site, age, sex
    return df


def run_neurocombat(df, covariates, parametric, mean_only=False, ref=None):
    nc = pytest.importorskip("neuroCombat")
    feats = [c for c in df.columns if c.startswith("f")]
    covars = df[["site", "age", "sex"]]
    with contextlib.redirect_stdout(io.StringIO()):
        out = nc.neuroCombat(df[feats].to_numpy().T.copy(), covars, "site",
                             categorical_cols=["sex"] if covariates else None,
                             continuous_cols=["age"] if covariates else None,
                             parametric=parametric, mean_only=mean_only, ref_batch=ref)
    return out["data"].T


@pytest.mark.parametrize("parametric", [True, False], ids=["parametric", "nonparametric"])
@pytest.mark.parametrize("covariates", [False, True], ids=["nocov", "cov"])
@pytest.mark.parametrize("mean_only", [False, True], ids=["meanscale", "meanonly"])
def test_matches_neurocombat(parametric, covariates, mean_only):
    df = multisite()
    ref = run_neurocombat(df, covariates, parametric, mean_only)
    X = df if covariates else df.drop(columns=["age", "sex"])
    ours = ComBat(batch="site", covariates=["age", "sex"] if covariates else None, parametric=parametric,
                  mean_only=mean_only).fit_transform(X)
    np.testing.assert_allclose(ours, ref, atol=1e-6, rtol=0)
    assert np.abs(ours - X.filter(like="f").to_numpy()).max() > 0.1  # it did change the data


@pytest.mark.parametrize("parametric", [True, False])
def test_matches_neurocombat_reference_batch(parametric, monkeypatch):
    monkeypatch.setattr(np, "int", int, raising=False)  # neuroCombat 0.2.12 still calls np.int on this path
    df = multisite(1)
    ref = run_neurocombat(df, True, parametric, ref="B")
    ours = ComBat(batch="site", covariates=["age", "sex"], parametric=parametric, reference_batch="B").fit_transform(df)
    np.testing.assert_allclose(ours, ref, atol=1e-6, rtol=0)
    b = (df.site == "B").to_numpy()
    np.testing.assert_array_equal(ours[b], df.filter(like="f").to_numpy()[b])  # the reference is left unchanged


def test_removes_site_effect_and_keeps_covariate():
    df = multisite(2)
    feats = df.filter(like="f").columns
    out = pd.DataFrame(ComBat(batch="site", covariates=["age", "sex"]).fit_transform(df), columns=feats)

    def site_p(frame):
        return np.median([stats.f_oneway(*[frame.loc[df.site == s, f] for s in SITES]).pvalue for f in feats])

    assert site_p(df) < 1e-6 and site_p(out) > 0.05
    # the age slope (0.03 per year) survives harmonisation when age is a covariate
    slope = np.median([np.polyfit(df.age, out[f], 1)[0] for f in feats])
    assert slope == pytest.approx(0.03, abs=0.01)
    # the site-scale differences are gone: per-site SDs of residuals close to each other
    sds = out.groupby(df.site.to_numpy()).std().median(axis=1)
    assert sds.max() / sds.min() < 1.3


def test_transform_is_per_sample_and_matches_fit_transform():
    df = multisite(3)
    train, test = df.iloc[::2], df.iloc[1::2]
    cb = ComBat(batch="site", covariates=["age", "sex"]).fit(train)
    np.testing.assert_allclose(cb.transform(train), ComBat(batch="site", covariates=["age", "sex"])
                               .fit_transform(train), atol=1e-12)
    whole = cb.transform(test)
    np.testing.assert_allclose(cb.transform(test.iloc[:5]), whole[:5], atol=1e-12)
    # the model is estimated on the training rows only: refitting on the test rows changes it
    assert np.abs(ComBat(batch="site", covariates=["age", "sex"]).fit(test).transform(test) - whole).max() > 1e-3


def test_unseen_batch_policies():
    df = multisite(4)
    train = df[df.site != "C"]
    new = df[df.site == "C"]
    with pytest.raises(ValueError, match=r"\['C'\] were not seen in fit"):
        ComBat(batch="site").fit(train.drop(columns=["age", "sex"])).transform(new.drop(columns=["age", "sex"]))
    X = df.drop(columns=["age", "sex"])
    feats = X.filter(like="f").to_numpy()
    c = (df.site == "C").to_numpy()
    passed = ComBat(batch="site", unseen="passthrough").fit(X[~c]).transform(X)
    np.testing.assert_array_equal(passed[c], feats[c])
    est = ComBat(batch="site", unseen="estimate").fit(X[~c])
    out = est.transform(X)
    # site C (scale 0.5, shift -1) moved onto the pooled A/B location and scale
    pooled_mean = est.transform(X[~c]).mean()
    assert abs(out[c].mean() - pooled_mean) < 0.25 < abs(feats[c].mean() - pooled_mean)
    assert out[c].std(axis=0).mean() > 1.5 * feats[c].std(axis=0).mean()
    with pytest.raises(ValueError, match="unseen must be"):
        ComBat(batch="site", unseen="ignore").fit(X)


def test_array_input_output_names_and_errors():
    df = multisite(5, p=6).drop(columns=["sex"])
    arr = df[["site", "age"] + [f"f{i}" for i in range(6)]].replace({"site": {"A": 0, "B": 1, "C": 2}}).to_numpy(float)
    out_arr = ComBat(batch=0, covariates=[1]).fit_transform(arr)
    out_df = ComBat(batch="site", covariates=["age"]).fit_transform(df)
    np.testing.assert_allclose(out_arr, out_df, atol=1e-10)
    cb = ComBat(batch="site", covariates=["age"]).set_output(transform="pandas").fit(df)
    assert list(cb.get_feature_names_out()) == [f"f{i}" for i in range(6)]
    assert list(cb.transform(df).columns) == [f"f{i}" for i in range(6)]
    with pytest.raises(ValueError, match="'scanner' not in X"):
        ComBat(batch="scanner").fit(df)
    with pytest.raises(ValueError, match="at least 2 batches"):
        ComBat(batch="site").fit(df[df.site == "A"])
    with pytest.raises(ValueError, match="singular"):
        ComBat(batch="site", covariates=["s2"]).fit(df.assign(s2=df.site.map({"A": 0.0, "B": 1.0, "C": 2.0}) * 0))
    with pytest.raises(ValueError, match="reference_batch"):
        ComBat(batch="site", reference_batch="Z").fit(df)
    with pytest.raises(ValueError, match="unseen in fit"):
        ComBat(batch="site", covariates=["sex"]).fit(multisite(5, p=6).drop(columns=["age"])[lambda d: d.sex == "F"]
                                                     ).transform(multisite(5, p=6).drop(columns=["age"]))
    assert clone(cb).get_params()["batch"] == "site"


def test_single_sample_batch_switches_to_mean_only():
    df = multisite(6, p=8).drop(columns=["age", "sex"])
    df = pd.concat([df, df.iloc[:1].assign(site="D")])
    with pytest.warns(UserWarning, match="mean_only=True"):
        cb = ComBat(batch="site").fit(df)
    assert cb.mean_only_ and np.all(cb.delta_star_ == 1)
