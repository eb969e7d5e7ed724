"""Where the shared reference data lives: ``$RADIOMIX_REFERENCE_DIR``, else ``../shared/reference`` beside the
checkout (found by walking up from the working directory and from this package)."""

from __future__ import annotations

import os
from pathlib import Path

ENV = "RADIOMIX_REFERENCE_DIR"


def reference_dir(required: bool = False) -> Path | None:
    env = os.environ.get(ENV)
    if env:
        p = Path(env)
        if p.is_dir():
            return p
        if required:
            raise FileNotFoundError(f"{ENV}={env} is not a folder")
        return None
    for start in (Path.cwd(), Path(__file__).resolve()):
        for parent in (start, *start.parents):
            cand = parent / "shared" / "reference"
            if cand.is_dir():
                return cand
    if required:
        raise FileNotFoundError(
            f"reference data not found: set {ENV} or place shared/reference beside the radiomix checkout")
    return None
