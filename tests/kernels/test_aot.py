"""The ahead-of-time build of the kernels (radiomix.kernels.aot, radiomix.kernels._jit): a process whose kernel calls
it covers never imports numba, and it computes exactly what numba's JIT computes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from radiomix.kernels import _jit, aot

# an original-image extraction (all families), the filter bank and voxel-wise maps on a 5k-voxel lesion, in a fresh
# process; prints the values, and whether numba was imported and which build ran
_EXTRACT = """
import json, sys
import numpy as np
from radiomix.extract import extract
from radiomix.filters.spec import FilterSpec
from radiomix.image import Image, Mask
from radiomix.kernels import _jit
from radiomix.settings import Discretisation, Settings

rng = np.random.default_rng(7)
n = {size}
z, y, x = np.mgrid[:n, :2 * n, :2 * n]
lesion = ((z - n / 2) / (0.4 * n)) ** 2 + ((y - n) / (0.7 * n)) ** 2 + ((x - n) / (0.65 * n)) ** 2 <= 1
arr = (40 + 30 * np.sin(x / 3.0) + rng.normal(0, 25, lesion.shape)).astype(np.int16)
img = Image.from_array(arr, spacing=(2.0, 1.0, 1.0))
mask = Mask(lesion.astype(np.uint8), img.geometry)
base = Settings(name="t", discretisation=Discretisation(method="fixed_bin_size", bin_width=25.0))
out = {{}}
for fv in extract(img, mask, base).values:
    out[fv.column] = fv.value
scipy_original = "scipy" in sys.modules
specs = (FilterSpec(kind="log", sigma_mm=2.0), FilterSpec(kind="wavelet", wavelet="coif1", subband="HLH", level=1))
filt = base.replace(families=(), filters=specs, filter_families=("statistics", "glcm", "glszm", "ngldm"))
for fv in extract(img, mask, filt).values:
    out[fv.column] = fv.value
from radiomix.maps import feature_maps

slab = lesion & (np.abs(z - n // 2) <= 2)  # voxel-wise maps on five slices of the lesion
for k, im in feature_maps(img, Mask(slab.astype(np.uint8), img.geometry), base, 1, ("statistics", "glcm")).items():
    out["map_" + k] = float(np.nansum(im.array.astype(np.float64)))
print(json.dumps({{"numba": "numba" in sys.modules, "build": _jit.loaded_build(), "scipy_original": scipy_original,
                  "scipy": "scipy" in sys.modules,
                  "values": {{k: repr(v) for k, v in out.items()}}}}))
"""


def _run(code: str, **env) -> tuple[dict, str]:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **env}, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


@pytest.mark.parametrize(("value", "numba_type"), [
    (np.zeros(4, np.int32), "Array(int32, 1, 'C')"),
    (np.zeros((3, 4), np.float64), "Array(float64, 2, 'C')"),
    (np.zeros((3, 4, 5), np.complex64)[:, :, ::2], "Array(complex64, 3, 'A')"),
    (np.zeros((3, 4), np.float64, order="F"), "Array(float64, 2, 'F')"),
    (np.zeros((2, 2, 2), bool), "Array(boolean, 3, 'C')"),
    (True, "boolean"), (np.bool_(False), "boolean"),
    (7, "int64"), (np.int64(7), "int64"), (np.int32(7), "int32"),
    (2.5, "float64"), (np.float32(2.5), "float32"),
    ((1, 2, 3), "UniTuple(int64, 3)"),
    (np.uint16, "NumberClass(uint16)"),
])
def test_a_call_and_the_build_key_arguments_alike(value, numba_type):
    """The key of a call's argument (no numba) equals the key the build records for the numba type it is typed as."""
    assert _jit._freeze([aot._json_key(aot._arg_types(numba_type)[0])]) == _jit.arg_key((value,))
    import numba

    assert str(numba.typeof(value)).startswith(str(aot._arg_types(numba_type)[0]).split("(")[0])


def test_a_readonly_array_does_not_take_a_writable_signature():
    ro = np.zeros(3, np.int32)
    ro.flags.writeable = False
    assert _jit.arg_key((ro,)) != _jit._freeze([aot._json_key(aot._arg_types("Array(int32, 1, 'C')")[0])])
    assert _jit.arg_key((object(),)) == (None,)


def test_every_signature_names_a_serial_kernel():
    for qualname, signatures in aot.SIGNATURES.items():
        kernel = aot._kernel(qualname)
        assert isinstance(kernel, _jit.Kernel), qualname
        assert not kernel.options.get("parallel"), qualname
        for text in signatures:
            assert len(aot._arg_types(text)) == kernel.py_func.__code__.co_argcount, (qualname, text)


def test_a_large_inverse_distance_grid_runs_serially_until_numba_is_loaded(monkeypatch):
    """Before numba is loaded the grid takes the serial kernel (the build has it; no start-up for a parallel one);
    planes are independent, so both kernels give the same values."""
    from radiomix.kernels import moran_kernels as mo

    axes = [np.arange(n, dtype=np.float64) * s for n, s in zip((12, 300, 301), (2.5, 0.75, 0.7))]
    assert 12 * 300 * 301 > mo.PARALLEL_MIN_WORK
    calls = []
    for name in ("_inverse_distance_grid_serial", "_inverse_distance_grid_parallel"):
        kernel = getattr(mo, name)
        monkeypatch.setattr(mo, name, lambda *a, k=kernel, n=name: (calls.append(n), k(*a))[1])
    out = {}
    for loaded in (False, True):
        monkeypatch.setattr(mo, "jit_loaded", lambda v=loaded: v)
        out[loaded] = np.empty((12, 300, 301))
        mo._inverse_distance_grid(*axes, out[loaded])
    assert calls == ["_inverse_distance_grid_serial", "_inverse_distance_grid_parallel"]
    assert np.array_equal(out[False], out[True])


def test_without_a_build_the_kernels_take_the_jit(tmp_path):
    res, _ = _run(_EXTRACT.format(size=20), RADIOMIX_AOT_DIR=str(tmp_path), RADIOMIX_AOT="1")
    assert res["numba"] and res["build"] is None and len(res["values"]) > 150


def test_a_broken_build_warns_names_the_file_and_takes_the_jit(tmp_path):
    name, so, index = _jit.build_files(tmp_path)
    so.write_bytes(b"not a shared library")
    index.write_text(json.dumps({"module": name, "exports": []}))
    res, err = _run(_EXTRACT.format(size=20), RADIOMIX_AOT_DIR=str(tmp_path), RADIOMIX_AOT="1")
    assert res["numba"] and res["build"] is None
    assert "could not be loaded" in err and str(so) in err
    jit, _ = _run(_EXTRACT.format(size=20), RADIOMIX_AOT="0")
    assert res["values"] == jit["values"]


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("cc") or shutil.which("gcc")), reason="no C compiler: no ahead-of-time build")
def test_the_build_runs_without_numba_and_equals_the_jit_bit_for_bit(tmp_path):
    """Built here from the current source: an extraction (all families, and a filter bank) and voxel-wise maps meet
    only signatures the build holds, so numba is never imported; every value equals the JIT's exactly (a small and a larger ROI: the
    direct, double- and single-precision Moran paths). The small ROIs' extractions never import SciPy either (convex hull,
    MVEE, Moran FFTs and the filters' convolutions need none; ~0.2 s of a small case's process)."""
    proc = subprocess.run([sys.executable, "-m", "radiomix.kernels.aot", "--out", str(tmp_path)], capture_output=True,
                          text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert aot.current_build(tmp_path) is not None
    again = subprocess.run([sys.executable, "-m", "radiomix.kernels.aot", "--out", str(tmp_path)],
                           capture_output=True, text=True, timeout=120, check=True)
    assert "up to date" in again.stdout
    for size in (6, 20, 56):  # Moran's direct sum (175 voxels), its transforms in double, then in single precision
        built, _ = _run(_EXTRACT.format(size=size), RADIOMIX_AOT_DIR=str(tmp_path), RADIOMIX_AOT="1")
        jit, _ = _run(_EXTRACT.format(size=size), RADIOMIX_AOT="0")
        assert not built["numba"], "an extraction called a kernel signature the build does not hold"
        assert built["build"] == _jit.module_name(_jit.build_key())
        assert jit["numba"] and jit["build"] is None
        assert built["values"] == jit["values"]
        assert built["scipy_original"] == built["scipy"] == (size > 20)
    # reading a large compressed image with the build: the warm-up thread loads it and never starts numba
    image = tmp_path / "image.nii.gz"
    warm = f"""
import sys
import numpy as np
import SimpleITK as sitk
import radiomix.io
import radiomix.kernels as k
sitk.WriteImage(sitk.GetImageFromArray(np.zeros((4, 5, 6), np.int16)), {str(image)!r})
radiomix.io.WARM_UP_MIN_GZ_BYTES = 0
radiomix.io.read_image({str(image)!r})
k.wait_for_runtime_warm_up()
from radiomix.kernels import _jit
print(json.dumps({{"numba": "numba" in sys.modules, "build": _jit.loaded_build(), "threads": len(k._WARM_UP)}}))
"""
    res, _ = _run("import json\n" + warm, RADIOMIX_AOT_DIR=str(tmp_path), RADIOMIX_AOT="1")
    assert res == {"numba": False, "build": _jit.module_name(_jit.build_key()), "threads": 1}


def test_a_new_build_removes_this_machines_stale_builds_only(tmp_path):
    """Builds of other sources on this machine can never load again and go; other machines' builds in a shared folder,
    and builds whose index predates the machine key, stay."""
    suffix = ".cpython-311-x86_64-linux-gnu.so"

    def fake(name, machine):
        (tmp_path / f"{name}{suffix}").write_bytes(b"x")
        index = {"module": name, "exports": []} | ({} if machine is None else {"machine": machine})
        (tmp_path / f"{name}.json").write_text(json.dumps(index))

    fake("radiomix_aot_current", _jit.machine_key())
    fake("radiomix_aot_stale", _jit.machine_key())
    fake("radiomix_aot_other_cpu", "0123456789abcdef")
    fake("radiomix_aot_legacy", None)
    (tmp_path / "radiomix_aot_broken.json").write_text("{not json")
    assert aot.prune_stale_builds(tmp_path, "radiomix_aot_current") == ["radiomix_aot_stale"]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([f"radiomix_aot_{n}{ext}" for n in ("current", "other_cpu", "legacy")
                           for ext in (suffix, ".json")] + ["radiomix_aot_broken.json"])
