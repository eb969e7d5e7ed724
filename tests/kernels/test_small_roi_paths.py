"""Paths of the small-ROI morphology speed-ups against their references: the one-pass mesh volume and area, the row
de-duplication of the hull normals and the Moran / Geary FFT grid of period 2 (n - 1). The bounded OMBB face boxes
are tested in test_morphology_fast.py."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.features import morphology as M
from radiomix.kernels import moran_kernels as mo


@pytest.mark.parametrize("seed", range(3))
def test_mesh_volume_area_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    mask = np.pad(rng.random((9, 12, 10)) < 0.6, 1)
    s = M.Shape(mask, mask, np.ones(mask.shape), (2.0, 0.8, 0.7))
    v, f = s.mesh
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    vol = abs(np.sum(np.einsum("ij,ij->i", a, np.cross(b, c)))) / 6.0
    area = 0.5 * np.sum(np.linalg.norm(np.cross(b - a, c - a), axis=1))
    assert s.volume == pytest.approx(vol, rel=1e-13)
    assert s.area == pytest.approx(area, rel=1e-13)


def test_unique_rows_equals_numpy_unique():
    rng = np.random.default_rng(5)
    a = np.round(rng.normal(size=(300, 3)), 1)
    a = np.vstack([a, a[:120], [[0.0, -0.0, 1.0], [-0.0, 0.0, 1.0]]])
    np.testing.assert_array_equal(M._unique_rows(a), np.unique(a, axis=0))


@pytest.mark.parametrize("shape", [(1, 5, 4), (2, 2, 7), (3, 1, 2), (6, 9, 5)])
@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.5, 0.75, 0.9)])
def test_parseval_on_the_shortest_grid_matches_direct(shape, spacing):
    rng = np.random.default_rng(sum(shape))
    mask = rng.random(shape) < 0.7
    mask.flat[0] = mask.flat[-1] = True  # the box spans the whole array: offsets reach n - 1 on every axis
    d = rng.normal(size=int(mask.sum()))
    coords = np.argwhere(mask) * np.asarray(spacing)
    direct = mo.pair_sums_direct(coords, d)
    np.testing.assert_allclose(mo.pair_sums_parseval(mask, d, spacing, workers=1), direct, rtol=1e-11)
