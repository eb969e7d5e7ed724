"""The compiled kernels a process used, loaded again from numba's disk cache while the next process reads its image.

A kernel compiled once is cached on disk, but every fresh process still loads each cached signature on its first call
(about 5-10 ms each: numba parses the kernel's bitcode and links its object code; a whole original-image extraction
loads ~15). At exit, :func:`save` writes the signatures the process loaded from the cache (module, kernel, the source
file's stamp, numba's signature) to a small manifest next to numba's cache; the next process's warm-up thread
(:func:`radiomix.kernels.start_runtime_warm_up`, started while a large image is decompressed) loads them again with
``Dispatcher.compile`` before the extraction asks for them. Signatures a process compiled are left to the next one,
which loads them: that keeps out most kernels that are only ever compiled into their callers.

The manifest only ever names kernels whose cached code is current: an entry whose source file changed since (its
``(mtime, size)`` stamp, the one numba's cache index checks too) or that belongs to a module the process has not
imported is skipped, so the warm-up loads and never compiles. Signatures new to the manifest come first, then the
ones it held, in their order; at most :data:`MAX_SIGNATURES` are kept. Writes are atomic (a temporary file, then a
rename) and are skipped when nothing changed. Any problem (a missing, unreadable or foreign manifest, an unwritable
folder) only means no preloading; the kernels then load on their first call as before.

``RADIOMIX_KERNEL_MANIFEST`` names the manifest file; ``0`` / ``off`` turns it off.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numba

#: format of the pickled manifest (a dict with these keys: format, numba, python, entries)
FORMAT = 1
#: signatures kept (an original-image extraction uses ~15; the filter bank and the voxel maps ~20 more)
MAX_SIGNATURES = 48
FILE_NAME = "radiomix-kernels.pkl"

#: the entries the warm-up read from the manifest (None: not read)
_read: list[tuple] | None = None


def manifest_path() -> Path | None:
    """The manifest file: ``RADIOMIX_KERNEL_MANIFEST``; else in numba's ``NUMBA_CACHE_DIR`` when set; else beside the
    kernels' own cache (this package's ``__pycache__``) when it is writable; else ``~/.cache/radiomix``. ``None``
    when turned off."""
    env = os.environ.get("RADIOMIX_KERNEL_MANIFEST", "").strip()
    if env.lower() in ("0", "off", "false", "no"):
        return None
    if env:
        return Path(env)
    if numba.config.CACHE_DIR:
        return Path(numba.config.CACHE_DIR) / FILE_NAME
    here = Path(__file__).parent / "__pycache__"
    if os.access(here if here.is_dir() else here.parent, os.W_OK):
        return here / FILE_NAME
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "radiomix" / FILE_NAME


def _stamp(module) -> tuple[float, int] | None:
    """(mtime, size) of a module's source file, as numba's cache index stamps it."""
    try:
        st = os.stat(module.__file__)
    except (OSError, TypeError, AttributeError):
        return None
    return st.st_mtime, st.st_size


def _header() -> dict:
    return {"format": FORMAT, "numba": numba.__version__, "python": tuple(sys.version_info[:2])}


def _kernels():
    """(module name, module, attribute, dispatcher) of every cached numba kernel defined in an imported radiomix
    module whose JIT dispatcher holds at least one compiled signature (the warm-up's probe aside)."""
    from radiomix.kernels import _runtime_probe  # the warm-up's own first call: always loaded anyway
    from radiomix.kernels._jit import KERNELS

    for kernel in list(KERNELS):
        disp = kernel._dispatcher
        name = kernel.py_func.__module__
        module = sys.modules.get(name)
        if (disp is None or module is None or kernel is _runtime_probe or not disp.signatures
                or getattr(module, kernel.__name__, None) is not kernel or disp.stats.cache_path is None):
            continue
        yield name, module, kernel.__name__, disp


def preload() -> int:
    """Load the manifest's kernels from numba's cache (the warm-up thread calls this); the number loaded."""
    global _read
    path = manifest_path()
    if path is None:
        return 0
    _read = _read_entries(path)
    loaded = 0
    for modname, attr, stamp, sig in _read or ():
        module = sys.modules.get(modname)  # never import here: only what the process already uses
        if module is None or _stamp(module) != stamp:
            continue  # a changed source: its cached code is stale, and the warm-up must not compile
        try:
            getattr(module, attr).compile(sig)
        except Exception:  # noqa: BLE001, S112 - the kernel's own first call reports real problems
            continue
        loaded += 1
    return loaded


def _read_entries(path: Path) -> list[tuple] | None:
    import pickle

    try:
        with open(path, "rb") as fh:
            data = pickle.load(fh)  # our own cache file, beside numba's (pickled) cache index
        if {k: data.get(k) for k in _header()} != _header():
            return None
        return list(data["entries"])
    except Exception:  # noqa: BLE001 - a missing or foreign manifest only means no preloading
        return None


def entries(old: list[tuple]) -> list[tuple]:
    """The manifest this process would write over ``old``: (module, kernel, stamp, signature), the signatures it loaded
    from numba's cache that ``old`` lacks first, then ``old``'s in their order, less those whose (imported) source
    changed since; at most :data:`MAX_SIGNATURES`."""
    held = {}
    for modname, module, attr, disp in _kernels():
        stamp = _stamp(module)
        if stamp is None:
            continue
        hits = disp.stats.cache_hits
        for sig in disp.signatures:
            if hits.get(sig):  # loaded from numba's cache (see the module docstring)
                held[(modname, attr, sig)] = (modname, attr, stamp, sig)
    kept = []
    for entry in old:
        key = (entry[0], entry[1], entry[3])
        module = sys.modules.get(entry[0])
        if key in held:
            kept.append(held.pop(key))
        elif module is None or _stamp(module) == entry[2]:  # not used here: kept as it was
            kept.append(entry)
        # else: its source changed since, so numba's cached code of it is stale: dropped
    return (list(held.values()) + kept)[:MAX_SIGNATURES]


def save() -> None:
    """Write the manifest (at exit) when the process holds kernels and the result differs from the manifest."""
    import pickle

    path = manifest_path()
    if path is None or "numba" not in sys.modules:
        return
    old = _read if _read is not None else (_read_entries(path) or [])
    new = entries(old)
    if not new or new == old:
        return
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            pickle.dump({**_header(), "entries": new}, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except Exception:  # noqa: BLE001 - an unwritable cache only means no preloading next time
        tmp.unlink(missing_ok=True)
