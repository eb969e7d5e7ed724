"""Compiled (numba) kernels of the feature families; each is tested against a plain NumPy reference (tests/kernels).

Kernels are defined with :func:`radiomix.kernels._jit.njit`: their usual signatures run from an ahead-of-time build
(`radiomix build-kernels`, which ``make`` runs; :mod:`radiomix.kernels.aot`) without importing numba, anything else
through numba's JIT and its disk cache. Importing this package does not import numba.

Importing this package registers one exit hook, :func:`freeze_heap_at_exit`: numba's typing and lowering registries
leave a few hundred thousand objects on the heap, and the interpreter's last garbage collection at exit walks all of
them (about 0.35 s on the development machine, a quarter of a small case's run). The hook moves the heap to the
permanent generation (``gc.freeze``) once the program is done, so the process ends at once. Objects are still
released by reference counting; Python never guarantees ``__del__`` of objects alive at exit anyway. Set
``RADIOMIX_FINAL_GC=1`` to keep the collection.

:func:`start_runtime_warm_up` starts numba's runtime on a background thread while a large image is read, and loads the
kernels the last process used (see there). A second exit hook records this process's kernels for that
(:mod:`radiomix.kernels.manifest`).
"""

from __future__ import annotations

import atexit
import gc
import logging  # noqa: F401 - before the fork hook below: see there
import os
import sys
import threading

from radiomix.kernels._jit import njit


def freeze_heap_at_exit() -> None:
    """At interpreter exit: skip the final garbage collection over the heap (see the module docstring)."""
    if os.environ.get("RADIOMIX_FINAL_GC", "").strip() not in ("1", "true", "yes"):
        gc.freeze()


atexit.register(freeze_heap_at_exit)


# --- numba's runtime, started while an image is read ----------------------------------------------------------------


@njit(cache=True, nogil=True)
def _runtime_probe(x):  # pragma: no cover - compiled
    return x + 1


_WARM_UP: list[threading.Thread] = []
_WARM_UP_LOCK = threading.Lock()


def start_runtime_warm_up() -> None:
    """Start numba's runtime on a background thread, once per process. The first compiled call of a process costs
    ~0.2 s before any kernel runs (numba imports and fills its typing and lowering registries, then loads the cached
    kernel); :func:`radiomix.io.read_image` calls this before it reads a large compressed file, so that this start
    overlaps decompressing the image, which SimpleITK does without holding the GIL (medium phantom, 30 MB, fresh
    process: 1.4 -> 1.2 s in all, first extraction 0.30 -> 0.11 s). The thread then loads the cached kernels the last
    process used (:mod:`radiomix.kernels.manifest`) and builds the BLAS controller of threaded extractions
    (:func:`radiomix.threads.blas_controller`). With an ahead-of-time build (:mod:`radiomix.kernels.aot`) the thread
    only loads it and builds the BLAS controller: numba starts when a kernel first needs the JIT, which no
    original-image extraction of the benchmark's phantoms does (medium phantom, first extraction 0.07-0.23 -> 0.05-0.06
    s: starting numba here held the GIL into a short read's extraction). A failure here is left to the kernels' own
    first calls to report.
    Off with ``RADIOMIX_WARM_UP=0``. A ``fork`` waits for the thread (a child must not inherit numba's locks half
    taken)."""
    if os.environ.get("RADIOMIX_WARM_UP", "").strip().lower() in ("0", "false", "no", "off"):
        return
    with _WARM_UP_LOCK:
        if _WARM_UP:
            return
        thread = threading.Thread(target=_warm_up, name="radiomix-warm-up")
        _WARM_UP.append(thread)
        thread.start()


def _warm_up() -> None:
    from radiomix.kernels import _jit

    if _jit.loaded_build() is not None:  # loads the ahead-of-time build, if there is one
        # the ahead-of-time build covers the usual signatures: numba starts only if a kernel needs the JIT (a
        # signature the build lacks, or a parallel kernel on large work: Moran's direct sum beyond 50M pairs)
        try:
            from radiomix.threads import blas_controller

            blas_controller()
        except Exception:  # noqa: BLE001, S110 - built on first use instead
            pass
        return
    try:
        _runtime_probe(1)
    except Exception:  # noqa: BLE001 - the first real kernel call reports any problem with numba itself
        return
    try:
        from radiomix.kernels import manifest
        from radiomix.threads import blas_controller

        manifest.preload()  # the kernels the last process used
        blas_controller()  # threaded extractions limit BLAS through it (~7 ms to build the first one)
    except Exception:  # noqa: BLE001, S110 - no preloading: each kernel loads on its first call, as without it
        pass


def _save_kernel_manifest() -> None:
    """At exit: record the kernels this process used for the next one's warm-up (:mod:`radiomix.kernels.manifest`);
    a problem only means no record (never a traceback at exit)."""
    if "numba" not in sys.modules:
        return  # every kernel ran from the ahead-of-time build: nothing loaded from numba's cache
    try:
        from radiomix.kernels import manifest

        manifest.save()
    except Exception:  # noqa: BLE001, S110 - see the docstring
        pass


atexit.register(_save_kernel_manifest)


def wait_for_runtime_warm_up() -> None:
    """Block until the warm-up thread (if one was started) is done."""
    for thread in _WARM_UP:
        if thread is not threading.current_thread():
            thread.join()


if hasattr(os, "register_at_fork"):
    # ``before`` hooks run in reverse order of registration. logging's takes its module lock, which the warm-up
    # thread needs while it imports numba: it is imported above, so its hook is registered first and runs after this
    # one, once the thread is done
    os.register_at_fork(before=wait_for_runtime_warm_up)
