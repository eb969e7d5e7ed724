"""Open a report in Debian's headless Chromium with Playwright and record what happened (console, requests, dialogs,
sections, figure sizes, a screenshot). Shared by the report and demo tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("RADIOMIX_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


def require_chromium() -> str:
    """The chromium path, or skip (fail under CI=true) with a clear message."""
    ok = Path(CHROMIUM).exists() or shutil.which(CHROMIUM)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        ok = False
    if not ok:
        msg = (f"headless browser test needs Debian's chromium at {CHROMIUM} and the playwright package "
               "(apt-get install chromium; pip install playwright)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + " (CI=true: a missing browser is a failure)")
        pytest.skip(msg)
    return CHROMIUM


def artefact_dir(tmp_path: Path) -> Path:
    """Where screenshots go: $RADIOMIX_TEST_ARTIFACTS (e.g. test-artifacts/ in CI) or the test's tmp folder."""
    d = Path(os.environ.get("RADIOMIX_TEST_ARTIFACTS", tmp_path))
    d.mkdir(parents=True, exist_ok=True)
    return d


def open_report(report: Path, screenshot: Path) -> dict:
    """Load ``report`` from file:// and return what the page did and shows."""
    from playwright.sync_api import sync_playwright

    url = report.resolve().as_uri()
    rec = {"console_errors": [], "requests": [], "dialogs": [], "page_errors": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=require_chromium(), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: rec["console_errors"].append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: rec["page_errors"].append(str(e)))
            page.on("request", lambda r: rec["requests"].append(r.url))

            def on_dialog(d):
                rec["dialogs"].append(d.message)
                d.dismiss()

            page.on("dialog", on_dialog)
            page.goto(url, wait_until="load")
            page.wait_for_timeout(300)
            rec["sections"] = page.eval_on_selector_all("section[data-section]", "els => els.map(e => e.id)")
            rec["error_sections"] = page.eval_on_selector_all("p.error", "els => els.map(e => e.textContent)")
            rec["figures"] = page.eval_on_selector_all(
                "figure img", "els => els.map(e => ({id: e.closest('figure').id, w: e.naturalWidth, "
                "h: e.naturalHeight, cw: e.clientWidth, ch: e.clientHeight, done: e.complete, "
                "caption: e.closest('figure').querySelector('figcaption').textContent}))")
            rec["text"] = page.inner_text("body")
            rec["scripts"] = page.eval_on_selector_all("script", "els => els.length")
            rec["metrics"] = page.eval_on_selector_all(
                "[data-metric]", "els => els.map(e => [e.dataset.metric, e.dataset.value, e.textContent])")
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return rec
