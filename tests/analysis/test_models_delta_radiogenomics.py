"""Delta-radiomics pairing and radiogenomics association tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from radiomix.analysis.delta import delta_features
from radiomix.analysis.radiogenomics import association_matrix, associations
from radiomix.errors import InputError


def _longitudinal():
    return pd.DataFrame({
        "case_id": ["p1_t0", "p1_t1", "p2_t0", "p2_t1", "p3_t0"],
        "patient_id": ["p1", "p1", "p2", "p2", "p3"],
        "timepoint": ["pre", "post", "pre", "post", "pre"],
        "site": ["A", "A", "B", "B", "B"],
        "f_a": [10.0, 15.0, 4.0, 2.0, 1.0],
        "f_b": [0.0, 1.0, 2.0, 2.0, 3.0]})


def test_delta_absolute_and_relative():
    t = _longitudinal()
    d = delta_features(t, baseline="pre", followup="post", features=["f_a", "f_b"])
    assert d["patient_id"].tolist() == ["p1", "p2"] and d["site"].tolist() == ["A", "B"]
    assert d["delta_f_a"].tolist() == [5.0, -2.0] and d["delta_f_b"].tolist() == [1.0, 0.0]
    assert d.attrs["unpaired"] == ["p3"]
    r = delta_features(t, baseline="pre", followup="post", kind="relative", features=["f_a", "f_b"])
    assert r["delta_f_a"].tolist() == pytest.approx([0.5, -0.5])
    assert np.isnan(r["delta_f_b"].iloc[0]) and r["delta_f_b"].iloc[1] == 0.0  # baseline 0: undefined
    auto = delta_features(t, baseline="pre", followup="post")
    assert [c for c in auto.columns if c.startswith("delta_")] == ["delta_f_a", "delta_f_b"]


def test_delta_lesions_and_errors():
    t = pd.concat([_longitudinal().assign(lesion=1), _longitudinal().assign(lesion=2, f_a=lambda d: d.f_a * 2)])
    d = delta_features(t, baseline="pre", followup="post", lesion_column="lesion", features=["f_a"])
    assert len(d) == 4 and d.set_index(["patient_id", "lesion"]).loc[("p1", 2), "delta_f_a"] == 10.0
    with pytest.raises(InputError, match="more than one row"):
        delta_features(t, baseline="pre", followup="post", features=["f_a"])
    with pytest.raises(InputError, match="no row has"):
        delta_features(_longitudinal(), baseline="pre", followup="week6")
    with pytest.raises(InputError, match="kind"):
        delta_features(_longitudinal(), baseline="pre", followup="post", kind="ratio")


def test_associations_against_scipy_and_fdr():
    rng = np.random.default_rng(0)
    n = 80
    f = pd.DataFrame({"case_id": range(n), "f1": rng.normal(size=n), "f2": rng.normal(size=n),
                      "f3": rng.normal(size=n)})
    v = pd.DataFrame({"case_id": range(n), "expr": f["f1"] * 2 + rng.normal(size=n),
                      "mutation": np.where(f["f2"] + rng.normal(0, 0.5, n) > 0, "mut", "wt"),
                      "subtype": rng.choice(["x", "y", "z"], n)})
    res = associations(f, v)
    assert list(res.columns) == ["feature", "variable", "method", "statistic", "effect", "p_value", "q_value", "n",
                                 "significant"]
    assert len(res) == 9
    row = res.set_index(["feature", "variable"])
    rho = stats.spearmanr(f["f1"], v["expr"])
    assert row.loc[("f1", "expr"), "method"] == "spearman"
    assert row.loc[("f1", "expr"), "effect"] == pytest.approx(rho.statistic)
    assert row.loc[("f1", "expr"), "p_value"] == pytest.approx(rho.pvalue)
    mw = stats.mannwhitneyu(f["f2"][v["mutation"] == "wt"], f["f2"][v["mutation"] == "mut"])
    assert row.loc[("f2", "mutation"), "method"] == "mannwhitney"
    assert row.loc[("f2", "mutation"), "p_value"] == pytest.approx(mw.pvalue)
    assert row.loc[("f2", "mutation"), "effect"] < -0.5  # f2 is larger in "mut", the first level
    kw = stats.kruskal(*[f["f3"][v["subtype"] == s] for s in "xyz"])
    assert row.loc[("f3", "subtype"), "statistic"] == pytest.approx(kw.statistic)
    assert res["significant"].sum() == 2 and set(res[res.significant].feature) == {"f1", "f2"}
    assert np.all(res["q_value"] >= res["p_value"])
    m = association_matrix(res)
    assert m.shape == (3, 3) and m.loc["f1", "expr"] == pytest.approx(rho.statistic)
    assert association_matrix(res, significant_only=True).notna().sum().sum() == 2


def test_associations_degenerate_and_errors():
    f = pd.DataFrame({"case_id": range(6), "const": 1.0, "x": [1.0, 2, 3, 4, 5, 6]})
    v = pd.DataFrame({"case_id": range(6), "y": [1.0, 2, 3, 4, 5, 7]})
    res = associations(f, v).set_index("feature")
    assert np.isnan(res.loc["const", "p_value"]) and res.loc["x", "effect"] == pytest.approx(1.0)
    with pytest.raises(InputError, match="method"):
        associations(f, v, method="pearson")
    with pytest.raises(InputError, match="align"):
        associations(f.drop(columns="case_id"), v.drop(columns="case_id").head(3))
