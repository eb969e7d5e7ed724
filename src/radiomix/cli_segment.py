"""CLI commands: `radiomix segment ...` (box, grow, ring, metrics; train/predict from cli_segment_deep)."""

from __future__ import annotations

import typer

segment_app = typer.Typer(no_args_is_help=True, help="Make ROI masks: boxes, region growing, rings, deep learning.")


def register(app: typer.Typer) -> None:
    """Add the ``segment`` sub-command group to ``app``."""
    from radiomix import cli_segment_deep

    cli_segment_deep.register(segment_app)
    app.add_typer(segment_app, name="segment")
