"""The IBSI CT phantom through DICOM + RTSTRUCT gives the same features as through NIfTI, configurations A-E."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.extract import extract
from radiomix.io import read_image, read_mask
from radiomix.settings import preset

from ..conftest import require_reference


@pytest.fixture(scope="module")
def both():
    ref = require_reference() / "ibsi" / "ibsi1" / "ct_phantom"
    nifti = read_image(ref / "nifti" / "image.nii.gz"), read_mask(ref / "nifti" / "mask.nii.gz")
    img = read_image(ref / "dicom" / "image")
    mask = read_mask(next((ref / "dicom" / "mask").glob("*.dcm")), image=img, roi="GTV-1")
    return nifti, (img, mask)


@pytest.mark.slow
@pytest.mark.parametrize("config", "abcde")
def test_dicom_and_nifti_features_identical(both, config):
    (ni, nm), (di, dm) = both
    assert np.array_equal(nm.array, dm.array) and dm.n_voxels == 125256
    s = preset(f"ibsi_config_{config}")
    a, b = extract(ni, nm, s).to_dict(), extract(di, dm, s).to_dict()
    assert a.keys() == b.keys()
    # the voxel arrays and masks are identical; the spacing differs in the last bits (NIfTI stores float32, DICOM a
    # decimal string), which moves physical features by ~1e-15 relative
    diff = {k: (a[k], b[k]) for k in a if not np.isclose(a[k], b[k], rtol=1e-9, atol=0, equal_nan=True)}
    assert not diff, f"{len(diff)} features differ, e.g. {list(diff.items())[:3]}"
