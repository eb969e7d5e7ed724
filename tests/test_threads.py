"""radiomix.threads: thread counts, the kept thread pools (also after fork) and the cached BLAS limiter."""

from __future__ import annotations

import multiprocessing
import sys
import types

import pytest

from radiomix import threads
from radiomix.errors import SettingsError


def test_available_threads_env(monkeypatch):
    monkeypatch.setenv("RADIOMIX_THREADS", "3")
    assert threads.available_threads() == 3
    monkeypatch.setenv("RADIOMIX_THREADS", "0")
    assert threads.available_threads() == 1
    monkeypatch.setenv("RADIOMIX_THREADS", "many")
    with pytest.raises(SettingsError, match="RADIOMIX_THREADS"):
        threads.available_threads()


def test_shared_pool_is_kept_per_kind_and_size():
    a = threads.shared_pool("test-kind", 2)
    assert threads.shared_pool("test-kind", 2) is a
    assert threads.shared_pool("test-other", 2) is not a
    b = threads.shared_pool("test-kind", 3)  # another size: a pool of its own; the first one stays usable
    assert b is not a and threads.shared_pool("test-kind", 3) is b
    assert b.submit(lambda: 41 + 1).result(timeout=10) == 42
    assert a.submit(lambda: 6 * 7).result(timeout=10) == 42


def _use_pool_in_child(queue):
    queue.put(threads.shared_pool("test-fork", 2).submit(lambda: "child ok").result(timeout=10))


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_shared_pool_works_in_a_forked_child():
    # the parent's pool has live threads; in a forked child they do not exist, so a kept pool would never run a task
    assert threads.shared_pool("test-fork", 2).submit(lambda: 1).result(timeout=10) == 1
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_use_pool_in_child, args=(queue,))
    proc.start()
    try:
        assert queue.get(timeout=30) == "child ok"
    finally:
        proc.join(timeout=30)
    assert proc.exitcode == 0


def test_one_blas_thread_keeps_its_controller_until_an_import(monkeypatch):
    pytest.importorskip("threadpoolctl")
    with threads.one_blas_thread():
        pass
    controller = threads._BLAS[0][1]
    with threads.one_blas_thread():
        pass
    assert threads._BLAS[0][1] is controller  # no import in between: the same scan
    monkeypatch.setitem(sys.modules, "radiomix_test_fake_module", types.ModuleType("radiomix_test_fake_module"))
    with threads.one_blas_thread():
        pass
    assert threads._BLAS[0][1] is not controller  # a module was imported: libraries scanned again


def test_one_blas_thread_limits_blas():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    if not blas:
        pytest.skip("no BLAS library loaded")
    with threads.one_blas_thread():
        inside = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    assert inside and all(n == 1 for n in inside)


def test_concurrent_extractions_share_the_pools_and_agree(monkeypatch):
    """Extractions from several user threads at once (each on the threaded path, sharing the kept family pool) give
    the serial values, in order."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from radiomix.extract import extract
    from radiomix.phantoms import lesion_phantom
    from radiomix.settings import Discretisation, Settings

    monkeypatch.setenv("RADIOMIX_THREADS", "2")
    settings = Settings(name="t", discretisation=Discretisation(method="fixed_bin_size", bin_width=25.0))
    cases = [lesion_phantom(shape=(24, 48, 48), radius_mm=14.0 + k, seed=k) for k in range(2)]
    assert all(int(m.array.sum()) >= 4000 for _, m in cases)  # threaded: morphology is among the families
    ref = [extract(img, m, settings).values for img, m in cases]
    with ThreadPoolExecutor(4) as ex:
        got = list(ex.map(lambda k: extract(*cases[k % 2], settings).values, range(8)))
    for k, values in enumerate(got):
        expected = ref[k % 2]
        assert [(v.family, v.feature, v.aggregation) for v in values] == [
            (v.family, v.feature, v.aggregation) for v in expected]
        np.testing.assert_array_equal([v.value for v in values], [v.value for v in expected])


@pytest.mark.parametrize("limit_from", [1, 10**9])
def test_threaded_families_limit_blas_only_on_larger_rois(monkeypatch, limit_from):
    """Threaded ROIs below BLAS_LIMIT_MIN_VOXELS skip the BLAS limit (and its controller's library scan), like the
    serial path; the values are the same either way."""
    import importlib

    import numpy as np

    from radiomix.phantoms import lesion_phantom
    from radiomix.settings import Discretisation, Settings

    ex = importlib.import_module("radiomix.extract")
    settings = Settings(name="t", discretisation=Discretisation(method="fixed_bin_size", bin_width=25.0))
    img, mask = lesion_phantom(shape=(24, 48, 48), radius_mm=14.0, seed=0)
    assert int(mask.array.sum()) >= ex.PARALLEL_MIN_VOXELS_PARTS  # threaded: morphology is among the families
    monkeypatch.setenv("RADIOMIX_THREADS", "1")
    serial = ex.extract(img, mask, settings)
    monkeypatch.setenv("RADIOMIX_THREADS", "2")
    if ex.family_threads() < 2:
        pytest.skip("numba has no thread-safe threading layer here: families never run threaded")
    entered = []
    real = ex.one_blas_thread

    def counting():
        entered.append(1)
        return real()

    monkeypatch.setattr(ex, "one_blas_thread", counting)
    monkeypatch.setattr(ex, "BLAS_LIMIT_MIN_VOXELS", limit_from)
    got = ex.extract(img, mask, settings)
    assert len(entered) == (1 if limit_from == 1 else 0)
    np.testing.assert_array_equal([v.value for v in got.values], [v.value for v in serial.values])
