"""The model card opened in real Chromium from disk: charts draw, nothing is fetched, no console error, hostile
names show as text, and it prints to PDF. Screenshots go to test-output/."""

from __future__ import annotations

import dataclasses

import pytest

from core.report import CardText, ReportSettings, Thresholds, gather_inputs, report_from_inputs
from tests.browser.conftest import OUTPUT
from tests.core._report_runs import HOSTILE, audit_result, explain_result, fairness_result, train_run

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    home = tmp_path_factory.mktemp("browser-report-home")
    runs, run_id = train_run(home)
    settings = ReportSettings(Thresholds(min_auc=0.6, max_disparity=0.1, sensitive="group", max_epsilon=5),
                              CardText(intended_use=f"Demo {HOSTILE}", owner="Risk team"))
    inputs = dataclasses.replace(gather_inputs(runs, run_id, settings=settings), explanation=explain_result(run_id),
                                 fairness={"group": fairness_result(0.05, 0.01, 0.12)}, audit=audit_result(run_id))
    path = tmp_path_factory.mktemp("card") / "card.html"
    path.write_text(report_from_inputs(inputs, "html").text, encoding="utf-8")
    return path


def test_report_opens_offline_with_charts_and_no_errors(browser, report_file):
    context = browser.new_context(viewport={"width": 1024, "height": 900}, offline=True)
    tab = context.new_page()
    requests, problems = [], []
    tab.on("request", lambda r: requests.append(r.url))
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    tab.goto(report_file.as_uri())
    tab.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 5", timeout=60_000)
    assert tab.locator(".js-plotly-plot").count() >= 5
    assert requests == [report_file.as_uri()], requests  # nothing but the file itself
    assert problems == []  # no console error, no script error, no alert() from a hostile name
    assert tab.locator("#verdict").is_visible()
    assert tab.get_by_text(HOSTILE, exact=False).first.is_visible()  # a column named <script>... shows as text
    OUTPUT.mkdir(exist_ok=True)
    tab.screenshot(path=str(OUTPUT / "report-card.png"), full_page=True)
    tab.emulate_media(media="print")
    tab.screenshot(path=str(OUTPUT / "report-card-print.png"), full_page=False)
    pdf = tab.pdf(path=str(OUTPUT / "report-card.pdf"), format="A4")
    assert pdf[:4] == b"%PDF"
    context.close()
