"""End-to-end properties of extract(): translation invariance, voxels outside the mask, voxel-size scaling, output
shapes, and clear errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radiomix.errors import EmptyMaskError, GeometryError, InputError
from radiomix.extract import LONG_COLUMNS, extract
from radiomix.image import Geometry, Image, Mask
from radiomix.settings import ALL_FAMILIES, Discretisation, Settings, Texture

# local intensity peaks use voxels outside the ROI by definition (IBSI 3.2), so they are left out of that property
INSIDE_ONLY = tuple(f for f in ALL_FAMILIES if f != "local_intensity")
SETTINGS = Settings(discretisation=Discretisation(method="fixed_bin_number", bin_number=8),
                    texture=Texture(aggregations=("3d_averaged", "3d_merged", "3d", "2d_averaged", "2d")),
                    families=INSIDE_ONLY)


def _case(seed, shape=(6, 9, 9)):
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 60, size=shape).astype(float)
    m = np.zeros(shape, bool)
    m[1:-1, 2:-2, 1:-2] = rng.random((shape[0] - 2, shape[1] - 4, shape[2] - 3)) > 0.25
    m[shape[0] // 2, shape[1] // 2, shape[2] // 2] = True
    return arr, m


def _values(arr, m, spacing=(2.0, 1.0, 1.0), settings=SETTINGS):
    g = Geometry(arr.shape, spacing)
    return extract(Image(arr, g), Mask(m, g), settings).to_dict()


def _assert_same(a, b, rtol=1e-9):
    assert a.keys() == b.keys()
    for k in a:
        if np.isnan(a[k]):
            assert np.isnan(b[k]), k
        else:
            assert b[k] == pytest.approx(a[k], rel=rtol, abs=1e-9), k


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), shift=st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(0, 4)))
def test_translation_invariance(seed, shift):
    arr, m = _case(seed)
    big_a = np.full(tuple(s + 5 for s in arr.shape), 7.0)
    big_m = np.zeros(big_a.shape, bool)
    sl = tuple(slice(o, o + s) for o, s in zip(shift, arr.shape))
    big_a[sl], big_m[sl] = arr, m
    _assert_same(_values(arr, m), _values(big_a, big_m))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_voxels_outside_the_mask_do_not_matter(seed):
    arr, m = _case(seed)
    other = arr.copy()
    other[~m] = np.random.default_rng(seed + 1).integers(-500, 500, size=int((~m).sum()))
    _assert_same(_values(arr, m), _values(other, m))


@settings(max_examples=6, deadline=None)
@given(factor=st.sampled_from([0.5, 2.0, 3.0]))
def test_volume_scales_with_voxel_size(factor):
    arr, m = _case(3)
    s = Settings(discretisation=Discretisation(method="fixed_bin_number", bin_number=8), families=("morphology",))
    a = _values(arr, m, (2.0, 1.0, 1.0), s)
    b = _values(arr, m, (2.0 * factor, factor, factor), s)
    for name in ("original_morphology_volume_mesh", "original_morphology_volume_voxel_counting"):
        assert b[name] == pytest.approx(a[name] * factor**3, rel=1e-6)  # float32 mesh vertices
    assert b["original_morphology_surface_area_mesh"] == pytest.approx(
        a["original_morphology_surface_area_mesh"] * factor**2, rel=1e-6)


def test_long_and_wide_tables():
    arr, m = _case(1)
    g = Geometry(arr.shape, (2.0, 1.0, 1.0))
    fs = extract(Image(arr, g), Mask(m, g), SETTINGS)
    long = fs.to_long()
    assert list(long.columns) == LONG_COLUMNS
    assert set(long["family"]) == set(INSIDE_ONLY)
    glcm = long[long.family == "glcm"]
    assert set(glcm["ibsi_aggregation"]) == {"ITBB", "IAZD", "BTW3"}
    assert (long.loc[long.family == "statistics", "ibsi_aggregation"] == "").all()
    assert long["ibsi_feature"].str.len().gt(0).all()
    wide = fs.to_wide()
    assert len(wide) == len(long) and wide.index.is_unique
    assert "original_glcm_joint_entropy_3d_averaged" in wide.index


def test_bad_inputs_have_clear_errors():
    arr, m = _case(2)
    g = Geometry(arr.shape, (2.0, 1.0, 1.0))
    nan = arr.copy()
    nan[2, 3, 3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        extract(Image(nan, g, "scan.nii"), Mask(m, g), SETTINGS)
    with pytest.raises(GeometryError, match="size differs"):
        extract(Image(arr, g), Mask(m[:, :, 1:], Geometry(m[:, :, 1:].shape, (2.0, 1.0, 1.0))), SETTINGS)
    s = SETTINGS.replace(resegmentation={"range": [1000, 2000]})
    with pytest.raises(EmptyMaskError, match="re-segmentation"):
        extract(Image(arr, g), Mask(m, g, "roi.nii"), s)


def test_families_on_threads_give_the_same_values_in_the_same_order(monkeypatch):
    import sys

    ex = sys.modules["radiomix.extract"]
    monkeypatch.setattr(ex, "PARALLEL_MIN_VOXELS", 0)  # this small ROI takes the threaded path too
    arr, m = _case(3, shape=(10, 14, 14))
    g = Geometry(arr.shape, (2.0, 1.0, 1.0))
    settings = SETTINGS.replace(families=ALL_FAMILIES)
    monkeypatch.setenv("RADIOMIX_THREADS", "1")
    one = extract(Image(arr, g), Mask(m, g), settings)
    monkeypatch.setenv("RADIOMIX_THREADS", "3")
    three = extract(Image(arr, g), Mask(m, g), settings)
    assert [v.column for v in one.values] == [v.column for v in three.values]
    _assert_same(one.to_dict(), three.to_dict(), rtol=0)


def test_family_error_on_a_thread_is_recorded_or_raised(monkeypatch):
    import sys

    from radiomix.features import FAMILIES

    ex = sys.modules["radiomix.extract"]
    monkeypatch.setattr(ex, "PARALLEL_MIN_VOXELS", 0)
    monkeypatch.setenv("RADIOMIX_THREADS", "2")

    def broken(roi):
        raise ValueError("broken on purpose")

    monkeypatch.setitem(FAMILIES, "ngtdm", FAMILIES["ngtdm"].__class__(
        "ngtdm", FAMILIES["ngtdm"].ibsi, FAMILIES["ngtdm"].features, broken))
    arr, m = _case(4)
    g = Geometry(arr.shape, (2.0, 1.0, 1.0))
    settings = SETTINGS.replace(families=("statistics", "ngtdm", "glcm"))
    fs = extract(Image(arr, g), Mask(m, g), settings, on_family_error="record")
    assert fs.errors == {"original/ngtdm": "ValueError: broken on purpose"}
    assert {v.family for v in fs.values} == {"statistics", "glcm"}
    with pytest.raises(ValueError, match="broken on purpose"):
        extract(Image(arr, g), Mask(m, g), settings)


def test_calling_thread_takes_the_longest_family(monkeypatch):
    """The caller works beside the pool: it takes morphology (the longest family on large ROIs), so morphology's
    large temporaries come from the main thread's heap, warm from earlier calls."""
    import sys
    import threading

    from radiomix.features import FAMILIES

    ex = sys.modules["radiomix.extract"]
    monkeypatch.setattr(ex, "PARALLEL_MIN_VOXELS", 0)
    monkeypatch.setenv("RADIOMIX_THREADS", "2")
    ran_on = {}
    for name in ("morphology", "statistics", "glcm"):
        fam = FAMILIES[name]

        def compute(roi, fam=fam):
            ran_on[fam.name] = threading.current_thread()
            return fam.compute(roi)

        monkeypatch.setitem(FAMILIES, name, fam.__class__(fam.name, fam.ibsi, fam.features, compute))
    arr, m = _case(5)
    g = Geometry(arr.shape, (2.0, 1.0, 1.0))
    fs = extract(Image(arr, g), Mask(m, g), SETTINGS.replace(families=("statistics", "glcm", "morphology")))
    assert ran_on["morphology"] is threading.main_thread()
    assert set(ran_on) == {"morphology", "statistics", "glcm"}
    assert fs.values[0].family == "statistics"  # output order is the settings' order


def test_family_parts_run_as_tasks_and_their_errors_stay_with_the_family(monkeypatch):
    """A family's separable part runs as a task of its own; its rows are merged back in the family's feature order.
    A part that raises fails its family (recorded or raised as usual)."""
    import sys
    import threading

    from radiomix.features import FAMILIES
    from radiomix.features.base import FamilyPart

    ex = sys.modules["radiomix.extract"]
    monkeypatch.setattr(ex, "PARALLEL_MIN_VOXELS", 0)
    monkeypatch.setenv("RADIOMIX_THREADS", "2")
    fam = FAMILIES["ngtdm"]
    names = [f.name for f in fam.features]
    threads = {}

    def compute(roi, exclude=frozenset()):
        threads["family"] = threading.current_thread()
        return [(n, "", float(k)) for k, n in enumerate(names) if n not in exclude]

    def part(roi):
        threads["part"] = threading.current_thread()
        return [(names[1], "", 1.0), (names[3], "", 3.0)]

    monkeypatch.setitem(FAMILIES, "ngtdm", fam.__class__("ngtdm", fam.ibsi, fam.features, compute,
                                                          parts=(FamilyPart((names[1], names[3]), part),)))
    arr, m = _case(6)
    g = Geometry(arr.shape, (2.0, 1.0, 1.0))
    settings = SETTINGS.replace(families=("ngtdm", "statistics"))
    fs = extract(Image(arr, g), Mask(m, g), settings)
    assert [(v.feature, v.value) for v in fs.values if v.family == "ngtdm"] == [(n, float(k)) for k, n in
                                                                                enumerate(names)]
    assert set(threads) == {"family", "part"}

    def broken(roi):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setitem(FAMILIES, "ngtdm", fam.__class__("ngtdm", fam.ibsi, fam.features, compute,
                                                          parts=(FamilyPart((names[1],), broken),)))
    fs = extract(Image(arr, g), Mask(m, g), settings, on_family_error="record")
    assert fs.errors == {"original/ngtdm": "ZeroDivisionError: division by zero"}
    assert {v.family for v in fs.values} == {"statistics"}
    with pytest.raises(ZeroDivisionError):
        extract(Image(arr, g), Mask(m, g), settings)


def test_threads_start_at_a_lower_roi_size_with_morphology(monkeypatch):
    import sys

    ex = sys.modules["radiomix.extract"]
    monkeypatch.setenv("RADIOMIX_THREADS", "2")
    if ex.family_threads() < 2:
        pytest.skip("numba has no thread-safe threading layer here")
    calls = []
    real = ex._threaded_families
    monkeypatch.setattr(ex, "_threaded_families", lambda *a: calls.append(a[1]) or real(*a))
    arr = np.random.default_rng(1).normal(100, 10, size=(20, 40, 40)).round()
    m = np.zeros(arr.shape, bool)
    m[2:18, 5:30, 5:30] = True  # 10,000 voxels: between the two thresholds
    g = Geometry(arr.shape, (2.0, 1.0, 1.0))
    assert ex.PARALLEL_MIN_VOXELS_PARTS <= m.sum() < ex.PARALLEL_MIN_VOXELS
    extract(Image(arr, g), Mask(m, g), SETTINGS.replace(families=("statistics", "glcm")))
    assert calls == []
    extract(Image(arr, g), Mask(m, g), SETTINGS.replace(families=("statistics", "morphology")))
    assert calls == [["statistics", "morphology"]]
    one = extract(Image(arr, g), Mask(m, g), SETTINGS.replace(families=("morphology",)))  # it and its part
    assert calls[-1] == ["morphology"]
    monkeypatch.setenv("RADIOMIX_THREADS", "1")
    serial = extract(Image(arr, g), Mask(m, g), SETTINGS.replace(families=("morphology",)))
    assert [(v.feature, v.value) for v in one.values] == [(v.feature, v.value) for v in serial.values]


def test_bad_thread_count_names_the_variable(monkeypatch):
    from radiomix.errors import SettingsError
    from radiomix.extract import family_threads

    monkeypatch.setenv("RADIOMIX_THREADS", "many")
    with pytest.raises(SettingsError, match="RADIOMIX_THREADS"):
        family_threads()
    monkeypatch.setenv("RADIOMIX_THREADS", "0")
    assert family_threads() == 1


def test_roi_memo_builds_once_across_threads_and_retries_after_an_error():
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from radiomix.features.base import roi_memo

    arr, m = _case(5)
    g = Geometry(arr.shape, (2.0, 1.0, 1.0))
    from radiomix.preprocess import prepare, roi_data

    roi = roi_data(prepare(Image(arr, g), Mask(m, g), SETTINGS), SETTINGS)
    calls = []
    lock = threading.Lock()

    def build():
        with lock:
            calls.append(1)
        time.sleep(0.05)  # the other threads arrive while this one builds
        return 42

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda _: roi_memo(roi, "answer", build), range(8))) == [42] * 8
    assert len(calls) == 1

    def broken():
        raise ValueError("no")

    with pytest.raises(ValueError):
        roi_memo(roi, "flaky", broken)
    assert roi_memo(roi, "flaky", lambda: "second try") == "second try"


def test_import_and_extraction_stay_light():
    """``import radiomix`` and an original-image extraction load none of the heavy modules they do not use (each
    costs a fresh process 15-300 ms): pandas, Dask, pydicom, SciPy's ndimage (resampling and filters import it)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, radiomix\n"
        "from radiomix.image import Geometry, Image, Mask\n"
        "from radiomix.settings import Discretisation, Settings\n"
        "heavy = ('pandas', 'dask', 'pydicom', 'scipy.ndimage', 'torch')\n"
        "before = [m for m in heavy if m in sys.modules]\n"
        "rng = np.random.default_rng(0)\n"
        "g = Geometry((12, 14, 16), (1.0, 1.0, 1.0))\n"
        "m = np.zeros(g.shape, dtype=np.uint8); m[3:9, 4:10, 4:12] = 1\n"
        "radiomix.extract(Image(np.round(rng.normal(0, 50, g.shape)), g), Mask(m, g), Settings(name='t', discretisation=Discretisation("
        "method='fixed_bin_size', bin_width=25.0)))\n"
        "print(before, [m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[] []", out.stdout
