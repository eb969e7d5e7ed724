"""Pseudonymous ids for DICOM subjects: a keyed hash (HMAC-SHA256) of PatientID and StudyInstanceUID.

Patient names and ids never reach radiomix output unless the user asks for them. What is shown instead is a short
keyed hash. The key belongs to a project: the user supplies it, or :func:`load_or_create_key` generates one the first
time and stores it in a project file (``.radiomix/pseudonym.key``, readable by its owner only), so that the same
patient gets the same pseudonym on every run of that project and a different one in another project. Without the
key a pseudonym cannot be traced back to the patient by hashing candidate ids.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from radiomix.errors import InputError

KEY_ENV = "RADIOMIX_PSEUDONYM_KEY"
DEFAULT_KEY_FILE = Path(".radiomix") / "pseudonym.key"
_KEY_BYTES = 32


def _key_bytes(key: bytes | str) -> bytes:
    kb = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(kb) < 16:
        raise InputError(f"a pseudonym key must have at least 16 bytes (got {len(kb)}); a short key can be guessed")
    return kb


def pseudonym(key: bytes | str, patient_id: str, study_uid: str | None = None, *, prefix: str = "P",
              length: int = 12) -> str:
    """Keyed hash of ``patient_id`` (and ``study_uid`` when given) as ``{prefix}-{length hex digits}``.

    The two values are joined with a separator that cannot occur in either (a NUL byte), so ("12", "3...") and
    ("1", "23...") hash differently.
    """
    if not 4 <= length <= 64:
        raise InputError(f"pseudonym length must be between 4 and 64 hex digits, got {length}")
    msg = (patient_id or "").strip().encode("utf-8")
    if study_uid is not None:
        msg += b"\x00" + study_uid.strip().encode("ascii", "replace")
    digest = hmac.new(_key_bytes(key), msg, hashlib.sha256).hexdigest()
    return f"{prefix}-{digest[:length]}"


def load_or_create_key(path: str | os.PathLike | None = None, *, create: bool = True) -> bytes:
    """The project's pseudonym key.

    Order: the environment variable ``RADIOMIX_PSEUDONYM_KEY`` (a hex string), else the key file ``path`` (default
    ``./.radiomix/pseudonym.key``), which is created with a fresh random key when missing and ``create`` is true.
    """
    env = os.environ.get(KEY_ENV)
    if env:
        try:
            return _key_bytes(bytes.fromhex(env.strip()))
        except ValueError:
            raise InputError(f"${KEY_ENV} must be a hex string") from None
    p = Path(path) if path is not None else DEFAULT_KEY_FILE
    if p.exists():
        text = p.read_text(encoding="ascii", errors="replace").strip()
        try:
            return _key_bytes(bytes.fromhex(text))
        except ValueError:
            raise InputError(f"{p}: the pseudonym key file must hold one hex string") from None
    if not create:
        raise InputError(f"{p}: pseudonym key file not found")
    p.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(_KEY_BYTES)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.hex() + "\n")
    return key
