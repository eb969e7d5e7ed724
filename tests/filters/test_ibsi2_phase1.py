"""IBSI 2 phase 1: every test with a published reference response map, one parametrised test per row of
``ibsi/ibsi2/phase1/tests.csv``. Criterion (IBSI 2 reference data README): ``max |R - R_ref| <= 1 % of the range of
R_ref`` (the ``tolerance_1pct_of_range`` column).

Tests 9.a, 9.b.1 and 10.b.1 (Riesz) use parameters inferred from participant file names, not from the IBSI 2 manual;
they are marked ``unverified_parameters`` in their ids' notes below.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from radiomix.filters import FilterSpec, apply_filter
from radiomix.filters.response import IBSI2_PHASE1
from tests.conftest import require_reference

#: test id -> (phantom, FilterSpec): the package's table, shared with the ``ibsi2_phase1_<test id>`` presets.
CASES: dict[str, tuple[str, FilterSpec]] = IBSI2_PHASE1


def _rows():
    ref = require_reference()
    path = ref / "ibsi" / "ibsi2" / "phase1" / "tests.csv"
    with open(path, newline="") as f:
        return ref / "ibsi" / "ibsi2" / "phase1", [r for r in csv.DictReader(f) if r["reference_response_map"]]


_CACHE: dict[str, np.ndarray] = {}


def _read(path) -> np.ndarray:
    from radiomix.io import read_image

    key = str(path)
    if key not in _CACHE:
        img = read_image(path)
        assert img.spacing == (2.0, 2.0, 2.0)
        _CACHE[key] = img.array.astype(np.float64)
    return _CACHE[key]


def test_every_reference_map_has_a_case():
    _, rows = _rows()
    ids = {r["test_id"] for r in rows}
    assert ids == set(CASES), f"tests.csv rows without a case: {ids - set(CASES)}; cases without a row: " \
                              f"{set(CASES) - ids}"
    assert len(ids) == 33


@pytest.mark.parametrize("test_id", list(CASES))
def test_response_map(test_id):
    base, rows = _rows()
    row = next(r for r in rows if r["test_id"] == test_id)
    phantom, spec = CASES[test_id]
    assert row["phantom"] == phantom
    image = _read(base / "phantoms" / phantom / "image.nii.gz")
    expected = _read(base / row["reference_response_map"])
    (name, response), = apply_filter(image, (2.0, 2.0, 2.0), spec).items()
    assert response.shape == expected.shape == (64, 64, 64)
    tol = float(row["tolerance_1pct_of_range"])
    assert tol == pytest.approx(0.01 * (expected.max() - expected.min()), rel=1e-5)
    err = float(np.max(np.abs(response - expected)))
    assert err <= tol, f"IBSI 2 test {test_id} ({name}): max |R - R_ref| = {err:.6g} > tolerance {tol:.6g}"
