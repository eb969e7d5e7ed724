"""The exit hook of radiomix.kernels: the heap is frozen at exit (no final collection over numba's registries), the
process still exits cleanly with its output written, and RADIOMIX_FINAL_GC=1 keeps the collection."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import atexit, gc, sys
# registered before radiomix's hook, so it runs after it (atexit runs last-in first-out)
atexit.register(lambda: print("frozen", gc.get_freeze_count() > 0, flush=True))
import radiomix.kernels.glcm_kernels  # noqa: F401
with open(sys.argv[1], "w") as fh:
    fh.write("written")
"""


def _run(tmp_path, **env):
    out = tmp_path / "out.txt"
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(out)], check=False, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == "written"
    return proc.stdout.strip()


def test_heap_is_frozen_at_exit(tmp_path, monkeypatch):
    monkeypatch.delenv("RADIOMIX_FINAL_GC", raising=False)
    assert _run(tmp_path) == "frozen True"


def test_final_collection_can_be_kept(tmp_path):
    assert _run(tmp_path, RADIOMIX_FINAL_GC="1") == "frozen False"
