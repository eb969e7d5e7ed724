"""Content digests of input files (batch cache keys, settings digests, run provenance)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_digest(path) -> str:
    """sha256 of a file's bytes, or of every file under a folder (sorted by relative path)."""
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    for q in files:
        if p.is_dir():
            h.update(str(q.relative_to(p)).encode())
        with open(q, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()
