"""The founder's demo, end to end in Debian's Chromium, at 1280 and 1024 px: the demo data, a plain and a private
training run, Explain with the what-if editor, Fairness with a mitigation that changes something, a membership
audit, Compare, the Report downloaded and opened offline, and presentation mode. Every page is screenshotted into
test-output/ (e2e-<page>-<width>.png) and fails on clipped text, overlapping chart labels, console errors and any
internal name on screen (see ``tests/browser/_checks.py``). The steps share one server and run in file order."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from core.runs import RunStore
from tests.browser._checks import INTERNAL_NAMES, Watch, check_page, settle
from tests.browser.conftest import OUTPUT, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]
WIDTHS = (1280, 1024)
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
    wait_idle(tab)


def _train(tab, app_url: str, *, private: bool) -> str:
    _open(tab, app_url, "/train")
    if private:
        tab.locator("label").filter(has_text=re.compile(r"^Target epsilon$")).first.click()
    tab.get_by_role("button", name="Train", exact=True).click()
    tab.wait_for_url("**/train?run=*", timeout=60_000)
    run_id = tab.url.split("run=")[-1].split("&")[0]
    tab.get_by_text("Test-set evaluation").wait_for(timeout=240_000)
    settle(tab)
    return run_id


def test_home_and_data_on_the_demo(session, app_url):
    tab, watch = session
    _open(tab, app_url, "/")
    tab.get_by_text("The workflow").wait_for()
    check_page(tab, watch, "home", 1280)
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
    STATE["plain"] = _train(tab, app_url, private=False)
    check_page(tab, watch, "train", 1280)
    STATE["private"] = _train(tab, app_url, private=True)
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
    check_page(tab, watch, "explain", 1280)


def test_fairness_with_a_mitigation_that_changes_something(session, app_url, app_home):
    tab, watch = session
    _open(tab, app_url, f"/fairness?run={STATE['plain']}")
    tab.get_by_text("Threshold what-if").wait_for(timeout=180_000)
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
    check_page(tab, watch, "fairness", 1280)


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
    check_page(tab, watch, "privacy", 1280)


def test_compare_with_the_risk_frontier(session, app_url):
    tab, watch = session
    _open(tab, app_url, "/compare")
    compute = tab.get_by_role("button", name=re.compile(r"^Compute fairness by"))
    if compute.count():
        compute.click()
        wait_idle(tab)
    tab.get_by_text("Risk frontier").first.wait_for()
    assert not tab.get_by_role("button", name=re.compile(r"^Compute fairness by")).count()
    check_page(tab, watch, "compare", 1280)


def test_report_downloaded_opened_offline_and_presented(session, browser, app_url):
    tab, watch = session
    _open(tab, app_url, f"/report?run={STATE['plain']}")
    banner = tab.locator('[data-testid="verdict-banner"]').first
    banner.wait_for()
    assert "NOT JUDGED" not in banner.inner_text()
    assert tab.get_by_text("default thresholds", exact=False).first.is_visible()
    check_page(tab, watch, "report", 1280)
    with tab.expect_download() as info:
        tab.get_by_role("button", name="Download HTML").click()
    card = OUTPUT / "e2e-model-card.html"
    info.value.save_as(card)
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
    tab.locator('[data-testid="verdict-banner"]').first.wait_for()
    settle(tab)
    assert not tab.locator('[data-testid="stSidebar"]').is_visible()
    assert not tab.get_by_text("Present to stakeholders").count()
    for screen in range(3):
        check_page(tab, watch, f"present-{screen + 1}", 1280)
        tab.get_by_role("button", name="Next ▶").click()
        wait_idle(tab)
    tab.get_by_role("button", name="Leave presentation").click()
    wait_idle(tab)


@pytest.mark.parametrize("width", [1024])
def test_every_page_at_1024(session, app_url, width):
    tab, watch = session
    tab.set_viewport_size({"width": width, "height": 2400})
    run = STATE["plain"]
    for name, path, ready in (("home", "/", "The workflow"), ("train", f"/train?run={run}", "Test-set evaluation"),
                              ("explain", f"/explain?run={run}", "What if?"),
                              ("fairness", f"/fairness?run={run}", "Threshold what-if"),
                              ("privacy", "/privacy", "Membership-inference audit"),
                              ("compare", "/compare", "Risk frontier"), ("report", f"/report?run={run}", "Data")):
        _open(tab, app_url, path)
        tab.get_by_text(ready).first.wait_for(timeout=180_000)
        check_page(tab, watch, name, width)
    _open(tab, app_url, f"/report?run={run}&present=1")
    tab.locator('[data-testid="verdict-banner"]').first.wait_for()
    check_page(tab, watch, "present-1", width)
    tab.set_viewport_size({"width": 1280, "height": 2400})
