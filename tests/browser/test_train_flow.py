"""The training demo: open Train, press Train on the demo data, watch the loss curve get points, see the evaluation."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot, wait_idle

pytestmark = pytest.mark.browser


def test_train_on_demo_and_see_loss_curve(page, app_url):
    page.goto(f"{app_url}/train")
    wait_idle(page)
    page.get_by_role("button", name="Train").click()
    page.wait_for_url("**/train?run=*", timeout=60_000)
    run_id = page.url.split("run=")[-1]
    assert run_id
    # live: the progress bar, then the evaluation once the run is done; the loss curve has points all along
    page.get_by_text("Test-set evaluation").wait_for(timeout=240_000)
    wait_idle(page)
    loss_chart = page.locator('[data-testid="stPlotlyChart"]').first
    loss_chart.wait_for()
    points = loss_chart.locator(".scatterlayer .trace path.point")
    assert points.count() >= 2, "the loss curve should have a point per epoch for train and validation"
    assert page.get_by_text("ROC AUC").first.is_visible()
    screenshot(page, "train-page-evaluation.png")

    # a second tab with the same URL re-attaches to the run
    second = page.context.new_page()
    second.goto(f"{app_url}/train?run={run_id}")
    wait_idle(second)
    second.get_by_text(f"Run {run_id}").wait_for()
    second.close()
