"""The kernel manifest (radiomix.kernels.manifest): a process records the compiled kernels it used at exit, and the next
process's warm-up thread loads them from numba's cache while it reads its image.

The end-to-end checks run in fresh interpreters, because loading happens once per process and this test process has
long loaded its kernels. The test session turns the manifest off (conftest), so each check names its own file."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from radiomix.image import Geometry, Image
from radiomix.io import read_image, write_image
from radiomix.kernels import manifest


def _run(parts: tuple[str, ...], tmp_path, manifest_file) -> str:
    # the JIT path: the manifest records what numba loaded (the ahead-of-time build would leave it nothing)
    env = {**os.environ, "RADIOMIX_KERNEL_MANIFEST": str(manifest_file), "RADIOMIX_AOT": "0"}
    code = "\n".join(textwrap.dedent(p) for p in parts)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env=env, cwd=tmp_path, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture
def image_path(tmp_path):
    """A test image, after the extraction the checks run has run once here: its kernels are then in numba's disk cache
    (a fresh checkout compiles them here), so the interpreters below load them, and only loads are recorded."""
    from radiomix.extract import extract
    from radiomix.image import Mask
    from radiomix.settings import Discretisation, Settings

    g = Geometry((8, 9, 10), (2.0, 1.0, 1.0))
    rng = np.random.default_rng(3)
    path = write_image(Image(np.round(rng.normal(40.0, 30.0, g.shape)), g), tmp_path / "image.nii.gz")
    m = np.zeros(g.shape, dtype=np.uint8)
    m[1:7, 2:8, 2:9] = 1
    extract(read_image(path), Mask(m, g), Settings(name="t", discretisation=Discretisation(method="fixed_bin_size",
                                                                                        bin_width=25.0)))
    return path


_EXTRACT = """
    import numpy as np
    from radiomix.extract import extract
    from radiomix.image import Mask
    from radiomix.io import read_image
    from radiomix.settings import Discretisation, Settings
    img = read_image({image!r})
    m = np.zeros(img.geometry.shape, dtype=np.uint8); m[1:7, 2:8, 2:9] = 1
    fs = extract(img, Mask(m, img.geometry), Settings(name="t", discretisation=Discretisation(
        method="fixed_bin_size", bin_width=25.0)))
    """

_PRELOAD = """
    import radiomix.io
    import radiomix.extract  # imports the kernel modules, as any extraction script has before it reads
    import radiomix.kernels as k
    from radiomix.kernels import glcm_kernels, manifest
    from radiomix.io import read_image
    radiomix.io.WARM_UP_MIN_GZ_BYTES = 0  # the test image is small
    assert not glcm_kernels._glcm_counts_flat.signatures
    read_image({image!r})
    k.wait_for_runtime_warm_up()
    d = glcm_kernels._glcm_counts_flat
    """


def _entries(path) -> list[tuple]:
    with open(path, "rb") as fh:
        return pickle.load(fh)["entries"]


def test_a_process_records_its_kernels_and_the_next_loads_them_while_reading(tmp_path, image_path):
    m = tmp_path / "kernels.pkl"
    _run((_EXTRACT.format(image=str(image_path)), "print(len(fs.values))"), tmp_path, m)
    names = {(e[0], e[1]) for e in _entries(m)}
    assert ("radiomix.kernels.glcm_kernels", "_glcm_counts_flat") in names
    assert ("radiomix.kernels.morphology_kernels", "mvee_weights_active") in names
    assert len(names) >= 10
    before = m.stat().st_mtime_ns
    # the next process: the warm-up thread loads the kernels from numba's cache (hits, no compilation) before any
    # extraction asks for them
    line = _run((_PRELOAD.format(image=str(image_path)), """
        print(len(d.signatures), sum(d.stats.cache_hits.values()), sum(d.stats.cache_misses.values()))
        """), tmp_path, m)
    assert line == "1 1 0"
    assert m.stat().st_mtime_ns == before  # nothing new used: not written again


def test_stale_entries_are_skipped_and_dropped(tmp_path, image_path):
    m = tmp_path / "kernels.pkl"
    _run((_EXTRACT.format(image=str(image_path)), "print(1)"), tmp_path, m)
    with open(m, "rb") as fh:
        data = pickle.load(fh)
    # the GLCM kernel's source "changed" since: its cached code would be stale, so the warm-up must not touch it (it
    # would compile); a kernel of a module this process never imports is kept for the processes that do
    data["entries"] = [(e[0], e[1], (0.0, 0), e[3]) if e[1] == "_glcm_counts_flat" else e for e in data["entries"]]
    data["entries"].append(("radiomix.not_imported", "kernel", (1.0, 2), data["entries"][0][3]))
    with open(m, "wb") as fh:
        pickle.dump(data, fh)
    line = _run((_PRELOAD.format(image=str(image_path)), """
        from radiomix.kernels import morphology_kernels
        print(len(d.signatures), len(morphology_kernels.mvee_weights_active.signatures))
        """), tmp_path, m)
    assert line == "0 1"
    names = [(e[0], e[1]) for e in _entries(m)]
    assert ("radiomix.kernels.glcm_kernels", "_glcm_counts_flat") not in names
    assert names[-1] == ("radiomix.not_imported", "kernel")


@pytest.mark.parametrize("content", [b"not a pickle", pickle.dumps({"format": 99, "entries": []})])
def test_a_broken_or_foreign_manifest_only_means_no_preloading(tmp_path, image_path, content):
    m = tmp_path / "kernels.pkl"
    m.write_bytes(content)
    line = _run((_PRELOAD.format(image=str(image_path)), "print(len(d.signatures))"), tmp_path, m)
    assert line == "0"
    # an extraction then replaces it with a valid one
    _run((_EXTRACT.format(image=str(image_path)), "print(1)"), tmp_path, m)
    assert len(_entries(m)) >= 10


def test_off_writes_nothing(tmp_path, image_path):
    _run((_EXTRACT.format(image=str(image_path)), "print(1)"), tmp_path, "off")
    assert not list(tmp_path.glob("*.pkl")) and not (tmp_path / "off").exists()


def test_where_the_manifest_lives(monkeypatch, tmp_path):
    monkeypatch.setenv("RADIOMIX_KERNEL_MANIFEST", str(tmp_path / "m.pkl"))
    assert manifest.manifest_path() == tmp_path / "m.pkl"
    for off in ("0", "off", "OFF", "false"):
        monkeypatch.setenv("RADIOMIX_KERNEL_MANIFEST", off)
        assert manifest.manifest_path() is None
    monkeypatch.delenv("RADIOMIX_KERNEL_MANIFEST")
    monkeypatch.setattr(manifest.numba.config, "CACHE_DIR", str(tmp_path / "numba"))
    assert manifest.manifest_path() == tmp_path / "numba" / manifest.FILE_NAME


def test_new_signatures_come_first_and_the_list_is_capped(monkeypatch):
    # fake kernels of a real (imported) module: two signatures loaded from the cache, one compiled here
    import types

    from numba import types as nt

    mod = sys.modules["radiomix.kernels.glcm_kernels"]
    a, b, c = (nt.int64,), (nt.float64,), (nt.int32,)
    disp = types.SimpleNamespace(signatures=[a, b, c], stats=types.SimpleNamespace(cache_hits={a: 1, b: 1}))
    monkeypatch.setattr(manifest, "_kernels", lambda: iter([(mod.__name__, mod, "k", disp)]))
    stamp = manifest._stamp(mod)
    held_a, held_b = ((mod.__name__, "k", stamp, s) for s in (a, b))
    assert manifest.entries([]) == [held_a, held_b]  # the compiled signature (c) is left to the next process
    foreign = ("radiomix.not_imported", "kernel", (1.0, 2), a)
    stale = (mod.__name__, "gone", (0.0, 0), a)  # an imported module whose source changed since
    old_unused = (mod.__name__, "unused", stamp, a)  # current, just not used by this process
    out = manifest.entries([foreign, held_b, stale, old_unused])
    assert out == [held_a, foreign, held_b, old_unused]  # new ones first, then the old ones in their order
    monkeypatch.setattr(manifest, "MAX_SIGNATURES", 2)
    assert manifest.entries([foreign, held_b]) == [held_a, foreign]
