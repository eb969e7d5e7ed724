"""``build_report(run_dir)``: one self-contained HTML file (inline CSS, figures as base64 PNG, no scripts, no fonts,
no network) from a run folder laid out as docs/run-layout.md describes."""

from __future__ import annotations

import datetime as _dt
import logging
from pathlib import Path

from radiomix.errors import InputError
from radiomix.report.sections import SECTIONS, RunData, Section, esc

log = logging.getLogger(__name__)

CSS = """
:root { --fg: #1b1b1b; --muted: #555; --accent: #0072B2; --flag: #D55E00; --ok: #009E73; --bg2: #f4f6f8; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--fg);
       margin: 0; line-height: 1.45; font-size: 15px; }
header { background: var(--accent); color: white; padding: 1.2rem 2rem; }
header h1 { margin: 0 0 .3rem 0; font-size: 1.6rem; }
header p { margin: 0; opacity: .9; }
header code { background: rgba(255, 255, 255, .2); color: white; }
nav { padding: .6rem 2rem; background: var(--bg2); border-bottom: 1px solid #dde; display: flex; flex-wrap: wrap;
      gap: .3rem 1.2rem; }
nav a { color: var(--accent); text-decoration: none; white-space: nowrap; }
main { padding: 0 2rem 3rem 2rem; max-width: 1200px; }
section { border-bottom: 1px solid #e3e3e3; padding-bottom: 1rem; }
h2 { color: var(--accent); margin-top: 2rem; }
h3 { margin-bottom: .3rem; }
table.data, table.kv { border-collapse: collapse; margin: .5rem 0; font-size: 13px; }
table.data th, table.data td, table.kv th, table.kv td { border: 1px solid #d7d7d7; padding: 3px 7px;
       vertical-align: top; text-align: left; overflow-wrap: break-word; }
table.data thead th { background: var(--bg2); }
table.kv th { background: var(--bg2); width: 16rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.checklist td:nth-child(2) { white-space: nowrap; }
tr.todo td:nth-child(2) { color: var(--flag); font-weight: 600; }
tr.filled td:nth-child(2) { color: var(--ok); }
p.missing { color: var(--muted); font-style: italic; border-left: 3px solid #bbb; padding-left: .6rem; }
p.flag { color: var(--flag); font-weight: 600; }
p.ok { color: var(--ok); }
p.note { color: var(--muted); font-size: 13px; }
p.error { color: var(--flag); border-left: 3px solid var(--flag); padding-left: .6rem; }
figure { margin: 1rem 0; display: inline-block; vertical-align: top; max-width: 100%; }
figure img.fig { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 13px; color: var(--muted); max-width: 40rem; }
.figrow figure { max-width: 32%; min-width: 300px; margin-right: 1%; }
code { background: var(--bg2); padding: 0 3px; }
"""


def build_sections(run_dir) -> list[Section]:
    """Every section of the report (a section whose inputs are unusable reports the error instead of raising)."""
    run = RunData(run_dir)
    out = []
    for fn in SECTIONS:
        try:
            out.append(fn(run))
        except Exception as exc:  # noqa: BLE001 - one unusable input must not cost the whole report
            log.warning("report section %s failed: %s", fn.__name__, exc)
            name = fn.__name__.removeprefix("section_")
            out.append(Section(name, name.replace("_", " ").capitalize(),
                               f'<p class="error">This section could not be built from the run folder: '
                               f"{esc(type(exc).__name__)}: {esc(exc)}</p>", error=str(exc)))
    return out


def build_report(run_dir, title: str = "radiomix study report") -> str:
    """The report of ``run_dir`` as one HTML string."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: run folder not found (expected the output folder of a radiomix study)")
    from radiomix import __version__

    sections = build_sections(run_dir)
    nav = "".join(f'<a href="#{esc(s.id)}">{esc(s.title)}</a>' for s in sections)
    body = "".join(f'<section id="{esc(s.id)}" data-section="{esc(s.id)}"><h2>{esc(s.title)}</h2>{s.html}'
                   "</section>" for s in sections)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
            "style-src 'unsafe-inline'\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
            f"<header><h1>{esc(title)}</h1><p>Run folder <code>{esc(run_dir.name)}</code>; generated {stamp} by "
            f"radiomix {esc(__version__)}. All figures and tables come from the run's result files.</p></header>"
            f"<nav>{nav}</nav><main>{body}</main></body></html>\n")


def write_report(run_dir, out=None, title: str = "radiomix study report") -> Path:
    """Write the report of ``run_dir`` to ``out`` (default ``run_dir/report.html``); returns the path."""
    out = Path(out) if out is not None else Path(run_dir) / "report.html"
    text = build_report(run_dir, title)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out
