"""Saving and loading fitted pipelines as skops files, with an allow-list of types and a SHA-256 check.

``model.skops`` is written with :func:`skops.io.dump` (loading never executes arbitrary code). On load:

1. the SHA-256 of ``model.skops`` must equal the one stored in ``model.json`` (a changed file is refused);
2. every type that skops does not trust by default (``skops.io.get_untrusted_types``) must be on
   :data:`ALLOWED_PREFIXES` (scikit-learn, scikit-survival, NumPy, SciPy, radiomix, ...); anything else is refused.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from radiomix.errors import InputError

__all__ = ["ALLOWED_PREFIXES", "load_model", "save_model", "sha256_file"]

ALLOWED_PREFIXES = ("sklearn.", "sksurv.", "numpy.", "scipy.", "radiomix.", "pandas.", "xgboost.", "lightgbm.",
                    "builtins.", "collections.", "_operator.", "operator.", "functools.")


class ModelFileError(InputError):
    """A model file is missing, tampered with, or holds types outside the allow-list."""


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_model(model, model_dir: Path, info: dict) -> dict:
    """Write ``model.skops`` and ``model.json`` (``info`` plus the file's SHA-256) into ``model_dir``."""
    import skops.io as sio

    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / "model.skops"
    sio.dump(model, path)
    info = {**info, "model_file": "model.skops", "model_sha256": sha256_file(path)}
    (model_dir / "model.json").write_text(json.dumps(info, indent=2, default=str), encoding="utf-8")
    return info


def load_model(model_dir: Path):
    """(fitted pipeline, model.json dict) from a train folder; refuses a tampered file or an untrusted type."""
    import skops.io as sio

    model_dir = Path(model_dir)
    meta_path, path = model_dir / "model.json", model_dir / "model.skops"
    for p in (meta_path, path):
        if not p.is_file():
            raise ModelFileError(f"{p}: not found (is {model_dir} a `radiomix train` output folder?)")
    try:
        info = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ModelFileError(f"{meta_path}: not valid JSON: {e}") from e
    expected = info.get("model_sha256")
    actual = sha256_file(path)
    if not expected or actual != expected:
        raise ModelFileError(f"{path}: SHA-256 {actual[:16]}... does not match model.json ({str(expected)[:16]}...); "
                             "the model file was changed after training and is refused")
    data = path.read_bytes()
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as e:  # skops raises assorted errors on a corrupt archive
        raise ModelFileError(f"{path}: not a readable skops file: {e}") from e
    bad = [t for t in untrusted if not t.startswith(ALLOWED_PREFIXES)]
    if bad:
        raise ModelFileError(f"{path}: holds types outside the allow-list: {bad[:5]}; refused")
    return sio.loads(data, trusted=untrusted), info
