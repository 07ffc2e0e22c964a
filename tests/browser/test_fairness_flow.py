"""The Fairness page in a real browser, opened on a run trained on the demo data (Adult, audited by sex)."""

from __future__ import annotations

import pytest

from core import jobs
from core.data.demo import ensure_demo
from core.data.store import DatasetStore
from core.runs import SUCCEEDED, RunStore
from core.training.config import TrainConfig
from core.training.pipeline import TASK
from tests.browser.conftest import screenshot, wait_idle

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_home(tmp_path_factory):
    """A workspace holding one finished demo run (a quick logistic model) before the server starts."""
    home = tmp_path_factory.mktemp("fairness-home")
    _, spec = ensure_demo(DatasetStore(home))
    runs = RunStore(home)
    run_id = runs.create_run(kind="train", dataset_id=spec.dataset_id, spec=spec.to_dict(), name="demo",
                             config=TrainConfig(model="logistic", epochs=2).to_dict(), task=TASK)
    assert jobs.run_inline(runs, run_id, TASK).status == SUCCEEDED
    return home


def test_fairness_page_on_the_demo_run(page, app_url):
    page.goto(f"{app_url}/fairness")
    wait_idle(page)
    page.get_by_text("By sex", exact=True).wait_for()
    summary = page.get_by_text("is selected at").first
    summary.wait_for()
    text = summary.inner_text()
    assert "Female is selected at" in text and "the rate of Male" in text and "rows in the test set" in text
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.wait_for()
    bars = page.locator('[data-testid="stPlotlyChart"]').first
    bars.wait_for()
    assert bars.locator(".barlayer .trace").count() >= 1  # group bars with their error bars
    page.get_by_text("Threshold what-if").wait_for()
    screenshot(page, "fairness-page-demo.png")
