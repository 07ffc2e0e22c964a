"""Private training in a real browser: pick a target epsilon on the demo data, watch the budget meter move."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.conftest import screenshot, wait_idle

pytestmark = pytest.mark.browser


def _meter_value(page) -> float | None:
    # all_text_contents() does not wait: the fragment redraws the gauge every second and may remove it meanwhile
    texts = page.locator('[data-testid="stPlotlyChart"] .indicatorlayer .number').all_text_contents()
    if not texts:
        return None
    text = texts[0]
    match = re.search(r"[-\d.]+", text.replace("−", "-"))
    return float(match.group()) if match else None


def test_private_training_moves_the_budget_meter(page, app_url):
    page.goto(f"{app_url}/train")
    wait_idle(page)
    page.locator("label").filter(has_text=re.compile(r"^Target epsilon$")).first.click()
    page.get_by_role("spinbutton", name="Early-stopping patience").fill("0")
    page.get_by_role("spinbutton", name="Epochs (most)").fill("12")
    page.get_by_role("button", name="Train").click()
    page.wait_for_url("**/train?run=*", timeout=60_000)
    readings: list[float] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        value = _meter_value(page)
        if value is not None and (not readings or value != readings[-1]):
            readings.append(value)
        if page.get_by_text("Test-set evaluation").count():
            break
        page.wait_for_timeout(400)
    assert len(readings) >= 2 and readings[-1] > readings[0], f"meter readings {readings}"
    assert readings[-1] <= 1.0 + 1e-9  # the default target epsilon is 1 and is never overshot
    page.get_by_text("Test-set evaluation").wait_for(timeout=240_000)
    wait_idle(page)
    assert page.get_by_text("Epsilon spent").first.is_visible()
    screenshot(page, "train-page-private-run.png")
