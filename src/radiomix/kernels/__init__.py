"""Compiled (numba) kernels of the feature families; each is tested against a plain NumPy reference (tests/kernels).

Importing this package registers one exit hook, :func:`freeze_heap_at_exit`: numba's typing and lowering registries
leave a few hundred thousand objects on the heap, and the interpreter's last garbage collection at exit walks all of
them (about 0.35 s on the development machine, a quarter of a small case's run). The hook moves the heap to the
permanent generation (``gc.freeze``) once the program is done, so the process ends at once. Objects are still
released by reference counting; Python never guarantees ``__del__`` of objects alive at exit anyway. Set
``RADIOMIX_FINAL_GC=1`` to keep the collection.
"""

from __future__ import annotations

import atexit
import gc
import os


def freeze_heap_at_exit() -> None:
    """At interpreter exit: skip the final garbage collection over the heap (see the module docstring)."""
    if os.environ.get("RADIOMIX_FINAL_GC", "").strip() not in ("1", "true", "yes"):
        gc.freeze()


atexit.register(freeze_heap_at_exit)
