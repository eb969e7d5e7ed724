"""``radiomix dicom ...``: DICOM folder commands (mounted on the main app by ``cli.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, help="DICOM folders: list series and segmentations.")
# tables keep their full width in logs and pipes (rich would cut them to 80 columns there)
console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


@app.callback()
def _group() -> None:
    """DICOM folders: list series and segmentations."""


def _fmt(v, digits: int = 4) -> str:
    if v is None:
        return "-"
    return " x ".join(f"{x:.{digits}g}" if isinstance(x, float) else str(x) for x in v)


@app.command("ls")
def ls(
    folder: Path = typer.Argument(..., help="folder to search (any depth, any file names)"),
    keep_identifiers: bool = typer.Option(False, "--keep-identifiers",
                                          help="show PatientID and StudyInstanceUID instead of pseudonyms"),
    key_file: Path | None = typer.Option(None, help="pseudonym key file (default ./.radiomix/pseudonym.key, "
                                                    "created on first use; or $RADIOMIX_PSEUDONYM_KEY)"),
):
    """List the image series under FOLDER: patient, study, series, modality, size, spacing, segmentations.

    Patients and studies are shown as keyed pseudonyms, never by name.
    """
    from radiomix.io.dicom import list_dicom
    from radiomix.io.pseudonym import DEFAULT_KEY_FILE, KEY_ENV, load_or_create_key

    key = None
    if not keep_identifiers:
        import os

        path = key_file or DEFAULT_KEY_FILE
        if not os.environ.get(KEY_ENV) and not path.exists():
            err_console.print(f"created pseudonym key {path} (keep it to get the same pseudonyms next time)")
        key = load_or_create_key(path)
    rows = list_dicom(folder, key=key, keep_identifiers=keep_identifiers)
    t = Table(title=f"DICOM image series in {folder}")
    for col in ("patient", "study", "modality", "series", "description", "files", "size (z,y,x)",
                "spacing mm (z,y,x)", "segmentations"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(r.patient, r.study, r.modality, r.series_uid, r.description, str(r.n_files), _fmt(r.size),
                  _fmt(r.spacing), "\n".join(r.segmentations) or "-",
                  style="red" if r.problem else None)
    console.print(t)
    for r in rows:
        if r.problem:
            console.print(f"[red]{r.series_uid}[/red]: {r.problem}")
    console.print(f"{len(rows)} image series" + (" (~: linked by frame of reference, not by series UID)"
                                                 if any(s.startswith("~") for r in rows for s in r.segmentations)
                                                 else ""))
