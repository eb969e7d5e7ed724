"""How many threads radiomix may use inside one process (feature families on large ROIs, large convolutions).

``RADIOMIX_THREADS`` overrides the default, the CPUs this process may run on (at most 4). Batch workers set it to 1:
a batch's parallelism is its worker processes.
"""

from __future__ import annotations

import contextlib
import os

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


def one_blas_thread():
    """Context manager: BLAS (OpenBLAS/MKL through threadpoolctl) at one thread inside it. Used around a batch case
    (a multi-threaded BLAS sums long dot products in an order that depends on its thread count, so engines with
    different thread counts would differ in the last bits) and around threaded feature families (their few small
    BLAS calls gain nothing, and idle BLAS threads spinning on a busy machine steal the families' cores)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
