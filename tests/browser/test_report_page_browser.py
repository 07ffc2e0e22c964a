"""The Report page in presentation mode on a 1024-px projector: verdict first in large type, one chart at a time,
no knobs; and the Compare page's frontier. A Streamlit server on a workspace that already holds two runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.fairness import run_fairness
from core.report import verify_text
from core.runs import RunStore
from tests.browser.conftest import screenshot, serve_app, wait_idle
from tests.core._report_runs import hostile_frame, train_run

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("report-browser-home")
    runs, first = train_run(home, frame=hostile_frame(), name="mlp")
    _, second = train_run(home, frame=hostile_frame(), model="logistic", epochs=10, learning_rate=0.05,
                          name="logistic")
    for run_id in (first, second):
        run_fairness(runs, run_id, ["group"], resamples=200)
    return home


@pytest.fixture(scope="module")
def app_url(home, tmp_path_factory) -> Iterator[str]:
    """Like the shared fixture, but the workspace holds two finished runs (with fairness) before the server starts."""
    with serve_app(home, tmp_path_factory.mktemp("logs")) as url:
        yield url


def test_presentation_mode_at_1024_px(browser, app_url):
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.goto(f"{app_url}/report")
    wait_idle(tab)
    tab.get_by_text("Verdict:").first.wait_for()
    tab.get_by_role("button", name="Present to stakeholders").click()
    wait_idle(tab)
    banner = tab.locator('[data-testid="verdict-banner"]').first
    banner.wait_for()
    assert banner.inner_text().startswith("Verdict:")
    assert banner.bounding_box()["y"] < 300  # the verdict comes first, above the fold
    expect(tab.locator('[data-testid="stNumberInput"]')).to_have_count(0)  # knobs hidden
    assert tab.locator('[data-testid="stPlotlyChart"]').count() <= 1  # one idea (at most one chart) a screen
    assert not tab.locator('[data-testid="stSidebar"]').is_visible()  # a projector view: no sidebar
    assert tab.evaluate("document.documentElement.scrollWidth") <= 1024  # nothing wider than the projector
    screenshot(tab, "report-presentation-1024.png")
    tab.get_by_role("button", name="Next ▶").click()
    wait_idle(tab)
    tab.get_by_text("Screen 2 of").wait_for()
    assert errors == []
    context.close()


def test_downloaded_report_verifies(browser, app_url, home, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 1400}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    tab.goto(f"{app_url}/report")
    wait_idle(tab)
    for label in ("Download Markdown", "Download HTML"):
        with tab.expect_download() as waiting:
            tab.get_by_role("button", name=label).click()
        path = tmp_path / waiting.value.suggested_filename
        waiting.value.save_as(path)
        findings = verify_text(RunStore(home), path.read_text(encoding="utf-8"))
        assert all(f.ok for f in findings), [f.line() for f in findings]
    context.close()


def test_compare_page_draws_the_frontier(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 2600})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    tab.goto(f"{app_url}/compare")
    wait_idle(tab)
    tab.get_by_text("Risk frontier").first.wait_for()
    frontier = tab.locator('[data-testid="stPlotlyChart"]').first
    assert frontier.locator(".scatterlayer .trace path.point").count() >= 2
    screenshot(tab, "compare-frontier.png")
    context.close()
