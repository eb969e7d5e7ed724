import numpy as np
import pytest
from scipy.ndimage import map_coordinates

from radiomix.image import Geometry
from radiomix.preprocess.resample import resample_box, resample_mask_box, target_grid


def _full(grid):
    return tuple(slice(0, n) for n in grid.shape)


def test_ibsi_manual_example_align_grid_centres():
    # IBSI 2.4: a 4 x 4 grid of 3 mm resampled to 2 mm gives 6 x 6, grid origin at (n_a - 1 - s_b/s_a (n_b - 1)) / 2
    g = target_grid(Geometry((1, 4, 4), (1.0, 3.0, 3.0), (10.0, 20.0, 0.0)), (2.0, 2.0, None))
    assert g.shape == (1, 6, 6)
    assert g.start[1] == pytest.approx(-1 / 6) and g.start[2] == pytest.approx(-1 / 6)
    assert g.geometry.spacing == (1.0, 2.0, 2.0)
    # world origin: x_b = x_a + (s_a (n_a - 1) - s_b (n_b - 1)) / 2 = x_a + (9 - 10) / 2
    np.testing.assert_allclose(g.geometry.origin, (10.0 - 0.5, 20.0 - 0.5, 0.0))
    # both grids share their centre
    c_old = np.mean([0, 3]) * 3.0
    c_new = g.start[2] * 3.0 + np.mean([0, 5]) * 2.0
    assert c_new == pytest.approx(c_old)


def test_ibsi_ct_phantom_interpolated_dimensions():
    ct = Geometry((60, 201, 204), (3.0, 0.977, 0.977))
    assert target_grid(ct, (2.0, 2.0, 2.0)).shape == (90, 99, 100)
    assert target_grid(ct, (2.0, 2.0, None)).shape == (60, 99, 100)  # config B: in-plane only
    assert target_grid(ct, (2.0, 2.0, 2.0), keep_z=True).shape == (60, 99, 100)


def test_corner_alignment_keeps_first_voxel_corner():
    geo = Geometry((5, 7, 9), (3.0, 0.8, 1.1), (-4.0, 2.0, 7.0))
    g = target_grid(geo, (0.5, 1.7, 2.0), alignment="corner")
    old_corner = np.asarray(geo.origin) - np.asarray(geo.spacing_xyz) / 2
    new_corner = np.asarray(g.geometry.origin) - np.asarray(g.geometry.spacing_xyz) / 2
    np.testing.assert_allclose(new_corner, old_corner, atol=1e-12)
    assert g.shape == (8, 4, 20)  # ceil(15/2), ceil(5.6/1.7), ceil(9.9/0.5)
    c = target_grid(geo, (0.5, 1.7, 2.0), alignment="centre")
    assert c.shape == g.shape and not np.allclose(c.geometry.origin, g.geometry.origin)


def test_none_and_equal_spacing_are_identity_axes():
    geo = Geometry((5, 7, 9), (3.0, 0.8, 1.1))
    g = target_grid(geo, (1.1, None, 2.0))
    assert g.identity == (False, True, True)
    assert g.shape == (8, 7, 9)
    a = np.random.default_rng(0).normal(size=geo.shape)
    ident = target_grid(geo, (None, None, None))
    assert ident.is_identity
    assert np.array_equal(resample_box(a, ident, _full(ident), 3), a)


def test_direction_is_respected_for_origin():
    d = np.array([[0, 1, 0], [-1, 0, 0], [0, 0, 1.0]])
    geo = Geometry((4, 4, 4), (3.0, 3.0, 3.0), (0.0, 0.0, 0.0), d)
    g = target_grid(geo, (2.0, 2.0, 2.0))
    np.testing.assert_allclose(g.geometry.origin, geo.index_to_physical(np.asarray(g.start)))
    np.testing.assert_allclose(g.geometry.direction, d)


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(1)
    a = rng.normal(100, 40, size=(14, 19, 23))
    geo = Geometry(a.shape, (2.5, 0.8, 1.1))
    grid = target_grid(geo, (0.9, 1.7, 1.3))
    return a, grid


@pytest.mark.parametrize("order", [0, 1])
def test_cropped_equals_full_bit_identical(case, order):
    a, grid = case
    full = resample_box(a, grid, _full(grid), order)
    for box in [(slice(3, 9), slice(2, 7), slice(5, 17)), (slice(0, 4), slice(0, 3), slice(20, 22)),
                (slice(15, 27), slice(6, 9), slice(0, 30))]:
        assert np.array_equal(resample_box(a, grid, box, order), full[box])


def test_cropped_equals_full_cubic(case):
    a, grid = case
    full = resample_box(a, grid, _full(grid), 3)
    box = (slice(10, 20), slice(2, 7), slice(5, 17))
    np.testing.assert_allclose(resample_box(a, grid, box, 3), full[box], rtol=0, atol=1e-9)


def test_linear_matches_scipy_map_coordinates(case):
    a, grid = case
    full = resample_box(a, grid, _full(grid), 1)
    coords = np.meshgrid(*[grid.coords(k, slice(0, n)) for k, n in enumerate(grid.shape)], indexing="ij")
    ref = map_coordinates(a, coords, order=1, mode="nearest")
    np.testing.assert_allclose(full, ref, rtol=0, atol=1e-10)


def test_nearest_takes_closest_voxel(case):
    a, grid = case
    full = resample_box(a, grid, _full(grid), 0)
    idx = [np.clip(np.floor(grid.coords(k, slice(0, n)) + 0.5).astype(int), 0, a.shape[k] - 1)
           for k, n in enumerate(grid.shape)]
    assert np.array_equal(full, a[np.ix_(*idx)])


def test_linear_reproduces_linear_ramp_and_extrapolates_with_edge():
    z, y, x = np.meshgrid(np.arange(6.0), np.arange(7.0), np.arange(8.0), indexing="ij")
    f = 2 * x + 3 * y - z
    grid = target_grid(Geometry(f.shape, (1.0, 1.0, 1.0)), (0.7, 0.6, 0.4))
    out = resample_box(f, grid, _full(grid), 1)
    c = [np.clip(grid.coords(k, slice(0, n)), 0, f.shape[k] - 1) for k, n in enumerate(grid.shape)]
    cz, cy, cx = np.meshgrid(*c, indexing="ij")
    np.testing.assert_allclose(out, 2 * cx + 3 * cy - cz, atol=1e-12)
    assert grid.start[0] < 0  # the grid reaches beyond the first voxel: values there are clamped (edge)


def test_cubic_bspline_reproduces_cubic_polynomial_in_interior():
    x = np.arange(80.0)
    f = np.broadcast_to(1e-3 * (x - 40) ** 3 + 0.5 * x, (2, 2, 80)).copy()
    grid = target_grid(Geometry(f.shape, (1.0, 1.0, 1.0)), (0.37, None, None))
    out = resample_box(f, grid, _full(grid), 3)[0, 0]
    c = grid.coords(2, slice(0, grid.shape[2]))
    inner = (c > 25) & (c < 55)
    np.testing.assert_allclose(out[inner], 1e-3 * (c[inner] - 40) ** 3 + 0.5 * c[inner], atol=1e-6)
    # and agrees with scipy's cubic spline away from the borders
    ref = map_coordinates(f[0, 0], [c], order=3, mode="nearest")
    np.testing.assert_allclose(out[inner], ref[inner], atol=1e-6)


def test_identity_z_axis_passes_slices_unchanged():
    rng = np.random.default_rng(2)
    a = rng.integers(-1000, 1000, size=(4, 12, 12)).astype(float)
    grid = target_grid(Geometry(a.shape, (3.0, 1.0, 1.0)), (1.0, 1.0, 3.0))  # nothing changes
    assert grid.is_identity
    grid = target_grid(Geometry(a.shape, (3.0, 1.0, 1.0)), (0.5, 0.5, None))
    out = resample_box(a, grid, _full(grid), 3)
    assert out.shape == (4, 24, 24)
    # slice k of the output depends on slice k of the input only
    b = a.copy()
    b[2] += 500
    out2 = resample_box(b, grid, _full(grid), 3)
    assert np.array_equal(out[[0, 1, 3]], out2[[0, 1, 3]]) and not np.allclose(out[2], out2[2])


def test_mask_threshold_and_rounding():
    m = np.zeros((1, 4, 4), bool)
    m[0, 1:3, 1:3] = True
    grid = target_grid(Geometry(m.shape, (1.0, 1.0, 1.0)), (0.5, 0.5, None))
    soft = resample_box(m, grid, _full(grid), 1)
    hard = resample_mask_box(m, grid, _full(grid), 1, 0.5)
    assert np.array_equal(hard, soft >= 0.5 - 1e-9)
    assert 0 < hard.sum() < hard.size
    a = np.arange(16.0).reshape(1, 4, 4)
    r = resample_box(a, grid, _full(grid), 1, round_output=True)
    assert np.array_equal(r, np.round(r)) and not np.array_equal(resample_box(a, grid, _full(grid), 1), r)
    assert np.array_equal(resample_box(a + 0.4, grid, _full(grid), 1, round_input=True),
                          resample_box(a, grid, _full(grid), 1))
