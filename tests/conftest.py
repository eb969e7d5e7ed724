"""Shared fixtures. Reference data: ../shared/reference or $RADIOMIX_REFERENCE_DIR. Missing reference data skips the
tests that need it, except under CI=true, where it is a failure."""

from __future__ import annotations

import os

import pytest

from radiomix.reference import reference_dir

IN_CI = os.environ.get("CI", "").lower() == "true"

# test processes (and the interpreters they start) leave the user's kernel manifest alone: they use kernels no real
# run needs; the manifest's own tests name their files (radiomix.kernels.manifest)
os.environ.setdefault("RADIOMIX_KERNEL_MANIFEST", "off")


def require_reference():
    """The reference folder, or skip (fail under CI=true) with a clear message."""
    ref = reference_dir()
    if ref is None:
        msg = ("shared reference data not found: set RADIOMIX_REFERENCE_DIR or put shared/reference beside the "
               "checkout")
        if IN_CI:
            pytest.fail(msg + " (CI=true: a missing reference is a failure)")
        pytest.skip(msg)
    return ref


@pytest.fixture(scope="session")
def reference():
    return require_reference()


@pytest.fixture(scope="session")
def ct_phantom(reference):
    from radiomix.io import read_image, read_mask

    d = reference / "ibsi" / "ibsi1" / "ct_phantom" / "nifti"
    return read_image(d / "image.nii.gz"), read_mask(d / "mask.nii.gz")
