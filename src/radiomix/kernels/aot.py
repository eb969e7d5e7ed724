"""Ahead-of-time build of the kernels' usual signatures (numba's ``pycc``): `radiomix build-kernels`.

The build is an extension module compiled from the same kernel source with the same numba options, for this
machine's CPU; :mod:`radiomix.kernels._jit` calls it where the arguments match a signature below, so a process
whose calls all match never imports numba. Everything else (other signatures, parallel kernels, a changed source
with no new build) takes numba's JIT as before. The build is named by a digest of the kernels' sources, this list,
the CPU, Python and NumPy (:func:`radiomix.kernels._jit.build_key`), so a stale build is never used: after a change
it is simply not found until the next `radiomix build-kernels` (``make`` runs it after installing).

:data:`SIGNATURES` holds what an original-image extraction and the filter bank call with their own arguments
(``tests/kernels/test_aot.py`` checks that such an extraction meets no other signature, and that the build's values
equal the JIT's bit for bit). Types are written as in ``numba.types``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from pathlib import Path

_I32_1 = "Array(int32, 1, 'C')"
_I64_1 = "Array(int64, 1, 'C')"
_I64_2 = "Array(int64, 2, 'C')"
_F64_1 = "Array(float64, 1, 'C')"
_F64_2 = "Array(float64, 2, 'C')"
_F64_3 = "Array(float64, 3, 'C')"
_B_3 = "Array(boolean, 3, 'C')"
_T3 = "UniTuple(int64, 3)"

#: kernel (module.function) -> argument types of each signature built ahead of time
SIGNATURES: dict[str, tuple[str, ...]] = {
    "radiomix.kernels.glcm_kernels._glcm_counts_flat": (
        f"{_I32_1}, {_T3}, int64, {_I64_1}, int64, int64, int64, boolean",),
    "radiomix.kernels.glrlm_kernels._glrlm_volume_counts": (
        f"Array(uint8, 1, 'C'), {_T3}, {_I64_1}, {_I64_2}, int64, int64, NumberClass(uint16)",
        f"Array(uint8, 1, 'C'), {_T3}, {_I64_1}, {_I64_2}, int64, int64, NumberClass(uint32)",),
    "radiomix.kernels.neighbourhood_kernels._ngldm_kernel": (
        f"{_I32_1}, {_T3}, {_I64_1}, int64, int64, int64, int64, boolean",),
    "radiomix.kernels.neighbourhood_kernels._ngtdm_kernel": (
        f"{_I32_1}, {_T3}, {_I64_1}, int64, int64, int64, boolean",),
    "radiomix.kernels.zone_kernels._cityblock_distance": (f"{_B_3}, boolean",),
    "radiomix.kernels.zone_kernels._zones": (f"Array(int8, 1, 'C'), {_I32_1}, {_I64_1}, int64",),
    "radiomix.kernels.sphere_kernels._row_prefix_sums": (f"{_F64_3}",),
    "radiomix.kernels.sphere_kernels._sphere_means_mask_rows": (
        f"{_F64_3}, {_B_3}, {_I64_1}, {_I64_1}, {_I64_1}, {_I64_2}, int64",),
    "radiomix.kernels.morphology_kernels.mesh_volume_area": (f"{_F64_2}, {_I64_2}",),
    "radiomix.kernels.morphology_kernels._line_end_points": (f"{_I64_2}, {_I64_2}, Array(int64, 3, 'C')",),
    "radiomix.kernels.morphology_kernels.face_boxes_bounded": (
        f"{_F64_2}, {_I64_2}, {_F64_2}, {_F64_2}, {_F64_2}, {_F64_2}, float64, {_F64_2}",),
    "radiomix.kernels.morphology_kernels.mvee_weights_active": (f"{_F64_2}, float64, int64, int64",),
    "radiomix.kernels.morphology_kernels.mvee_polish": (f"{_F64_2}, {_F64_1}, float64, int64",),
    "radiomix.kernels.morphology_kernels.surface_cubes": (f"{_B_3}, Array(boolean, 1, 'C')",),
    "radiomix.kernels.filter_kernels.correlate_lines": (
        f"{_F64_3}, {_F64_1}, int64, int64, int64, int64, int64, int64, int64, {_F64_3}",),
    "radiomix.kernels.hull_kernels.convex_hull_3d_kernel": (f"{_I64_2}, {_I64_1}, {_I64_2}, {_I64_2}",),
    "radiomix.kernels.hull_kernels._max_sq_distance": (f"{_F64_2}",),
    "radiomix.kernels.map_kernels.voxel_maps_block": (
        (f"{_F64_3}, Array(int32, 3, 'C'), {_B_3}, {_I64_2}, int64, int64, int64, {_I64_1}, {_I64_1}, {_I64_1}, "
         f"{_I64_1}, int64, boolean, {_I64_1}, {_I64_1}, {_I64_1}, Array(float32, 2, 'C')"),),
    "radiomix.kernels.moran_kernels._pair_sums_direct_serial": (f"{_F64_2}, {_F64_1}",),
    "radiomix.kernels.moran_kernels._inverse_distance_grid_serial": (f"{_F64_1}, {_F64_1}, {_F64_1}, {_F64_3}",),
    "radiomix.kernels.moran_kernels._spectral_dots3": tuple(  # the blocks are contiguous planes of one buffer
        f"Array({real}, 3, 'C'), {_F64_1}, {c}, {c}, {c}, int64, {_F64_1}"
        for real, c in (("float64", "Array(complex128, 3, 'C')"), ("float32", "Array(complex64, 3, 'C')"))),
}


def _kernel(qualname: str):
    module, _, name = qualname.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _arg_types(text: str) -> tuple:
    import numba.types

    value = eval(text, dict(vars(numba.types)))  # our own constant strings above
    return value if isinstance(value, tuple) else (value,)


def _json_key(ty):
    """The key :func:`radiomix.kernels._jit.arg_key` computes for an argument numba types as ``ty`` (lists for JSON)."""
    import numba.types as nt
    from numba.np.numpy_support import as_dtype

    from radiomix.kernels._jit import _SCALAR

    if isinstance(ty, nt.Array):
        return [as_dtype(ty.dtype).str, ty.ndim, ty.layout, bool(ty.mutable)]
    if isinstance(ty, nt.BaseTuple):
        return ["t", *(_json_key(t) for t in ty.types)]
    if isinstance(ty, nt.NumberClass):
        return ["cls", as_dtype(ty.instance_type).str]
    if isinstance(ty, (nt.Boolean, nt.Integer, nt.Float, nt.Complex)):
        s = as_dtype(ty).str
        return _SCALAR.get(s, ["s", s])
    raise TypeError(f"no ahead-of-time key for numba type {ty}")


@contextlib.contextmanager
def _jit_equivalent_flags(options_by_function: dict):
    """While pycc compiles: each exported function with its kernel's numba options (``nogil`` releases the GIL in
    the wrapper, ``fastmath``), and the host CPU's features as the JIT sees them (pycc would derive them from the CPU
    name alone), so that the build computes exactly what the JIT computes."""
    import numba.pycc.compiler as pycc_compiler
    from numba.core import codegen, cpu

    original_compile = pycc_compiler.compile_extra
    original_features = codegen.AOTCPUCodegen._customize_tm_features

    def compile_extra(typingctx, targetctx, func, args, return_type, flags, locals, **kwargs):
        options = options_by_function.get(func, {})
        flags = flags.copy()
        if options.get("nogil"):
            flags.release_gil = True
        if options.get("fastmath"):
            flags.fastmath = cpu.FastMathOptions(options["fastmath"])
        if "error_model" in options:
            flags.error_model = options["error_model"]
        return original_compile(typingctx, targetctx, func, args, return_type, flags, locals, **kwargs)

    pycc_compiler.compile_extra = compile_extra
    codegen.AOTCPUCodegen._customize_tm_features = lambda self: self._get_host_cpu_features()
    try:
        yield
    finally:
        pycc_compiler.compile_extra = original_compile
        codegen.AOTCPUCodegen._customize_tm_features = original_features


def build(folder: Path | None = None, verbose: bool = False) -> Path:
    """Compile :data:`SIGNATURES` into this machine's build (in :func:`radiomix.kernels._jit.aot_dir`, or
    ``folder``); returns the extension's path. Needs a C compiler; takes ~20-45 s."""
    import json
    import shutil
    import tempfile

    import llvmlite.binding
    from numba.pycc import CC

    from radiomix.kernels import _jit

    kernels = {q: _kernel(q) for q in SIGNATURES}
    _jit.materialize()
    name, target, index = _jit.build_files(folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    exports, options = [], {}
    with tempfile.TemporaryDirectory(prefix="radiomix-aot-") as tmp:
        cc = CC(name)
        cc.output_dir = tmp
        cc.target_cpu = llvmlite.binding.get_host_cpu_name()
        cc.verbose = verbose
        for qualname, signatures in SIGNATURES.items():
            kernel = kernels[qualname]
            disp = kernel.dispatcher
            if kernel.options.get("parallel"):
                raise ValueError(f"{qualname} is a parallel kernel: it cannot be built ahead of time")
            for i, text in enumerate(signatures):
                args = _arg_types(text)
                disp.compile(args)  # the JIT's own return type (from numba's cache where it has it)
                ret = disp.overloads[args].signature.return_type
                export = f"{qualname.rsplit('.', 2)[-2]}__{kernel.__name__}__{i}"
                cc.export(export, ret(*args))(disp.py_func)
                options[disp.py_func] = kernel.options
                exports.append({"kernel": qualname, "name": export, "args": [_json_key(t) for t in args]})
        with _jit_equivalent_flags(options):
            cc.compile()
        built = next(p for p in Path(tmp).iterdir() if p.name.startswith(name) and p.is_file())
        partial = target.parent / f".{name}.{os.getpid()}.tmp"
        shutil.copyfile(built, partial)  # atomic: a reader sees the whole file or none
        os.replace(partial, target)
        partial.write_text(json.dumps({"module": name, "machine": _jit.machine_key(), "exports": exports}, indent=1))
        os.replace(partial, index)  # written last: the build counts only once both files are there
    prune_stale_builds(target.parent, name)
    return target


def prune_stale_builds(folder: Path, keep: str) -> list[str]:
    """Remove the builds in ``folder`` other than ``keep`` that were made on this machine (same
    :func:`radiomix.kernels._jit.machine_key`: CPU, Python, NumPy) from other kernel sources: they can never load again,
    and each kernel change would otherwise leave one more (~1.2 MB). Builds for other machines or Pythons sharing the
    folder (a shared install on a cluster), and builds whose index has no machine key, are left alone. A process that
    has a removed build loaded keeps it (the file is only unlinked). Returns the names removed."""
    import json

    from radiomix.kernels import _jit

    machine = _jit.machine_key()
    removed = []
    for index in sorted(Path(folder).glob("radiomix_aot_*.json")):
        name = index.name[: -len(".json")]
        if name == keep:
            continue
        try:
            if json.loads(index.read_text()).get("machine") != machine:
                continue
            index.unlink()  # first: without its index a build no longer counts
            for ext in Path(folder).glob(f"{name}.*"):
                ext.unlink()
        except (OSError, ValueError):  # unreadable, or removed meanwhile by another build: not ours to fix
            continue
        removed.append(name)
    return removed


def main(argv=None) -> int:
    import argparse
    import time

    ap = argparse.ArgumentParser(prog="python -m radiomix.kernels.aot", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="folder (default: RADIOMIX_AOT_DIR or __pycache__)")
    ap.add_argument("--force", action="store_true", help="build even when the current build exists")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    _surface_patterns(args.out)
    existing = current_build(args.out)
    if existing is not None and not args.force:
        print(f"radiomix: compiled kernels are up to date: {existing}")
        return 0
    t0 = time.perf_counter()
    try:
        path = build(args.out, verbose=args.verbose)
    except Exception as exc:  # noqa: BLE001 - no build only means numba's JIT: say why, and fail the command
        print(f"radiomix: could not build the compiled kernels ({type(exc).__name__}: {exc}); radiomix still "
              "works, with numba's JIT (compiled on first use)", file=sys.stderr)
        return 1
    print(f"radiomix: compiled kernels built in {time.perf_counter() - t0:.0f} s: {path}")
    return 0


def _surface_patterns(folder: Path | None) -> None:
    """Make the morphology family's table of marching-cubes patterns beside the build (a first extraction then only
    reads it; see :func:`radiomix.features.morphology.surface_patterns`)."""
    from radiomix.features.morphology import pattern_file, pattern_table, save_patterns

    path = pattern_file(folder)
    if not path.is_file() and not save_patterns(pattern_table(), path):
        print(f"radiomix: could not write {path}; each process makes the table again (~10 ms)", file=sys.stderr)


def current_build(folder: Path | None = None) -> Path | None:
    """The extension of the current build (this source, CPU, Python and NumPy) when it exists, else None."""
    from radiomix.kernels import _jit

    _, so, index = _jit.build_files(folder)
    return so if so.is_file() and index.is_file() else None


if __name__ == "__main__":
    raise SystemExit(main())
