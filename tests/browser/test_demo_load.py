"""Five browser sessions press Train at once: the job limit (RISKBOARD_MAX_JOBS=2) holds at every moment and every
run finishes. Then the app restarts on the same workspace and every dataset and run is still there."""

from __future__ import annotations

import time

import pytest

from core.data.store import DatasetStore
from core.runs import RunStore
from tests.browser.conftest import OUTPUT, serve_app, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]
SESSIONS = 5
MAX_JOBS = 2


@pytest.fixture(scope="module")
def app_url():  # this module starts its own servers (with a job limit, and again after a restart)
    return None


def test_five_sessions_respect_the_job_limit_and_all_finish_then_survive_a_restart(browser, tmp_path, monkeypatch):
    home = tmp_path / "load-home"
    monkeypatch.setenv("RISKBOARD_MAX_JOBS", str(MAX_JOBS))
    runs = RunStore(home)
    with serve_app(home, tmp_path) as url:
        contexts = [browser.new_context(viewport={"width": 1280, "height": 1600}) for _ in range(SESSIONS)]
        tabs = [c.new_page() for c in contexts]
        for tab in tabs:
            tab.set_default_timeout(120_000)
            tab.goto(f"{url}/train")
            wait_idle(tab)
            tab.locator("label").filter(has_text="Logistic regression").first.click()  # small: the limit is the point
            tab.get_by_role("spinbutton", name="Epochs (most)").fill("2")
        for tab in tabs:  # all five press Train before any run can finish
            tab.get_by_role("button", name="Train", exact=True).click()
        for tab in tabs:
            tab.wait_for_url("**/train?run=*", timeout=60_000)
        started = {r.id for r in runs.list() if r.kind == "train"}
        assert len(started) == SESSIONS, [tab.url for tab in tabs]
        # every tab shows the run it started itself, never another tab's
        assert {tab.url.rsplit("run=", 1)[1] for tab in tabs} == started, [tab.url for tab in tabs]
        most_running, deadline = 0, time.monotonic() + 480
        while time.monotonic() < deadline:
            records = [runs.get(r) for r in started]
            most_running = max(most_running, sum(r.status == "running" for r in records))
            if all(r.is_finished for r in records):
                break
            time.sleep(0.2)
        statuses = {r: runs.get(r).status for r in started}
        assert set(statuses.values()) == {"succeeded"}, statuses
        assert 1 <= most_running <= MAX_JOBS, f"{most_running} runs trained at once with RISKBOARD_MAX_JOBS=2"
        for i, tab in enumerate(tabs):
            tab.get_by_text("Test-set evaluation").wait_for(timeout=120_000)
            if i == 0:
                OUTPUT.mkdir(exist_ok=True)
                tab.screenshot(path=str(OUTPUT / "e2e-load-train-1280.png"), full_page=True)
        for context in contexts:
            context.close()
    datasets = sorted(m.id for m in DatasetStore(home).list())
    with serve_app(home, tmp_path) as url:  # the restart: a new server process on the same workspace
        context = browser.new_context(viewport={"width": 1280, "height": 2400})
        tab = context.new_page()
        tab.set_default_timeout(120_000)
        for run_id in sorted(started):  # each run opens with its evaluation, read from the workspace alone
            tab.goto(f"{url}/train?run={run_id}")
            wait_idle(tab)
            tab.get_by_text(f"Run {run_id} · succeeded").wait_for(timeout=60_000)
            tab.get_by_text("Test-set evaluation").wait_for(timeout=60_000)
        tab.goto(f"{url}/data")
        wait_idle(tab)
        shown = tab.locator('[data-testid="stSelectbox"]').first
        shown.wait_for(timeout=60_000)
        # the dataset picker shows the workspace's dataset after the restart (its value may sit in the widget's input)
        options = [" ".join([shown.inner_text(), *(box.input_value() for box in shown.locator("input").all()),
                             *(box.get_attribute("aria-label") or "" for box in shown.locator("input").all())])]
        tab.screenshot(path=str(OUTPUT / "e2e-after-restart-data-1280.png"), full_page=True)
        context.close()
    assert sorted(m.id for m in DatasetStore(home).list()) == datasets
    assert len(datasets) == 1 and datasets[0][:12] in options[0], options
    assert {r.id for r in RunStore(home).list()} >= started
