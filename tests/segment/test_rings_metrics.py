"""Peritumoral rings (thickness in mm on anisotropic grids) and segmentation metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage as ndi
from scipy.spatial import cKDTree

from radiomix.errors import EmptyMaskError, GeometryError, InputError
from radiomix.image import Mask
from radiomix.segment import dilate_mm, ring_mask, ring_name, segmentation_metrics
from radiomix.segment.metrics import dice, jaccard, surface_distances

from .synthetic import sphere

GRIDS = [((24, 60, 50), (3.0, 0.8, 1.1)), ((40, 40, 40), (1.0, 1.0, 1.0)), ((30, 45, 70), (2.0, 1.3, 0.6))]


@pytest.mark.parametrize("shape,spacing", GRIDS)
@pytest.mark.parametrize("outer,inner", [(5.0, 0.0), (3.5, 2.0), (8.0, 4.0)])
def test_ring_thickness_within_one_voxel_diagonal(shape, spacing, outer, inner):
    centre = tuple(n * s / 2 for n, s in zip(shape, spacing))
    m, d_centre = sphere(shape, spacing, centre, radius_mm=10.0)
    r = ring_mask(m, outer, inner)
    diag = math.sqrt(sum(s * s for s in spacing))
    signed = d_centre - 10.0  # signed distance (mm) of every voxel centre to the true sphere surface
    # thickness against the true boundary: every ring voxel within [-inner - diag, outer + diag] ...
    assert signed[r.array].max() <= outer + diag and signed[r.array].min() >= -inner - diag
    # ... and every voxel well inside the requested shell is in the ring
    core = (signed > diag) & (signed < outer - diag)
    if inner:
        core |= (signed < -diag) & (signed > -inner + diag)
    assert r.array[core].all()
    # the outer shell is exactly the voxels within `outer` mm of a mask voxel centre (independent brute force)
    idx = np.argwhere(m.array) * np.asarray(spacing)
    outside = np.argwhere(~m.array)
    d_out, _ = cKDTree(idx).query(outside * np.asarray(spacing), distance_upper_bound=outer + 1e-6)
    expected = np.zeros(m.shape, bool)
    expected[tuple(outside[np.isfinite(d_out)].T)] = True
    assert np.array_equal(r.array & ~m.array, expected)
    # and the distance transform of the ring's measured thickness: the farthest ring voxel is within a diagonal
    dt = ndi.distance_transform_edt(~m.array, sampling=spacing)
    assert outer - diag <= dt[r.array & ~m.array].max() <= outer


def test_ring_within_body_and_names():
    m, _ = sphere((20, 40, 40), (2.0, 1.0, 1.0), (20.0, 20.0, 20.0), 8.0)
    body = Mask(np.ones(m.shape, bool), m.geometry, "body")
    body.array[:, :, 20:] = False
    r = ring_mask(m, 5.0, within=body)
    assert r.n_voxels > 0 and not r.array[:, :, 20:].any()
    assert ring_mask(m, 5.0).array[:, :, 20:].any()
    assert ring_name(5) == "peritumoral_5mm" and ring_name(2.5, 1) == "peritumoral_in1mm_out2p5mm"
    # the inner margin alone
    inner = ring_mask(m, 0, 2.0)
    assert (inner.array <= m.array).all() and inner.n_voxels < m.n_voxels
    assert np.array_equal(dilate_mm(m, 5.0).array, m.array | ring_mask(m, 5.0).array)


def test_ring_errors():
    m, _ = sphere((20, 20, 20), (1.0, 1.0, 1.0), (10.0, 10.0, 10.0), 4.0)
    with pytest.raises(InputError):
        ring_mask(m, 0, 0)
    with pytest.raises(InputError):
        ring_mask(m, -1)
    other, _ = sphere((20, 20, 21), (1.0, 1.0, 1.0), (10.0, 10.0, 10.0), 4.0)
    with pytest.raises(GeometryError, match="within-mask"):
        ring_mask(m, 3, within=other)
    none = Mask(np.zeros(m.shape, bool), m.geometry, "body")
    with pytest.raises(EmptyMaskError):
        ring_mask(m, 3, within=none)


def test_metrics_on_shifted_boxes_known_values():
    g = sphere((20, 30, 30), (2.0, 1.0, 0.5), (0, 0, 0), 1)[0].geometry
    a = np.zeros(g.shape, bool)
    b = np.zeros(g.shape, bool)
    a[5:10, 5:15, 5:15] = True  # 5 x 10 x 10
    b[5:10, 5:15, 7:17] = True  # shifted 2 voxels in x = 1 mm
    ra, rb = Mask(a, g, "a"), Mask(b, g, "b")
    res = segmentation_metrics(ra, rb)
    assert res["dice"] == pytest.approx(2 * 400 / 1000)
    assert res["jaccard"] == pytest.approx(400 / 600)
    assert res["hausdorff_mm"] == pytest.approx(1.0)
    assert res["volume_difference_mm3"] == 0 and res["volume_reference_mm3"] == pytest.approx(500 * 1.0)
    identical = segmentation_metrics(ra, ra)
    assert identical["dice"] == 1 and identical["hd95_mm"] == 0 and identical["assd_mm"] == 0
    c = a.copy()
    c[10:12] = a[5:7]
    grown = segmentation_metrics(ra, Mask(c, g, "c"))
    assert grown["volume_difference_mm3"] == pytest.approx(200 * 1.0)
    assert grown["relative_volume_difference"] == pytest.approx(0.4)
    assert grown["hausdorff_mm"] == pytest.approx(4.0)  # two slices of 2 mm


def test_metrics_degenerate_and_grid_errors():
    m, _ = sphere((10, 10, 10), (1.0, 1.0, 1.0), (5.0, 5.0, 5.0), 3.0)
    empty = Mask(np.zeros(m.shape, bool), m.geometry, "empty")
    assert math.isnan(dice(empty, empty)) and math.isnan(jaccard(empty, empty))
    res = segmentation_metrics(m, empty)
    assert res["dice"] == 0 and math.isnan(res["hd95_mm"]) and math.isnan(res["assd_mm"])
    assert math.isnan(segmentation_metrics(empty, m)["relative_volume_difference"])
    other, _ = sphere((10, 10, 11), (1.0, 1.0, 1.0), (5.0, 5.0, 5.0), 3.0)
    with pytest.raises(GeometryError, match="grid"):
        segmentation_metrics(m, other)


@pytest.mark.slow  # imports torch and MONAI: up to ~40 s on the loaded shared machine
def test_surface_distances_match_monai():
    pytest.importorskip("monai")
    import torch
    from monai.metrics import compute_average_surface_distance, compute_hausdorff_distance

    spacing = (2.5, 0.9, 0.7)
    a, _ = sphere((24, 50, 60), spacing, (30.0, 22.0, 20.0), 11.0)
    b, _ = sphere((24, 50, 60), spacing, (27.0, 25.0, 22.0), 9.0)
    ours = segmentation_metrics(a, b)
    ta = torch.from_numpy(a.array[None, None].astype(np.float32))
    tb = torch.from_numpy(b.array[None, None].astype(np.float32))
    hd95 = float(compute_hausdorff_distance(tb, ta, percentile=95, spacing=spacing))
    hd = float(compute_hausdorff_distance(tb, ta, spacing=spacing))
    asd = float(compute_average_surface_distance(tb, ta, symmetric=True, spacing=spacing))
    assert ours["hd95_mm"] == pytest.approx(hd95, rel=1e-6)
    assert ours["hausdorff_mm"] == pytest.approx(hd, rel=1e-6)
    assert ours["assd_mm"] == pytest.approx(asd, rel=1e-6)
    da, db = surface_distances(a, b)
    assert da.size and db.size
