"""Shortcuts in the preprocessing diagnostics (issue #6) give the numbers of the plain computation."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.image import Image, Mask
from radiomix.preprocess import prepare
from radiomix.preprocess.diagnostics import bbox_dims, roi_diagnostics
from radiomix.preprocess.pipeline import _bbox
from radiomix.settings import Discretisation, Resegmentation, Settings

SHAPES = [(1, 1, 1), (1, 5, 7), (4, 1, 6), (9, 11, 10)]


def _nonzero_box(m):
    idx = np.nonzero(m)
    return tuple(slice(int(i.min()), int(i.max()) + 1) for i in idx)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("fill", [0.0, 0.05, 0.6])
def test_bounding_boxes_match_nonzero(shape, fill):
    rng = np.random.default_rng(int(fill * 100) + sum(shape))
    m = rng.random(shape) < fill
    if not m.any():
        assert _bbox(m) is None and bbox_dims(m) == (0, 0, 0)
        m.flat[-1] = True
    box = _nonzero_box(m)
    assert _bbox(m) == box
    assert bbox_dims(m) == tuple(b.stop - b.start for b in box)


def test_roi_diagnostics_of_one_mask_passed_twice_equal_two_copies():
    rng = np.random.default_rng(1)
    img = rng.normal(size=(6, 8, 9))
    m = rng.random(img.shape) < 0.4
    assert roi_diagnostics(img.shape, img, m, m, "interp") == roi_diagnostics(img.shape, img, m.copy(), m, "interp")


@pytest.mark.parametrize("reseg", [None, Resegmentation(range=(-1e9, 1e9)), Resegmentation(range=(-40, 60))])
def test_reseg_stage_diagnostics_equal_the_direct_computation(reseg):
    rng = np.random.default_rng(2)
    a = rng.normal(0, 100, size=(12, 30, 32)).round()
    m = np.zeros(a.shape, bool)
    m[3:9, 8:20, 10:22] = True
    img, mask = Image.from_array(a, spacing=(2.0, 1.0, 1.0)), Mask.from_array(m, spacing=(2.0, 1.0, 1.0))
    s = Settings(discretisation=Discretisation(method="fixed_bin_size", bin_width=25), resegmentation=reseg)
    p = prepare(img, mask, s)
    direct = roi_diagnostics(img.shape, p.image.array, p.mask_morph.array, p.mask_int.array, "reseg")
    assert {k: v for k, v in p.diagnostics.items() if k.endswith("_reseg_roi")} == direct
    assert list(p.diagnostics).index("int_mask_dim_z_reseg_roi") > list(p.diagnostics).index("int_mask_dim_z_interp_roi")
