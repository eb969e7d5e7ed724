"""How many threads radiomix may use inside one process (feature families on large ROIs, large convolutions).

``RADIOMIX_THREADS`` overrides the default, the CPUs this process may run on (at most 4). Batch workers set it to 1:
a batch's parallelism is its worker processes.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from radiomix.errors import SettingsError

#: most threads used by default (beyond this the per-family and per-slab work is too coarse to gain)
MAX_DEFAULT_THREADS = 4


def available_threads() -> int:
    """``RADIOMIX_THREADS`` if set (a whole number >= 1; 0 or less means 1), else min(CPUs available, 4)."""
    env = os.environ.get("RADIOMIX_THREADS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise SettingsError(f"RADIOMIX_THREADS={env!r} is not a whole number of threads") from None
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(n, MAX_DEFAULT_THREADS))


_BLAS: list = []  # [(len(sys.modules) when built, threadpoolctl.ThreadpoolController)]


def one_blas_thread():
    """Context manager: BLAS (OpenBLAS/MKL through threadpoolctl) at one thread inside it. Used around a batch case
    (a multi-threaded BLAS sums long dot products in an order that depends on its thread count, so engines with
    different thread counts would differ in the last bits) and around threaded feature families (their few small
    BLAS calls gain nothing, and idle BLAS threads spinning on a busy machine steal the families' cores).

    threadpoolctl finds the loaded BLAS libraries by scanning the process's shared libraries (1.5-3 ms); the controller
    is kept and scanned again only after modules were imported (a new library comes with an import). Threaded
    families of ROIs below :data:`radiomix.extract.BLAS_LIMIT_MIN_VOXELS` do not limit BLAS, so they skip it."""
    controller = blas_controller()
    return contextlib.nullcontext() if controller is None else controller.limit(limits=1, user_api="blas")


def blas_controller():
    """threadpoolctl's controller of the loaded BLAS libraries (kept, see :func:`one_blas_thread`); ``None`` without
    threadpoolctl. Building the first one costs ~7 ms (its import and the scan): numba's warm-up thread
    (:func:`radiomix.kernels.start_runtime_warm_up`) builds it while a large image is read."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - comes with scikit-learn
        return None
    n_modules = len(sys.modules)
    if not _BLAS or _BLAS[0][0] != n_modules:
        _BLAS[:] = [(n_modules, ThreadpoolController())]
    return _BLAS[0][1]


_POOLS: dict[tuple[str, int], ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def shared_pool(name: str, threads: int) -> ThreadPoolExecutor:
    """A process-wide pool of ``threads`` threads for one kind of work (``name``: feature families, convolution
    slabs), kept between calls: starting threads costs ~0.5 ms a call, which matters on 5k-voxel ROIs. Kinds have
    their own pools, so work of one kind never waits behind the other's. A pool is never shut down while the process
    runs (a caller may still hold it; idle threads only wait), and a child process after ``fork`` starts with none
    (the parent's threads do not exist there)."""
    with _POOLS_LOCK:
        pool = _POOLS.get((name, threads))
        if pool is None:
            pool = _POOLS[(name, threads)] = ThreadPoolExecutor(max_workers=threads,
                                                                thread_name_prefix=f"radiomix-{name}")
        return pool


def _forget_pools_after_fork() -> None:  # pragma: no cover - runs in forked children
    global _POOLS_LOCK
    _POOLS.clear()
    _POOLS_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_after_fork)
