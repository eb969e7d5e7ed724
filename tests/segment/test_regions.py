"""Intratumoral and peritumoral features side by side."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.extract import extract
from radiomix.segment import extract_regions, region_masks
from radiomix.settings import Discretisation, Settings

from .synthetic import lesion_case

SETTINGS = Settings(name="t", families=("statistics",),
                    discretisation=Discretisation(method="fixed_bin_number", bin_number=16))


def test_regions_one_wide_row_with_region_prefix():
    img, m = lesion_case(7)
    row = extract_regions(img, m, SETTINGS, rings=(5.0, (3.0, 2.0)))
    cols = set(row.index)
    for region in ("intratumoral", "peritumoral_5mm", "peritumoral_in2mm_out3mm"):
        assert f"{region}__original_statistics_mean" in cols
    # the intratumoral part is extract() of the mask itself
    direct = extract(img, m, SETTINGS).to_wide()
    assert row["intratumoral__original_statistics_mean"] == pytest.approx(direct["original_statistics_mean"])
    # the lesion is bright, its surroundings are not
    assert row["intratumoral__original_statistics_mean"] > row["peritumoral_5mm__original_statistics_mean"] + 50
    assert len(row) == 3 * len(direct)


def test_region_masks_do_not_overlap_the_tumour_outside():
    _, m = lesion_case(8)
    regions = region_masks(m, (4.0,), intratumoral=False)
    assert list(regions) == ["peritumoral_4mm"]
    assert not np.any(regions["peritumoral_4mm"].array & m.array)
