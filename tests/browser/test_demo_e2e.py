"""The founder's demo, end to end in Debian's Chromium, at 1280 and 1024 px: the demo data, a plain and a private
training run, Explain with the what-if editor, Fairness with a mitigation that changes something, a membership
audit, Compare, the Report downloaded and opened offline, and presentation mode. Every page is screenshotted into
test-output/ (e2e-<page>-<width>.png) and fails on clipped text, overlapping chart labels, console errors and any
internal name on screen (see ``tests/browser/_checks.py``). The steps share one server and one tab and run in file
order; each page is checked at 1280 px, then the same tab is narrowed to 1024 px and checked again (no second visit).
The flows once proved by their own modules live here as steps: the live loss curve and a second tab re-attaching
(Train), the privacy budget meter moving during private training, the importance chart and additivity (Explain), the
group summary and bars (Fairness), the frontier's points (Compare), the downloads verifying (Report)."""

from __future__ import annotations

import re
import time
from urllib.parse import urlparse

import pytest

from core.report import verify_text
from core.runs import RunStore
from tests.browser._checks import INTERNAL_NAMES, Watch, check_page, settle
from tests.browser.conftest import OUTPUT, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]
WIDTHS = (1280, 1024)
EPOCHS = "4"  # a few epochs on the full demo data: the flow is the point, the model's quality is tested elsewhere
STATE: dict[str, str] = {}


@pytest.fixture(scope="module")
def session(browser, app_url):
    """One browser context for the demo (like one founder at one laptop), watched for errors throughout."""
    context = browser.new_context(viewport={"width": 1280, "height": 2400}, accept_downloads=True)
    watch = Watch(context, urlparse(app_url).netloc)
    tab = context.new_page()
    tab.set_default_timeout(120_000)
    yield tab, watch
    context.close()


def _open(tab, app_url: str, path: str) -> None:
    tab.goto(f"{app_url}{path}")
    wait_idle(tab, timeout_ms=120_000)  # a page's first run on two busy shared cores


def _check_widths(tab, watch: Watch, name: str) -> None:
    """Check the page as it stands at each width, in the same tab: narrowing re-lays it out without a new visit."""
    for width in WIDTHS:
        tab.set_viewport_size({"width": width, "height": 2400})
        check_page(tab, watch, name, width)
    tab.set_viewport_size({"width": WIDTHS[0], "height": 2400})


def _meter(tab) -> float | None:
    """The privacy budget meter's reading (all_text_contents does not wait: the fragment redraws it every second)."""
    texts = tab.locator('[data-testid="stPlotlyChart"] .indicatorlayer .number').all_text_contents()
    match = re.search(r"[-\d.]+", texts[0].replace("−", "-")) if texts else None
    return float(match.group()) if match else None


def _enter(tab, label: str, value: str) -> None:
    """Type into a number box and let Streamlit take the value (it does on blur) before anything else is pressed."""
    box = tab.get_by_role("spinbutton", name=label)
    box.fill(value)
    box.blur()
    wait_idle(tab)
    assert box.input_value() == value


def _train(tab, app_url: str, *, private: bool) -> tuple[str, list[float]]:
    """Press Train on the demo; returns the run id and, for a private run, the budget meter's readings as it moved."""
    _open(tab, app_url, "/train")
    if private:
        tab.locator("label").filter(has_text=re.compile(r"^Target epsilon$")).first.click()
        _enter(tab, "Early-stopping patience", "0")
    _enter(tab, "Epochs (most)", EPOCHS)
    _enter(tab, "Least optimiser steps", "0")  # else small tables train on until 2,000 steps whatever the epochs
    tab.get_by_role("button", name="Train", exact=True).click()
    tab.wait_for_url("**/train?run=*", timeout=60_000)
    run_id = tab.url.split("run=")[-1].split("&")[0]
    readings: list[float] = []
    deadline = time.monotonic() + 240
    while private and time.monotonic() < deadline and not tab.get_by_text("Test-set evaluation").count():
        value = _meter(tab)
        if value is not None and (not readings or value != readings[-1]):
            readings.append(value)
        tab.wait_for_timeout(300)  # sampling a live meter: the readings are the point, not a wait for one state
    tab.get_by_text("Test-set evaluation").wait_for(timeout=240_000)
    settle(tab)
    return run_id, readings


def test_home_and_data_on_the_demo(session, app_url):
    tab, watch = session
    _open(tab, app_url, "/")
    tab.get_by_text("The workflow").wait_for()
    _check_widths(tab, watch, "home")
    _open(tab, app_url, "/data")
    tab.get_by_text("income").first.wait_for()
    check_page(tab, watch, "data", 1280)
    chart_widths = tab.evaluate("""() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
        .map(c => c.getBoundingClientRect().width)""")
    tab.set_viewport_size({"width": 1024, "height": 2400})
    settle(tab)
    narrow = tab.evaluate("""() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
        .map(c => c.getBoundingClientRect().width)""")
    sidebar = tab.evaluate("""() => document.querySelector('[data-testid="stSidebar"]')
        .getBoundingClientRect().width""")
    check_page(tab, watch, "data", 1024)
    tab.set_viewport_size({"width": 1280, "height": 2400})
    assert chart_widths and min(narrow) >= 320, f"Data charts squeezed to {narrow} px at 1024 (sidebar {sidebar})"
    assert sidebar <= 260


def test_train_a_plain_and_a_private_run_with_different_names(session, app_url, app_home):
    tab, watch = session
    STATE["plain"], _ = _train(tab, app_url, private=False)
    points = tab.locator('[data-testid="stPlotlyChart"]').first.locator(".scatterlayer .trace path.point")
    assert points.count() >= 2, "the loss curve has a point per epoch for train and validation"
    _check_widths(tab, watch, "train")
    second = tab.context.new_page()  # a second tab with the same URL re-attaches to the run
    second.goto(tab.url)
    wait_idle(second)
    second.get_by_text(f"Run {STATE['plain']}").wait_for()
    second.close()
    STATE["private"], readings = _train(tab, app_url, private=True)
    assert len(readings) >= 2 and readings[-1] > readings[0], f"the budget meter did not move: {readings}"
    assert readings[-1] <= 1.0 + 1e-9  # the default target epsilon is 1 and is never overshot
    assert tab.get_by_text("Epsilon spent").first.is_visible()
    check_page(tab, watch, "train-private", 1280)
    from core.runs.naming import display_name

    runs = RunStore(app_home)
    plain, private = display_name(runs.get(STATE["plain"])), display_name(runs.get(STATE["private"]))
    assert plain != private and "no privacy" in plain and "ε 1" in private
    assert tab.get_by_text(private).first.is_visible()  # the page names the run by its display name


def test_explain_with_the_what_if_editor(session, app_url):
    tab, watch = session
    _open(tab, app_url, f"/explain?run={STATE['plain']}")
    tab.get_by_text("What if?").wait_for(timeout=180_000)
    tab.get_by_text("Which features move the score most").first.wait_for()
    bars = tab.locator('[data-testid="stPlotlyChart"]').first.locator(".barlayer .trace path")
    assert bars.count() >= 10, "the importance chart draws one bar per top feature"
    assert tab.get_by_text("Attributions add up to the model's score within").first.is_visible()
    assert tab.get_by_text("Explained 1,000 of the run's").first.is_visible()
    tab.get_by_text("A rejected row near the threshold").click()
    wait_idle(tab)
    frozen = tab.get_by_text(re.compile(r"^Frozen by default")).first
    assert "fnlwgt" in frozen.inner_text()  # the census sampling weight is not a change anyone can make
    tab.get_by_role("button", name="Find changes that flip the decision").click()
    tab.get_by_text(re.compile(r"^(Change |No single change)")).first.wait_for(timeout=120_000)
    settle(tab)
    tab.screenshot(path=str(OUTPUT / "e2e-explain-search-1280.png"), full_page=True)
    hints = tab.locator('[data-testid="stMarkdownContainer"] li').filter(has_text="Change ").all_inner_texts()
    assert hints and not any("fnlwgt" in h for h in hints)
    assert all(re.search(r"probability \d+\.\d+%", h) for h in hints)  # enough digits to see the flip
    _check_widths(tab, watch, "explain")


def test_fairness_with_a_mitigation_that_changes_something(session, app_url, app_home):
    tab, watch = session
    _open(tab, app_url, f"/fairness?run={STATE['plain']}")
    tab.get_by_text("Threshold what-if").wait_for(timeout=180_000)
    summary = tab.get_by_text("is selected at").first.inner_text()
    assert "Female is selected at" in summary and "the rate of Male" in summary and "rows in the test set" in summary
    assert tab.locator('[data-testid="stPlotlyChart"]').first.locator(".barlayer .trace").count() >= 1
    tab.get_by_role("button", name="Save the rule as a mitigated run").click()  # the default: one threshold
    tab.get_by_text("would be an exact copy").first.wait_for(timeout=60_000)  # a no-op is refused, with the reason
    tab.get_by_label("Strategy").click()
    tab.get_by_role("option", name="Equal share selected per group").click()
    wait_idle(tab)
    tab.locator('[data-testid="stRadio"] label').filter(has_text=re.compile(r"fixed thresholds\)$")).first.click()
    wait_idle(tab)
    tab.get_by_role("button", name="Save the rule as a mitigated run").click()
    tab.get_by_text("Stored the mitigated run").wait_for(timeout=120_000)
    [child] = RunStore(app_home).children(STATE["plain"])
    STATE["mitigated"] = child.id
    rule = RunStore(app_home).artifacts(child.id).read_json("decision_rule.json")
    assert rule["strategy"] == "demographic_parity (deterministic)"
    _check_widths(tab, watch, "fairness")


def test_privacy_audit(session, app_url):
    tab, watch = session
    _open(tab, app_url, "/privacy")
    tab.get_by_label("Run to audit").click()
    tab.get_by_role("option").filter(has_text="no privacy").first.click()
    wait_idle(tab)
    tab.get_by_text("Loss threshold").click()
    wait_idle(tab)
    tab.get_by_role("button", name="Run audit").click()
    tab.get_by_text("Attack AUC", exact=False).first.wait_for(timeout=120_000)
    _check_widths(tab, watch, "privacy")


def test_compare_with_the_risk_frontier(session, app_url):
    tab, watch = session
    _open(tab, app_url, "/compare")
    compute = tab.get_by_role("button", name=re.compile(r"^Compute fairness by"))
    if compute.count():
        compute.click()
        wait_idle(tab)
    tab.get_by_text("Risk frontier").first.wait_for()
    assert not tab.get_by_role("button", name=re.compile(r"^Compute fairness by")).count()
    frontier = tab.locator('[data-testid="stPlotlyChart"]').first
    assert frontier.locator(".scatterlayer .trace path.point").count() >= 2
    _check_widths(tab, watch, "compare")


def test_report_downloaded_opened_offline_and_presented(session, browser, app_url, app_home):
    tab, watch = session
    _open(tab, app_url, f"/report?run={STATE['plain']}")
    banner = tab.locator('[data-testid="verdict-banner"]').first
    banner.wait_for()
    assert "NOT JUDGED" not in banner.inner_text()
    assert tab.get_by_text("default thresholds", exact=False).first.is_visible()
    _check_widths(tab, watch, "report")
    with tab.expect_download() as info:
        tab.get_by_role("button", name="Download Markdown").click()
    markdown = OUTPUT / "e2e-model-card.md"
    info.value.save_as(markdown)
    with tab.expect_download() as info:
        tab.get_by_role("button", name="Download HTML").click()
    card = OUTPUT / "e2e-model-card.html"
    info.value.save_as(card)
    for download in (markdown, card):  # each file's hashes match the run, the dataset and the model it names
        findings = verify_text(RunStore(app_home), download.read_text(encoding="utf-8"))
        assert all(f.ok for f in findings), [f.line() for f in findings]
    offline = browser.new_context(offline=True, viewport={"width": 1280, "height": 2400})
    reader = offline.new_page()
    errors: list[str] = []
    reader.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    reader.goto(card.resolve().as_uri())
    reader.wait_for_selector(".js-plotly-plot")
    text = reader.evaluate("() => document.body.innerText")
    reader.screenshot(path=str(OUTPUT / "e2e-model-card-offline-1280.png"), full_page=True)
    offline.close()
    assert not errors and "Verdict" in text and not INTERNAL_NAMES.search(text), INTERNAL_NAMES.search(text)
    tab.get_by_role("button", name="Present to stakeholders").click()
    # The banner is already on the page before the rerun, so wait for what only the deck shows, then for the
    # sidebar to go (its hiding style arrives with the deck's first frame).
    tab.get_by_role("button", name="Leave presentation").wait_for()
    tab.locator('[data-testid="stSidebar"]').wait_for(state="hidden")
    tab.locator('[data-testid="verdict-banner"]').first.wait_for()
    settle(tab)
    assert not tab.locator('[data-testid="stSidebar"]').is_visible()
    assert not tab.get_by_text("Present to stakeholders").count()
    tab.set_viewport_size({"width": 1024, "height": 768})  # a projector
    check_page(tab, watch, "present-1", 1024)
    assert banner.bounding_box()["y"] < 300  # the verdict comes first, above the fold
    assert not tab.locator('[data-testid="stNumberInput"]').count()  # no knobs
    assert tab.evaluate("document.documentElement.scrollWidth") <= 1024  # nothing wider than the projector
    tab.set_viewport_size({"width": 1280, "height": 2400})
    for screen in range(3):
        check_page(tab, watch, f"present-{screen + 1}", 1280)
        assert tab.locator('[data-testid="stPlotlyChart"]').count() <= 1  # one idea (at most one chart) a screen
        tab.get_by_role("button", name="Next ▶").click()
        wait_idle(tab)
        tab.get_by_text(f"Screen {screen + 2} of").wait_for()
    tab.get_by_role("button", name="Leave presentation").click()
    wait_idle(tab)
