"""IBSI 2 phase 2: 18 statistics of the filtered CT phantom, 9 filters x configurations A and B, one test per row."""

from __future__ import annotations

import pytest

from radiomix import ibsi
from radiomix.reference import reference_dir

from ..conftest import require_reference


def _params():
    ref = reference_dir()
    if ref is None:
        return [pytest.param(None, id="reference-missing")]
    return [pytest.param(r, id=r.id) for r in ibsi.phase2_rows(ref)]


@pytest.mark.parametrize("row", _params())
def test_phase2_row(row):
    require_reference()
    value = ibsi.lookup_phase2(ibsi.compute_phase2(row.preset), row)
    assert value is not None, f"{row.id} not computed"
    assert ibsi.matches(value, row.value, row.tolerance), (
        f"{row.id}: got {value:.6g} (3 s.f. {ibsi.round_sig(value)}), reference {row.value} +/- {row.tolerance}")
