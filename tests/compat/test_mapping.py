"""The PyRadiomics <-> radiomix mapping table covers both catalogues and agrees with radiomix's IBSI ids."""

from __future__ import annotations

import pytest

from radiomix.compat.pyradiomics.features import CLASSES, feature_names
from radiomix.compat.pyradiomics.mapping import load_mapping, radiomix_equivalent
from radiomix.features import FAMILIES

ROWS = load_mapping()


def test_every_pyradiomics_feature_has_exactly_one_row():
    keys = [(r.pyradiomics_class, r.pyradiomics_name) for r in ROWS if r.pyradiomics_class]
    assert len(keys) == len(set(keys))
    assert set(keys) == {(c, n) for c in CLASSES for n in feature_names(c)}


def test_every_radiomix_feature_has_a_row():
    keys = {(r.radiomix_family, r.radiomix_feature) for r in ROWS if r.radiomix_family}
    assert keys == {(fam, f.name) for fam, family in FAMILIES.items() for f in family.features}


@pytest.mark.parametrize("row", [r for r in ROWS if r.radiomix_family],
                         ids=lambda r: f"{r.radiomix_family}.{r.radiomix_feature}")
def test_ibsi_id_matches_catalogue(row):
    assert row.ibsi_id == FAMILIES[row.radiomix_family].feature(row.radiomix_feature).ibsi


def test_rows_are_not_empty_on_both_sides():
    for r in ROWS:
        assert r.pyradiomics_name or r.radiomix_feature, r
        assert bool(r.pyradiomics_class) == bool(r.pyradiomics_name), r
        assert bool(r.radiomix_family) == bool(r.radiomix_feature), r
        if not r.radiomix_family:
            assert r.ibsi_id == "" and r.note, r  # no radiomix feature: the note says why


def test_known_differences_are_documented():
    assert "excess" in radiomix_equivalent("firstorder", "Kurtosis").note
    assert "voxelArrayShift" in radiomix_equivalent("firstorder", "Energy").note
    assert radiomix_equivalent("glcm", "SumSquares").radiomix_feature == "joint_variance"
    assert radiomix_equivalent("gldm", "SmallDependenceEmphasis").radiomix_family == "ngldm"
    assert radiomix_equivalent("glcm", "NoSuchFeature") is None
