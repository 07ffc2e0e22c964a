"""The explanation demo: a trained run on the Adult demo data, open Explain, see the importance chart and the
additivity check, and the what-if editor's waterfall."""

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
    """A workspace holding one finished MLP run on the demo data before the server starts."""
    home = tmp_path_factory.mktemp("explain-home")
    _, spec = ensure_demo(DatasetStore(home))
    runs = RunStore(home)
    run_id = runs.create_run(kind="train", dataset_id=spec.dataset_id, spec=spec.to_dict(), name="demo",
                             config=TrainConfig(hidden=(32,), epochs=3).to_dict(), task=TASK)
    jobs.run_inline(runs, run_id, TASK)
    assert runs.get(run_id).status == SUCCEEDED
    return home


def test_explain_page_shows_importance_on_the_demo_run(page, app_url, app_home):
    [record] = RunStore(app_home).list()
    page.goto(f"{app_url}/explain?run={record.id}")
    wait_idle(page, timeout_ms=120_000)
    page.get_by_text("Which features move the score most").first.wait_for(timeout=120_000)
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    bars = chart.locator(".barlayer .trace path")
    assert bars.count() >= 10, "the importance chart should draw one bar per top feature"
    assert page.get_by_text("Attributions add up to the model's score within").first.is_visible()
    assert page.get_by_text("Explained 1,000 of the run's").first.is_visible()
    page.get_by_text("Why this row got its score").first.wait_for()
    screenshot(page, "explain-page.png")
