"""Compiled kernels without numba's start-up cost where it can be avoided.

The kernel modules decorate their compiled functions with :func:`njit` from here instead of numba's. Each becomes a
:class:`Kernel`, which runs

1. the **ahead-of-time build** of the kernel (:mod:`radiomix.kernels.aot`) when one exists for this exact source,
   CPU and NumPy and the arguments have a signature it was built for. It is an ordinary extension module: calling it
   imports neither numba nor llvmlite, so a process that only meets such signatures never pays numba's start (about
   0.16 s to import, 0.16 s to start its compiler, then 5-10 ms to load each cached kernel; a small ROI's whole
   extraction takes ~15 ms);
2. otherwise **numba's JIT** (with its disk cache), exactly as a plain ``numba.njit`` would: numba is imported on the
   first such call.

Both compile the same Python source with the same numba options (``nogil``, ``fastmath``) for this machine's CPU, and
``tests/kernels/test_aot.py`` checks that they give the same values bit for bit. Parallel kernels are never built
ahead of time (numba's parallel loops need its runtime); they always take the JIT.

When numba is first needed, every kernel gets its numba dispatcher at once (:func:`materialize`). A dispatcher
compiles a copy of the kernel's function whose globals name the other kernels' dispatchers rather than these
wrappers, so numba resolves and inlines calls between kernels as usual, while Python code keeps calling the wrappers.

``RADIOMIX_AOT=0`` turns the ahead-of-time build off (every call takes the JIT); ``RADIOMIX_AOT_DIR`` names the
folder that holds the builds (default: ``__pycache__`` beside the kernels, like numba's cache).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import threading
import types
import warnings
from pathlib import Path

import numpy as np

#: every kernel defined so far, in definition order
KERNELS: list[Kernel] = []
_LOCK = threading.RLock()
_AOT_OFF = ("0", "false", "no", "off")


class _Prange:
    """Stands for ``numba.prange`` in a kernel module until numba is imported (in Python it is ``range``)."""

    def __call__(self, *args):
        return range(*args)

    def __repr__(self) -> str:
        return "prange"


#: ``numba.prange`` for kernel modules that must not import numba (replaced by the real one in compiled copies)
prange = _Prange()


def njit(*args, **options):
    """``@njit`` / ``@njit(**numba options)``: a :class:`Kernel` (numba's options, given as to ``numba.njit``)."""
    if args and callable(args[0]) and not options:
        return Kernel(args[0], {})
    return lambda fn: Kernel(fn, options)


class Kernel:
    """A compiled kernel: the ahead-of-time build for the signatures it holds, numba's JIT for anything else.

    Attributes a numba dispatcher has (``signatures``, ``stats``, ``compile``, ``overloads``...) are the JIT
    dispatcher's: reading one imports numba and creates the dispatchers (compiling nothing)."""

    def __init__(self, py_func, options: dict):
        functools.update_wrapper(self, py_func)
        self.py_func = py_func
        self.options = dict(options)
        self.qualname = f"{py_func.__module__}.{py_func.__name__}"
        self._dispatcher = None
        self._aot: dict | None = None  # argument key -> compiled function; None: not looked up yet
        with _LOCK:
            KERNELS.append(self)

    def __call__(self, *args):
        aot = self._aot
        if aot is None:
            aot = self._aot = aot_functions(self.qualname)
        if aot:
            fn = aot.get(arg_key(args))
            if fn is not None:
                return fn(*args)
        dispatcher = self._dispatcher
        if dispatcher is None:
            dispatcher = self.dispatcher
        return dispatcher(*args)

    @property
    def dispatcher(self):
        """numba's JIT dispatcher of this kernel (created, with every other kernel's, on first use)."""
        if self._dispatcher is None:
            materialize()
        return self._dispatcher

    def __getattr__(self, name: str):
        if name.startswith("__") or name in ("_dispatcher", "_aot", "py_func", "options", "qualname"):
            raise AttributeError(name)
        return getattr(self.dispatcher, name)

    def __repr__(self) -> str:
        return f"<radiomix kernel {self.qualname}>"


def materialize() -> None:
    """Import numba and give every kernel defined so far its JIT dispatcher (compiles nothing)."""
    import numba

    with _LOCK:
        todo = [k for k in KERNELS if k._dispatcher is None]
        if not todo:
            return
        snapshots: dict[str, dict] = {}
        made: dict[Kernel, object] = {}
        for k in todo:  # each compiles a copy of its function whose globals are a snapshot of its module's ...
            fn = k.py_func
            g = snapshots.setdefault(fn.__module__, dict(fn.__globals__))
            copy = types.FunctionType(fn.__code__, g, fn.__name__, fn.__defaults__, fn.__closure__)
            copy.__kwdefaults__ = fn.__kwdefaults__
            copy.__qualname__ = fn.__qualname__
            copy.__doc__ = fn.__doc__
            made[k] = numba.njit(**k.options)(copy)
        for g in snapshots.values():  # ... in which kernels are their dispatchers and prange is numba's
            for key, value in g.items():
                if isinstance(value, Kernel):
                    dispatcher = made.get(value) or value._dispatcher
                    if dispatcher is not None:
                        g[key] = dispatcher
                elif value is prange:
                    g[key] = numba.prange
        for k, dispatcher in made.items():  # published last: another thread never compiles a half-made snapshot
            k._dispatcher = dispatcher


# --- the ahead-of-time build --------------------------------------------------------------------------------------


def aot_enabled() -> bool:
    return os.environ.get("RADIOMIX_AOT", "").strip().lower() not in _AOT_OFF


def aot_dir() -> Path:
    """Folder of the ahead-of-time builds: ``RADIOMIX_AOT_DIR``, else ``__pycache__`` beside the kernels."""
    env = os.environ.get("RADIOMIX_AOT_DIR", "").strip()
    return Path(env) if env else Path(__file__).resolve().parent / "__pycache__"


def kernel_sources() -> list[Path]:
    """The source files a build compiles from: the kernel modules of this package (kernels call each other across
    them), not the machinery around them."""
    here = Path(__file__).resolve().parent
    return sorted(p for p in here.glob("*.py") if p.name not in ("__init__.py", "_jit.py", "manifest.py", "aot.py"))


@functools.cache
def _cpu_fingerprint() -> str:
    """This machine's CPU model and flags (builds are for this CPU); empty where /proc/cpuinfo is missing."""
    import platform

    text = platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(("model name", "flags", "Features", "CPU part")):
                    text += line
                elif not line.strip() and len(text) > 20:
                    break  # the first processor's block is enough
    except OSError:
        text += platform.processor()
    return text


@functools.cache
def build_key() -> str:
    """Digest of what a build depends on: the kernels' sources, the CPU, Python and NumPy (names the build; computed
    once per process, like numba's own check of its cache)."""
    h = hashlib.sha256()
    for p in kernel_sources():
        h.update(p.name.encode())
        h.update(p.read_bytes())
    from radiomix.kernels.aot import SIGNATURES

    h.update(repr(sorted(SIGNATURES.items())).encode())
    h.update(machine_key().encode())
    return h.hexdigest()[:16]


def machine_key() -> str:
    """Digest of what a build depends on besides the kernels' sources: the CPU, Python and NumPy. A build in the same
    folder with this machine key but another name was made from other sources here, and can never load again."""
    text = f"{_cpu_fingerprint()} {sys.version_info[:2]} {np.__version__}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def module_name(key: str) -> str:
    return f"radiomix_aot_{key}"


def build_files(folder: Path | None = None) -> tuple[str, Path, Path]:
    """(module name, extension, index) of the current build in ``folder`` (default :func:`aot_dir`); the build counts
    only when both files exist (the index is written last)."""
    import importlib.machinery

    name = module_name(build_key())
    folder = Path(folder) if folder is not None else aot_dir()
    return name, folder / f"{name}{importlib.machinery.EXTENSION_SUFFIXES[0]}", folder / f"{name}.json"


_AOT_TABLE: dict[str, dict] | None = None  # kernel -> argument key -> compiled function; None: not looked up yet
_BUILD_NAME: str | None = None


def aot_functions(qualname: str) -> dict:
    """Argument key -> compiled function of one kernel in the current build ({} without one); the first call of a
    process loads the build."""
    global _AOT_TABLE
    table = _AOT_TABLE
    if table is None:
        with _LOCK:
            if _AOT_TABLE is None:
                _AOT_TABLE = _load_build() if aot_enabled() else {}
            table = _AOT_TABLE
    return table.get(qualname, {})


def loaded_build() -> str | None:
    """Name of the ahead-of-time build this process uses, loading it if not done yet (None: none)."""
    aot_functions("")
    return _BUILD_NAME


def _load_build() -> dict:
    """The current build's functions by kernel and argument key; {} when there is none. A build that fails to load
    warns once (naming the file) and the kernels take the JIT."""
    global _BUILD_NAME
    import importlib.util

    try:
        name, so, index = build_files()
    except OSError:
        return {}
    if not index.is_file():
        return {}
    try:
        with open(index) as fh:
            exports = json.load(fh)["exports"]
        spec = importlib.util.spec_from_file_location(name, so)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        table: dict[str, dict] = {}
        for e in exports:
            table.setdefault(e["kernel"], {})[_freeze(e["args"])] = getattr(module, e["name"])
    except Exception as exc:  # noqa: BLE001 - any broken build: warn, then the JIT as without one
        warnings.warn(f"radiomix: the compiled kernels in {so} could not be loaded ({type(exc).__name__}: {exc}); "
                      "using numba's JIT (rebuild with `radiomix build-kernels`)", RuntimeWarning, stacklevel=3)
        return {}
    _BUILD_NAME = name
    return table


def _freeze(obj):
    return tuple(_freeze(x) for x in obj) if isinstance(obj, list) else obj


_SCALAR = {"<i8": "i8", "<f8": "f8", "|b1": "b", "<c16": "c16"}


def arg_key(args: tuple):
    """The key of a call's argument types, in the terms numba types them: an array by dtype, dimensions, layout and
    whether it is writable; Python (and NumPy 64-bit) scalars; tuples; NumPy scalar classes. None for anything else
    (such a call takes the JIT)."""
    return tuple(_key(a) for a in args)


def _key(a):
    t = type(a)
    if t is np.ndarray:
        f = a.flags
        if not f.aligned:
            return None
        return (a.dtype.str, a.ndim, "C" if f.c_contiguous else "F" if f.f_contiguous else "A", bool(f.writeable))
    if t is bool:
        return "b"
    if t is int:
        return "i8" if -(2**63) <= a < 2**63 else None
    if t is float:
        return "f8"
    if t is complex:
        return "c16"
    if t is tuple:
        return ("t", *(_key(x) for x in a))
    if isinstance(a, np.generic):
        s = a.dtype.str
        return _SCALAR.get(s, ("s", s))
    if isinstance(a, type) and issubclass(a, np.generic):
        return ("cls", np.dtype(a).str)
    return None


def get_num_threads() -> int:
    """``numba.get_num_threads()`` (imports numba: for the callers of parallel kernels, which need it anyway)."""
    import numba

    return numba.get_num_threads()


def jit_loaded() -> bool:
    """Whether numba is imported in this process (a parallel kernel then costs no start-up)."""
    return "numba" in sys.modules
