"""The HTML report: sections, numbers equal to metrics.json, escaping, missing inputs, CLI, and a real browser."""

from __future__ import annotations

import html
import json
import math
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from radiomix.cli import app
from radiomix.errors import InputError
from radiomix.report import build_report, build_sections
from radiomix.report import sections as S
from tests.report.browser import artefact_dir, open_report
from tests.report.conftest import XSS

SECTION_IDS = ["overview", "quality", "images", "robustness", "harmonisation", "correlation", "model", "survival",
               "importance", "delta", "ibsi", "checklist"]


def metric_cells(text: str) -> dict[str, tuple[str, str]]:
    """data-metric -> (data-value, shown text) from report HTML."""
    pat = re.compile(r'data-metric="([^"]+)" data-value="([^"]*)">([^<]*)<')
    return {html.unescape(m): (html.unescape(v), html.unescape(t)) for m, v, t in pat.findall(text)}


def assert_metrics_match(run_dir, text: str) -> int:
    """Every metric in the run's metrics.json files appears in the report with the same value; returns how many."""
    from radiomix.report.figures import fmt, fmt_ci

    cells = metric_cells(text)
    n = 0
    for folder in ("model", "external", "survival"):
        p = run_dir / folder / "metrics.json"
        if not p.exists():
            continue
        for name, val in json.loads(p.read_text()).items():
            if not isinstance(val, dict) or "estimate" not in val:
                continue
            value, shown = cells[f"{folder}/{name}/estimate"]
            assert float(value) == val["estimate"] or (value == "nan" and val["estimate"] != val["estimate"])
            assert shown == fmt(val["estimate"])
            ci_value, ci_shown = cells[f"{folder}/{name}/ci"]
            assert json.loads(ci_value.replace("NaN", "null")) == [None if c is None or math.isnan(c) else c for c in val["ci"]]
            assert ci_shown == fmt_ci(val["ci"])
            n += 1
    return n


@pytest.fixture(scope="module")
def report_text(fake_run):
    return build_report(fake_run)


def test_every_section_present_and_metrics_equal_metrics_json(fake_run, report_text):
    text = report_text
    for sid in SECTION_IDS:
        assert f'<section id="{sid}"' in text
    assert 'class="error"' not in text
    assert assert_metrics_match(fake_run, text) == 4
    assert text.count("<figure") >= 9
    assert "<script" not in text.replace("&lt;script", "")  # no scripts at all, escaped text aside
    assert "http://" not in text and "https://" not in text  # nothing to fetch
    lr = json.loads(metric_cells(text)["survival/logrank_p"][0])
    assert 0 <= lr <= 1


def test_user_strings_are_escaped(report_text):
    text = report_text
    assert XSS not in text
    assert html.escape(XSS) in text
    assert "<b>bold</b>" not in text and "&lt;b&gt;bold&lt;/b&gt;" in text
    assert "<i>odd</i>" not in text


def test_missing_inputs_give_sections_that_say_so(tmp_path):
    (tmp_path / "cohort").mkdir()
    (tmp_path / "cohort" / "clinical.csv").write_text("case_id,patient_id,site,outcome\na,p1,A,1\nb,p2,B,0\n")
    sections = build_sections(tmp_path)
    assert [s.id for s in sections] == SECTION_IDS
    assert all(s.error is None for s in sections)
    text = build_report(tmp_path)
    for rel in ("extraction/provenance.json", "model/metrics.json", "survival/metrics.json", "robustness.parquet",
                "cohort/manifest.csv"):
        assert f"<code>{rel}</code> not found" in text
    checklist = S.checklist_rows(S.RunData(tmp_path))
    assert any(st == "to complete by the user" for _, st, _, _ in checklist)
    assert any(st == "filled from the run" for _, st, _, _ in checklist)  # source of data from clinical.csv


def test_a_corrupt_input_is_reported_in_its_section(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "metrics.json").write_text("{not json")
    sections = {s.id: s for s in build_sections(tmp_path)}
    assert sections["model"].error is not None and "could not be built" in sections["model"].html
    assert sections["overview"].error is None


def test_missing_run_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="run folder not found"):
        build_report(tmp_path / "nope")
    r = subprocess.run([sys.executable, "-m", "radiomix.cli", "report", str(tmp_path / "nope")],
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 2
    assert r.stderr.startswith("error: ") and "run folder not found" in r.stderr


def test_cli_report_and_demo_data(tmp_path):
    runner = CliRunner()
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["demo-data", str(tmp_path / "c"), "--patients", "6", "--seed", "3"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "c" / "manifest.csv").exists() and (tmp_path / "c" / "clinical.csv").exists()
    (tmp_path / "run").mkdir()
    (tmp_path / "c").rename(tmp_path / "run" / "cohort")
    res = runner.invoke(app, ["report", str(tmp_path / "run"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.exists() and "report written to" in res.output
    assert 'id="fig-mosaic"' in out.read_text()  # the cohort's images, NIfTI and DICOM, in the mosaic


def test_figures_for_notebooks(fake_run):
    from matplotlib.figure import Figure

    run = S.RunData(fake_run)
    for fn in (S.roc_figure, S.km_figure, S.correlation_figure, S.harmonisation_figure):
        assert isinstance(fn(run), Figure), fn.__name__
    fig, bad = S.mosaic_figure(run)
    assert isinstance(fig, Figure) and bad == []


def test_settings_in_ibsi_terms():
    from radiomix.demo import demo_settings

    terms = dict(S.settings_terms(demo_settings().to_dict()))
    assert "2, 2, 2 mm" in terms["Interpolation (IBSI 2.4)"]
    assert "[-200, 300]" in terms["Re-segmentation (IBSI 2.5)"]
    assert "bin width 25" in terms["Discretisation (IBSI 2.7)"]
    assert "ITBB" in terms["Texture aggregation (IBSI 3.6.1)"]
    assert "log" in terms["Convolutional filters (IBSI 2)"]


def test_report_in_headless_chromium(tmp_path, report_text):
    """No console errors, no requests but the page, every section and figure rendered, the XSS id shown as text."""
    report = tmp_path / "report.html"
    report.write_text(report_text, encoding="utf-8")
    shot = artefact_dir(tmp_path) / "report-fake-run.png"
    rec = open_report(report, shot)
    assert rec["console_errors"] == [] and rec["page_errors"] == []
    assert rec["requests"] == [report.resolve().as_uri()]
    assert rec["dialogs"] == []  # the <script> case id did not run
    assert XSS in rec["text"]
    assert rec["scripts"] == 0
    assert rec["sections"] == SECTION_IDS
    assert rec["error_sections"] == []
    assert len(rec["figures"]) >= 9
    for f in rec["figures"]:
        assert f["done"] and f["w"] > 0 and f["h"] > 0 and f["cw"] > 0 and f["ch"] > 0, f
        assert f["caption"].strip()
    shown = {m: t for m, _, t in rec["metrics"]}
    assert shown["model/auc/estimate"] == "0.812"
    assert shot.exists() and shot.stat().st_size > 10_000
