"""numba's runtime started on a background thread while an image is read (radiomix.kernels.start_runtime_warm_up).

Each check runs in a fresh interpreter: the warm-up happens once per process, and this test process has long started
numba's runtime."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from radiomix.errors import InputError
from radiomix.image import Geometry, Image
from radiomix.io import write_image


def _run(code: str, tmp_path, env_extra: dict | None = None) -> str:
    import os

    env = {**os.environ, "RADIOMIX_AOT": "0", **(env_extra or {})}  # numba's start is what these tests watch
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         timeout=300, env=env, cwd=tmp_path, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture
def image_path(tmp_path):
    g = Geometry((6, 7, 8), (2.0, 1.0, 1.0))
    return write_image(Image(np.arange(np.prod(g.shape), dtype=np.float64).reshape(g.shape), g),
                       tmp_path / "image.nii.gz")


def test_read_image_starts_the_runtime_once(tmp_path, image_path):
    line = _run(f"""
        import radiomix.io
        import radiomix.kernels as k
        from radiomix.io import read_image
        assert not k._WARM_UP and not k._runtime_probe.signatures
        radiomix.io.WARM_UP_MIN_GZ_BYTES = 0  # the test image is small
        img = read_image({str(image_path)!r})
        read_image({str(image_path)!r})
        names = [t.name for t in k._WARM_UP]
        k.wait_for_runtime_warm_up()
        import radiomix.threads as th  # the warm-up also builds the BLAS controller of threaded extractions
        print(names, len(k._runtime_probe.signatures), img.array.shape, bool(th._BLAS))
        """, tmp_path)
    assert line == "['radiomix-warm-up'] 1 (6, 7, 8) True"


def test_warm_up_can_be_switched_off(tmp_path, image_path):
    line = _run(f"""
        import radiomix.io
        import radiomix.kernels as k
        from radiomix.io import read_image
        radiomix.io.WARM_UP_MIN_GZ_BYTES = 0
        read_image({str(image_path)!r})
        print(len(k._WARM_UP), len(k._runtime_probe.signatures))
        """, tmp_path, {"RADIOMIX_WARM_UP": "0"})
    assert line == "0 0"


def test_short_reads_start_nothing(tmp_path, image_path):
    # a small file reads in milliseconds: the warm-up would only take turns with the caller for the GIL
    line = _run(f"""
        import radiomix.kernels as k
        from radiomix.io import read_image
        read_image({str(image_path)!r})
        print(len(k._WARM_UP))
        """, tmp_path)
    assert line == "0"


def test_which_reads_are_long(tmp_path, monkeypatch):
    import radiomix.io as rio

    big_gz, big_raw, small_gz = tmp_path / "a.nii.gz", tmp_path / "b.nii", tmp_path / "c.nii.gz"
    for p, n in ((big_gz, 64), (big_raw, 64), (small_gz, 8)):
        p.write_bytes(b"\0" * n)
    monkeypatch.setattr(rio, "WARM_UP_MIN_GZ_BYTES", 32)
    monkeypatch.setattr(rio, "WARM_UP_MIN_BYTES", 128)
    assert rio._long_gil_free_read(big_gz)
    assert not rio._long_gil_free_read(big_raw)  # uncompressed: needs WARM_UP_MIN_BYTES
    assert not rio._long_gil_free_read(small_gz)
    assert not rio._long_gil_free_read(tmp_path / "missing.nii.gz")


def test_dicom_reads_start_nothing(tmp_path, monkeypatch):
    # pydicom parses a series in Python, holding the GIL: the warm-up would only take turns with it
    import radiomix.io as rio
    import radiomix.kernels as k

    started = []
    monkeypatch.setattr(k, "start_runtime_warm_up", lambda: started.append(1))
    monkeypatch.setattr(rio, "WARM_UP_MIN_GZ_BYTES", 0)
    monkeypatch.setattr(rio, "WARM_UP_MIN_BYTES", 0)
    (tmp_path / "series").mkdir()
    with pytest.raises(InputError, match="no image series"):
        rio.read_image(tmp_path / "series")
    assert started == []


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_fork_during_warm_up_leaves_a_working_child(tmp_path, image_path):
    # the fork waits for the warm-up thread, so the child never inherits numba's locks half taken: the child then
    # runs compiled kernels and a whole extraction
    line = _run(f"""
        import multiprocessing
        import numpy as np
        import radiomix.kernels as k
        from radiomix.io import read_image

        def child(queue):
            from radiomix.extract import extract
            from radiomix.image import Mask
            from radiomix.settings import Discretisation, Settings
            m = np.zeros(img.geometry.shape, dtype=np.uint8); m[1:5, 2:6, 2:7] = 1
            fs = extract(img, Mask(m, img.geometry), Settings(name="t", discretisation=Discretisation(
                method="fixed_bin_size", bin_width=25.0)))
            queue.put((k._runtime_probe(2), len(fs.values)))

        import radiomix.io
        radiomix.io.WARM_UP_MIN_GZ_BYTES = 0
        img = read_image({str(image_path)!r})  # starts the warm-up; fork right away
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        p = ctx.Process(target=child, args=(queue,))
        p.start()
        result = queue.get(timeout=120)
        p.join(timeout=60)
        print(result[0], result[1] > 100, p.exitcode)
        """, tmp_path)
    assert line == "3 True 0"
