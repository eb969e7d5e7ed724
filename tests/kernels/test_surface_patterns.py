"""The morphology family's surface without a mesh (kernels.morphology_kernels.surface_cubes with the per-pattern table
of features.morphology.SurfacePatterns) against scikit-image's marching cubes on the whole padded mask: the same
volume and area (to round-off), and exactly the same vertices."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.features import morphology as M
from radiomix.kernels.morphology_kernels import surface_cubes


def _mesh_reference(s: M.Shape):
    v, f = s.mesh
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    vol = abs(np.sum(np.einsum("ij,ij->i", a, np.cross(b, c)))) / 6.0
    area = 0.5 * np.sum(np.linalg.norm(np.cross(b - a, c - a), axis=1))
    half = np.rint(2.0 * v / np.asarray(s.spacing)).astype(np.int64)
    order = np.lexsort(half.T[::-1])
    return vol, area, half[order], v[order]


def _random_masks(n, seed):
    """Random masks (every corner pattern and its ambiguous cases occur), some touching the array's border."""
    rng = np.random.default_rng(seed)
    for k in range(n):
        shape = tuple(int(x) for x in rng.integers(1, 10, 3))
        mask = rng.random(shape) < rng.uniform(0.15, 0.85)
        if k % 2:
            mask = np.pad(mask, int(rng.integers(1, 3)))
        if mask.any():
            yield mask, tuple(float(x) for x in rng.uniform(0.3, 3.0, 3))


@pytest.mark.parametrize("seed", range(4))
def test_surface_equals_the_marching_cubes_mesh(seed):
    for mask, spacing in _random_masks(60, seed):
        s = M.Shape(mask, mask, np.zeros(mask.shape), spacing)
        vol, area, half, mm = _mesh_reference(s)
        assert s.volume == pytest.approx(vol, rel=1e-13, abs=1e-12)
        assert s.area == pytest.approx(area, rel=1e-13, abs=1e-12)
        np.testing.assert_array_equal(s.half_voxel_vertices, half)  # the same vertices, lexicographically
        np.testing.assert_array_equal(s.vertices, mm)  # bit for bit, in mm


@pytest.mark.parametrize("mask", [np.ones((1, 1, 1), bool), np.ones((3, 4, 5), bool),
                                  np.pad(np.ones((2, 1, 3), bool), ((0, 2), (1, 0), (3, 1)))],
                         ids=["one voxel", "full box", "offset box"])
def test_simple_shapes(mask):
    s = M.Shape(mask, mask, np.zeros(mask.shape), (2.0, 1.0, 0.5))
    vol, area, half, _ = _mesh_reference(s)
    assert s.volume == pytest.approx(vol, rel=1e-14)
    assert s.area == pytest.approx(area, rel=1e-14)
    np.testing.assert_array_equal(s.half_voxel_vertices, half)


def test_empty_mask_has_no_surface():
    counts, sums, vertices = surface_cubes(np.zeros((3, 4, 5), bool), M.surface_patterns().centre)
    assert vertices.shape == (0, 3) and counts[1:].sum() == 0 and not sums.any()


def test_pattern_table_properties():
    pat = M.SurfacePatterns.from_array(M.pattern_table())
    assert pat.k0[0] == pat.k0[255] == 0 and not pat.normals[[0, 255]].any()
    # one corner in (or out): a triangle through three edge midpoints, sides sqrt(1/2), area sqrt(3)/8
    single = [1 << k for k in range(8)]
    np.testing.assert_allclose(pat.areas((1.0, 1.0, 1.0))[single + [255 - c for c in single]], np.sqrt(3) / 8)
    # half the cube in: a unit square through the midpoints of four parallel edges, area 1 (scaled by the spacing)
    assert pat.areas((2.0, 3.0, 5.0))[0b00001111] == pytest.approx(15.0)
    assert pat.centre.sum() == 24  # the ambiguous cases Lewiner's marching cubes resolves with a vertex inside


def test_the_table_is_read_from_its_file_and_made_again_when_damaged(tmp_path, monkeypatch):
    monkeypatch.setenv("RADIOMIX_AOT_DIR", str(tmp_path))
    path = M.pattern_file()
    assert path.parent == tmp_path
    M.surface_patterns.cache_clear()
    try:
        first = M.surface_patterns()
        assert path.is_file()  # made and saved by the first process that needs it
        table = np.fromfile(path).reshape(256, -1)
        np.testing.assert_array_equal(table, M.pattern_table())
        path.write_bytes(b"not a table")
        M.surface_patterns.cache_clear()
        again = M.surface_patterns()
        np.testing.assert_array_equal(again.k0, first.k0)
        np.testing.assert_array_equal(np.fromfile(path).reshape(256, -1), table)  # saved again
    finally:
        M.surface_patterns.cache_clear()


def test_an_unwritable_folder_only_means_making_the_table_each_time(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("a file, not a folder")
    monkeypatch.setenv("RADIOMIX_AOT_DIR", str(blocked / "sub"))
    M.surface_patterns.cache_clear()
    try:
        pat = M.surface_patterns()
        assert pat.centre.sum() == 24
        assert not M.save_patterns(M.pattern_table(), M.pattern_file())
        assert not list(tmp_path.glob("**/*.tmp"))
    finally:
        M.surface_patterns.cache_clear()
